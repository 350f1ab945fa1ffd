"""What ``ci-tags plan`` asks the registry for an image that did not change: a HEAD of its content tag and one PUT of
the pipeline tag, nothing else (on Docker Hub a manifest GET counts as a pull, and every request is time in the
early job of every pipeline); and a PUT answered by something that stored nothing is not taken for a tag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_tags.core.manifest import stamp_of
from ci_tags.project.config import load_config
from ci_tags.project.imageset import resolve
from tests.support.images import push_image
from tests.support.proxy import RegistryFront
from tests.support.scenes import state

HTML = (200, {"Content-Type": "text/html"}, b"<html><body>maintenance</body></html>")


def _project(root: Path, prefix: str, names: list[str]) -> Path:
    lines = [f"registry: {prefix}", "images:"]
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "Dockerfile").write_text(f"FROM scratch\nCOPY {name}.txt /\n")
        (root / name / f"{name}.txt").write_text(f"{name}\n")
        lines += [f"  {name}:", f"    dockerfile: {name}/Dockerfile"]
    (root / "ci-tags.yml").write_text("\n".join(lines) + "\n")
    return root / "ci-tags.yml"


def test_an_unchanged_single_arch_image_costs_one_head_and_one_put(reg, registry, cli, closing, tmp_path):
    front = closing(RegistryFront(registry.url))
    config = _project(tmp_path, f"{front.host}/floor", ["one", "two", "three"])
    content = {i.name: i.content_tag for i in resolve(load_config(config, {}))}
    images = {name: push_image(reg, f"floor/{name}", tag).manifest for name, tag in content.items()}
    result = cli("plan", "--config", str(config), "--json", env={"CI_TAGS_PIPELINE_ID": "7"})
    assert result.code == 0, result.err
    assert [i["action"] for i in json.loads(result.out)["images"]] == ["reuse"] * 3
    asked = sorted((method, path) for method, path in front.seen if path != "/v2/")
    assert asked == sorted([("HEAD", f"/v2/floor/{name}/manifests/{tag}") for name, tag in content.items()]
                           + [("PUT", f"/v2/floor/{name}/manifests/pipeline-7") for name in content])
    for name, image in images.items():
        stamp = reg.get_manifest(f"floor/{name}", "pipeline-7")
        assert stamp.children[0].digest == image.digest and stamp_of(stamp) is not None


def test_a_pipeline_tag_put_answered_with_an_html_page_is_not_a_reuse(reg, registry, cli, closing, tmp_path):
    """A broken front answers the PUT 200 with a page and no digest: plan reads the tag back, finds nothing, and
    reports the image as not tagged (the run fails) instead of handing the pipeline a tag that does not exist."""
    front = closing(RegistryFront(registry.url, lambda m, p, q: HTML if m == "PUT" else None))
    config = _project(tmp_path, f"{front.host}/html", ["app"])
    (image,) = resolve(load_config(config, {}))
    pushed = push_image(reg, "html/app", image.content_tag).manifest
    result = cli("plan", "--config", str(config), "--json", env={"CI_TAGS_PIPELINE_ID": "7"})
    assert result.code == 1
    assert "does not serve" in json.loads(result.out)["errors"]["app"]
    assert state(reg, "html/app") == {image.content_tag: pushed.digest}


def test_an_image_that_cannot_be_hashed_stops_the_plan_before_any_tag_is_written(reg, registry, cli, closing,
                                                                                 tmp_path):
    """Plan reads each image's content tag while the next ones are still being hashed, but tags nothing until all
    are: an image further down whose build cannot be hashed is bad input, and no pipeline tag was written."""
    front = closing(RegistryFront(registry.url))
    config = _project(tmp_path, f"{front.host}/halt", ["one", "two", "three"])
    content = {i.name: i.content_tag for i in resolve(load_config(config, {}))}
    for name, tag in content.items():
        push_image(reg, f"halt/{name}", tag)
    (tmp_path / "three" / "Dockerfile").write_text("FROM scratch\nCOPY missing.txt /\n")
    result = cli("plan", "--config", str(config), env={"CI_TAGS_PIPELINE_ID": "7"})
    assert result.code == 2, result.err
    assert "missing.txt" in result.err
    assert [method for method, _ in front.seen if method not in ("HEAD", "GET")] == []
    assert all("pipeline-7" not in reg.tags(f"halt/{name}") for name in content)


def test_prefetched_work_reads_as_items_come_and_writes_only_once_all_came():
    """concurrency.run_all_prefetched, which plan runs on: per-item errors are collected as run_all does; an error
    while producing the items ends the run before any second step started."""
    import threading

    from ci_tags.concurrency import run_all_prefetched
    from ci_tags.errors import NotFound

    written: list[int] = []
    lock = threading.Lock()

    def read(n: int) -> int:
        if n == 3:
            raise NotFound("three is not there")
        return n * 10

    def write(n: int, read_value: int) -> int:
        with lock:
            written.append(n)
        return read_value + 1

    outcomes = run_all_prefetched(read, write, iter(range(5)), 3)
    assert [(n, value, str(err) if err else None) for n, value, err in outcomes] == [
        (0, 1, None), (1, 11, None), (2, 21, None), (3, None, "three is not there"), (4, 41, None)]
    assert sorted(written) == [0, 1, 2, 4]

    def broken():
        yield 1
        yield 2
        raise NotFound("the third item cannot be made")

    written.clear()
    with pytest.raises(NotFound, match="third item"):
        run_all_prefetched(read, write, broken(), 3)
    assert written == []
