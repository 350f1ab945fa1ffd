"""The supported Python API (ci_tags.api): every name it promises is there, and a program using it alone hashes an
image set as ``ci-tags hash`` does, copies and untags on the real registry, and decides by the janitor's policy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import ci_tags.api as api
from tests.support.images import push_image
from tests.support.scenes import one_image_config


def test_every_promised_name_is_there_and_nothing_else_is_promised():
    assert all(hasattr(api, name) for name in api.__all__)
    assert {"load_config", "resolve", "content_hash", "copy_image", "Untagger", "Policy", "decide"} <= set(api.__all__)


def test_content_tags_through_the_api_are_the_commands(tmp_path: Path, cli):
    config = one_image_config(tmp_path / "p", "registry.example.com/ci", "ci-tags.yml")
    (image,) = api.resolve(api.load_config(config, {}))
    assert image.repository == "registry.example.com/ci/app"
    assert cli("hash", "--config", str(config)).out.split()[-1].endswith(image.content_tag)


def test_copy_and_untag_through_the_api(registry, clean_env):
    registries = api.Registries(api.Http(), clean_env)
    try:
        reg = registries.get(registry.host)
        pushed = push_image(reg, "api/app", "1.0")
        result = api.copy_image(registries, api.parse_reference(f"{registry.host}/api/app:1.0"),
                                api.parse_reference(f"{registry.host}/api/app:release"))
        assert result.digest == pushed.manifest.digest
        removal = api.Untagger(reg, "api/app").remove("1.0")
        assert removal.digest == pushed.manifest.digest
        assert reg.tags("api/app") == ["release"]
        assert reg.head_manifest("api/app", "release") == pushed.manifest.digest
    finally:
        registries.http.close()


def test_the_policy_removes_an_expired_pipeline_tag_and_keeps_a_foreign_one():
    policy = api.Policy(max_age=timedelta(days=7), content=api.template_regex("hash-{hash}", "content"),
                        pipeline=api.template_regex("pipeline-{pipeline_id}", "pipeline"))
    now = datetime.now(timezone.utc)
    old = now - timedelta(days=30)
    decisions = api.decide([api.TagInfo("pipeline-1", "sha256:" + "1" * 64, old),
                            api.TagInfo("v1.0", "sha256:" + "2" * 64, old)], policy, now)
    assert {d.tag: (d.delete, d.reason) for d in decisions} == {"pipeline-1": (True, "expired"),
                                                                 "v1.0": (False, "foreign")}
