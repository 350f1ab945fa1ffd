"""The ``ci-tags.yml`` reference, made from the config's own definitions (``ci_tags/project/config.py``): the keys
it accepts, their defaults (the dataclasses' own), the architectures and cache modes it knows. The words for each
key are here; a key the code accepts without words here, or words for a key it no longer accepts, stop the build.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ci_tags.core import arches
from ci_tags.project import config

# key -> (what it is, default when the dataclasses cannot say it); every key of TOP_KEYS, IMAGE_KEYS and TAG_KEYS
TOP: dict[str, tuple[str, str | None]] = {
    "registry": ("Where images are pushed: the repository of image `NAME` is `<registry>/NAME`. `$VAR` and "
                 "`${VAR}` are expanded; an unset variable is bad input.", "$CI_REGISTRY_IMAGE"),
    "images": ("The image set: image name (a repository path) -> its entry (below). Required.", None),
    "tags": ("The tag templates (below).", None),
    "publish": ("The tags `ci-tags publish` moves (from a successful default-branch pipeline only).", None),
    "publish_branch_slug": ("Also publish a tag named after the branch slug.", None),
    "runners": ("Runner tags per arch (GitLab build jobs) / agent labels (Jenkins), e.g. "
                "`{amd64: [], arm64: [aarch64]}`.", None),
    "default_branch": ("The default branch, for Jenkins and local runs; GitLab's `CI_DEFAULT_BRANCH` wins.",
                       "none (`CI_DEFAULT_BRANCH`, `CI_TAGS_DEFAULT_BRANCH` or `--default-branch`)"),
    "keep": ("Regular expressions of tags the janitor never removes, e.g. `[\"^release-\"]`.", None),
    "max_age": ("The janitor's default age limit: a duration such as `7d`, `36h`, `2w`, `1d12h`.", None),
    "expire_pipeline_tags": ("`true`: plan, build and manifest have the registry service remove each pipeline tag "
                             "by itself after `max_age` (Quay's tag expiry; see [registries](../registries.md)); a "
                             "registry whose service cannot expire tags is refused.", "`false`"),
    "cache": ("Every image's layer cache: `none` or `registry` (see [content tags](../concepts/content-tags.md"
              "#layer-cache)).", "`none`"),
}
IMAGE: dict[str, tuple[str, str | None]] = {
    "dockerfile": ("The Dockerfile, relative to ci-tags.yml's folder, inside the repository. Required.", None),
    "context": ("The build context folder.", "the Dockerfile's folder"),
    "arches": ("Architectures to build; more than one makes a multi-arch image (an index).", None),
    "build_args": ("Build arguments, `{NAME: value}`; part of the content hash.", None),
    "target": ("The Dockerfile stage to build.", "the last stage"),
    "aliases": ("Other names FROM lines use for this image (e.g. `qemu:debian10`): a FROM naming one is a parent "
                "of the set.", None),
    "manifesto": ("A command run in the built image (buildah builder); its output's sha256 becomes the "
                  "`dev.ci-tags.manifesto` label (see [sync](../releases.md#ci-tags-sync-file-kollas-revisioned-tags)"
                  ").", "none"),
    "runners": ("This image's runner tags: a list is added to every arch's tags (`[big-memory]`), a map replaces "
                "them per arch (`{arm64: [graviton]}`).", None),
    "cache": ("This image's layer cache, overriding the set's `cache:`.", "the set's `cache:`"),
}
TAGS: dict[str, tuple[str, str | None]] = {
    "content": ("The content tag; must contain `{hash}`. Per-arch images of a multi-arch image get `-<arch>` "
                "appended.", None),
    "pipeline": ("The pipeline tag; must contain `{pipeline_id}` (GitLab: `CI_PIPELINE_IID`; Jenkins: "
                 "`<branch slug>-<BUILD_NUMBER>`).", None),
}
FIELD_OF = {"arches": "arches", "build_args": "build_args", "aliases": "aliases", "runners": "runners"}


class UndocumentedKey(Exception):
    """A key of ci-tags.yml without words in this file, or words for a key ci-tags.yml no longer has."""


def check(keys: tuple[str, ...], words: dict[str, Any], where: str) -> None:
    missing, stale = set(keys) - set(words), set(words) - set(keys)
    if missing or stale:
        raise UndocumentedKey(f"{where}: keys without words in docs/gen/config.py: {sorted(missing)}; "
                              f"words for keys ci-tags.yml does not accept: {sorted(stale)}")


def defaults(cls: type) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            found[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            found[f.name] = f.default_factory()
    return found


def shown(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(map(str, value)) + "]`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if dataclasses.is_dataclass(value):
        return "see below"
    return "none" if value is None else f"`{value}`"


def rows(keys: tuple[str, ...], words: dict[str, tuple[str, str | None]], known: dict[str, Any]) -> list[str]:
    lines = ["| key | default | what it is |", "|---|---|---|"]
    for key in keys:
        text, default = words[key]
        if default is None:
            default = shown(known[key]) if key in known else "required" if "Required" in text else "none"
        elif "`" not in default and not default.startswith(("none", "the ")):
            default = f"`{default}`"
        lines.append(f"| `{key}` | {default} | {text} |")
    return lines


def page(intro: str) -> str:
    check(config.TOP_KEYS, TOP, "top level")
    check(config.IMAGE_KEYS, IMAGE, "images.NAME")
    check(config.TAG_KEYS, TAGS, "tags")
    top = defaults(config.Config)
    image = defaults(config.ImageSpec)
    tags = defaults(config.TagTemplates)
    image["cache"] = config.CACHE_MODES[0] if not image.get("cache") else "registry"
    known = ", ".join(f"`{a}`" for a in arches.ARCHES)
    modes = ", ".join(f"`{m}`" for m in config.CACHE_MODES)
    return "\n".join([
        intro.rstrip(), "",
        "## Top-level keys", "", *rows(config.TOP_KEYS, TOP, top), "",
        "## `images.NAME`", "",
        "`NAME` is a lowercase repository path (`a-z`, `0-9`, `.`, `_`, `-`, `/`).", "",
        *rows(config.IMAGE_KEYS, IMAGE, image), "",
        "## `tags`", "", *rows(config.TAG_KEYS, TAGS, tags), "",
        "## Values", "",
        f"- Architectures (`arches:`, `runners:` keys): {known}.",
        f"- Cache modes (`cache:`): {modes}; with `registry` the layer cache of image `NAME` is "
        f"`<registry>/NAME/{config.CACHE_REPOSITORY}`.",
        f"- The file is at most {config.MAX_CONFIG_BYTES // 1024} KiB of UTF-8 text.", "",
        "*This page's tables are generated from `ci_tags/project/config.py`: the keys, defaults and values are the "
        "ones ci-tags accepts.*", ""])
