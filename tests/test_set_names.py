"""Commands that take repositories (tags, inspect, retag, untag, janitor) read a set image's name through
ci-tags.yml as build and janitor do; a full repository needs nothing from the file (not even its registry's
environment variable), so they work in a checkout whose ci-tags.yml uses $CI_REGISTRY_IMAGE outside CI."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.support.images import push_image


def checkout(root: Path, registry: str, names: tuple[str, ...] = ("debian10",)) -> None:
    (root / "Dockerfile").write_text("FROM scratch\n")
    images = "".join(f"  {n}:\n    dockerfile: Dockerfile\n" for n in names)
    (root / "ci-tags.yml").write_text(f"registry: {registry}\nimages:\n{images}")


@pytest.fixture
def group(reg, tmp_path):
    """A group of this test's own in the real registry, and a checkout whose ci-tags.yml names it."""
    name = f"names-{uuid.uuid4().hex[:8]}"
    push_image(reg, f"{name}/debian10", "t1")
    return name


def test_tags_inspect_retag_untag_take_a_set_image_name(registry, reg, group, tmp_path, cli):
    checkout(tmp_path, f"{registry.host}/{group}")
    listed = cli("tags", "debian10")
    assert listed.code == 0, listed.err
    assert listed.out.split() == ["t1"]

    shown = cli("--json", "inspect", "debian10:t1")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["reference"] == f"{registry.host}/{group}/debian10:t1"

    copied = cli("retag", "debian10:t1", "debian10:t2")
    assert copied.code == 0, copied.err
    assert cli("tags", "debian10").out.split() == ["t1", "t2"]

    removed = cli("untag", "debian10:t2")
    assert removed.code == 0, removed.err
    assert sorted(reg.tags(f"{group}/debian10")) == ["t1"]


def test_retag_to_a_bare_tag_stays_in_the_set_images_repository(registry, reg, group, tmp_path, cli):
    checkout(tmp_path, f"{registry.host}/{group}")
    assert cli("retag", "debian10:t1", "t3").code == 0
    assert sorted(reg.tags(f"{group}/debian10")) == ["t1", "t3"]


def test_a_name_outside_the_set_is_refused_with_the_set_names(registry, group, tmp_path, cli):
    checkout(tmp_path, f"{registry.host}/{group}")
    result = cli("tags", "debain10")
    assert result.code == 2
    assert "did you mean 'debian10'" in result.err


def test_full_repositories_work_where_ci_tags_yml_needs_ci_registry_image(registry, reg, group, tmp_path, cli):
    checkout(tmp_path, "$CI_REGISTRY_IMAGE")
    repo = f"{registry.host}/{group}/debian10"
    for argv in (("tags", repo), ("inspect", f"{repo}:t1"), ("retag", f"{repo}:t1", "t4"),
                 ("untag", f"{repo}:t4"), ("janitor", repo, "--dry-run")):
        result = cli(*argv)
        assert result.code == 0, (argv, result.err)
        assert "CI_REGISTRY_IMAGE" not in result.err
    assert sorted(reg.tags(f"{group}/debian10")) == ["t1"]


def test_a_set_name_there_still_needs_the_registry(tmp_path, cli):
    checkout(tmp_path, "$CI_REGISTRY_IMAGE")
    for argv in (("tags", "debian10"), ("janitor", "debian10", "--dry-run")):
        result = cli(*argv)
        assert result.code == 2, argv
        assert "environment variable CI_REGISTRY_IMAGE is not set" in result.err
