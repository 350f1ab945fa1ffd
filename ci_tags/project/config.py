"""``ci-tags.yml``: the image set, loaded into typed, frozen dataclasses.

Every error is bad input naming the file, the line and the key, e.g.
``ci-tags.yml:7: images.qemu/debian.arches[1]: unknown architecture 'arm65'``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TypeVar

from ci_tags.core.arches import ARCHES
from ci_tags.core.reference import PATH_RE, parse_reference, validate_tag
from ci_tags.core.times import parse_duration
from ci_tags.core.yamlnodes import Collector, Node, NodeReader, UnsetVariable, compose_text
from ci_tags.errors import BadInput
from ci_tags.project.config_model import (
    CACHE_MODES,
    CACHE_REPOSITORY,
    EVERY_ARCH,
    IMAGE_KEYS,
    TAG_KEYS,
    TOP_KEYS,
    Config,
    ImageSpec,
    TagTemplates,
)

__all__ = ["CACHE_MODES", "CACHE_REPOSITORY", "EVERY_ARCH", "IMAGE_KEYS", "TAG_KEYS", "TOP_KEYS", "Config",
           "ConfigReader", "ImageSpec", "TagTemplates", "load_config"]

T = TypeVar("T")


class ConfigReader(NodeReader):
    """ci-tags.yml's nodes, read like any YAML file's, plus paths that must stay inside the repository."""

    def inside(self, root: Path, text: str, node: Node, key: str, *, must_be_dir: bool) -> Path:
        path = (root / text).resolve()
        if not path.is_relative_to(root):
            raise self.fail(node, key, f"{text!r} is outside the repository ({root})")
        if must_be_dir and not path.is_dir():
            raise self.fail(node, key, f"no folder {text!r}")
        if not must_be_dir and not path.is_file():
            raise self.fail(node, key, f"no file {text!r}")
        return path


def _template(reader: ConfigReader, node: Node, key: str, required: str, example: dict[str, str]) -> str:
    text = reader.scalar(node, key)
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:  # "h-{hash}-{": a brace that opens no placeholder
        raise reader.fail(node, key, f"{text!r} is not a valid template: {exc}") from None
    if required not in fields:
        raise reader.fail(node, key, f"must contain {{{required}}}")
    unknown = fields - {required}  # a content tag has no pipeline id, a pipeline tag no hash
    if unknown:
        raise reader.fail(node, key, f"unknown placeholder {{{sorted(unknown)[0]}}}")
    try:
        validate_tag(text.format(**example))
    except BadInput as exc:
        raise reader.fail(node, key, f"does not give a valid tag: {exc.message}") from None
    return text


MAX_CONFIG_BYTES = 1 << 20  # a ci-tags.yml is a few kilobytes; anything near this is not one


def _read_text(path: Path) -> str:
    """The file as UTF-8 text, within a size limit, or a clear BadInput."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise BadInput(f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB: not a ci-tags.yml")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput(f"{path}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})",
                       hint="save the file as UTF-8") from None


def load_config(path: Path, env: Mapping[str, str], *, need_registry: bool = True) -> Config:
    """Load and validate ``path``; raise :class:`BadInput` naming the file, line and key on any problem.

    ``need_registry=False``: for a run that names full repositories, a ``registry:`` naming an unset variable
    (``$CI_REGISTRY_IMAGE`` outside CI) is not a problem until an image's repository is asked for."""
    reader, root_node = _compose(path, env)
    top = reader.mapping(root_node, "", TOP_KEYS)
    root = path.resolve().parent
    # each part in the file's usual order, so that the first problem reported is the one a reader meets first
    # every problem of the file in one run (each listed), as promote does with its file
    problems = Collector()
    registry_unset = None
    try:
        registry = _registry(reader, top.get("registry", (None, None))[1], root_node)
    except UnsetVariable as unset:
        if need_registry:
            problems.check(partial(_raise, unset))
        registry, registry_unset = "", unset.message
    except BadInput as exc:
        problems.check(partial(_raise, exc))
        registry = ""
    if "images" not in top:
        problems.check(lambda: _raise(reader.fail(root_node, "images", "missing: list the images to build")))
    images = (problems.check(lambda: _images(reader, top, root)) or {}) if "images" in top else {}

    def part(key: str, read: Callable[[ConfigReader, Node], T], default: T) -> T:
        if key not in top:
            return default
        found = problems.check(lambda: read(reader, top[key][1]))
        return default if found is None else found

    tags = part("tags", _tags, TagTemplates())
    publish: tuple[str, ...] = part("publish", _publish, ("latest",))
    runners: dict[str, tuple[str, ...]] = part("runners", _runners, {})
    keep: tuple[str, ...] = part("keep", _keep, ())
    slug_flag = part("publish_branch_slug", _flag("publish_branch_slug"), False)
    expire_flag = part("expire_pipeline_tags", _flag("expire_pipeline_tags"), False)
    default_branch = part("default_branch", lambda r, n: r.scalar(n, "default_branch"), None)
    max_age = part("max_age", _max_age, "7d")
    problems.raise_if_any(path, unchanged=False, one_as_found=True)
    return Config(path=path, root=root, registry=registry, images=images, tags=tags, publish=publish,
                  publish_branch_slug=slug_flag, runners=runners, default_branch=default_branch, keep=keep,
                  max_age=max_age, registry_unset=registry_unset, expire_pipeline_tags=expire_flag)


def _raise(exc: BadInput) -> None:
    raise exc


def _flag(key: str) -> Callable[[ConfigReader, Node], bool]:
    """The reader of a top-level true/false key."""

    def read(reader: ConfigReader, node: Node) -> bool:
        flag = reader.scalar(node, key).lower()
        if flag not in ("true", "false"):
            raise reader.fail(node, key, "expected true or false")
        return flag == "true"

    return read




def _compose(path: Path, env: Mapping[str, str]) -> tuple[ConfigReader, Node]:
    if not path.is_file():
        raise BadInput(f"no ci-tags.yml at {path}", hint="run from the repository root or pass --config")
    root_node = compose_text(_read_text(path), path)
    if root_node is None:
        raise BadInput(f"{path}:1: the file is empty", hint="it needs at least an images: mapping")
    return ConfigReader(path, env), root_node


def _registry(reader: ConfigReader, node: Node, root_node: Node) -> str:
    """``registry:`` with ``$VARIABLES`` expanded (default ``$CI_REGISTRY_IMAGE``), checked as a registry path."""
    text = reader.scalar(node, "registry") if node is not None else "$CI_REGISTRY_IMAGE"
    registry = reader.expand(text, node or root_node, "registry").rstrip("/")
    try:
        parse_reference(f"{registry}/x")
    except BadInput as exc:
        raise reader.fail(node or root_node, "registry", f"{registry!r} is not a registry path: {exc.message}") \
            from None
    return registry


def _images(reader: ConfigReader, top: Mapping[str, tuple[Node, Node]], root: Path) -> dict[str, ImageSpec]:
    """Every image of ``images:``; a problem in one does not hide the others' (all raised together)."""
    problems = Collector()
    set_cache = problems.check(lambda: _cache(reader, top["cache"][1], "cache")) if "cache" in top else False
    images: dict[str, ImageSpec] = {}
    alias_owner: dict[str, str] = {}  # alias -> the image it names
    image_nodes = reader.mapping(top["images"][1], "images", None)
    image_names = set(image_nodes)
    for name, (name_node, body) in image_nodes.items():
        key = f"images.{name}"
        if not PATH_RE.fullmatch(name):
            problems.check(lambda: _raise(reader.fail(
                name_node, key, "image names are lowercase repository paths (a-z, 0-9, . _ - /)")))  # noqa: B023
            continue
        spec = problems.check(partial(_image, reader, name, body, root, set_cache=bool(set_cache),
                                      alias_owner=alias_owner, image_names=image_names))
        if spec is not None:
            images[name] = spec
    problems.raise_if_any(reader.path, unchanged=False, one_as_found=True)
    return images


def _image(reader: ConfigReader, name: str, body: Node, root: Path, *, set_cache: bool,
           alias_owner: dict[str, str], image_names: set[str]) -> ImageSpec:
    """One image's entry; its aliases are added to ``alias_owner`` (alias -> image)."""
    key = f"images.{name}"
    fields = reader.mapping(body, key, IMAGE_KEYS)
    if "dockerfile" not in fields:
        raise reader.fail(body, key, "missing key dockerfile")

    def path_of(field: str, *, must_be_dir: bool) -> Path:
        node = fields[field][1]
        return reader.inside(root, reader.scalar(node, f"{key}.{field}"), node, f"{key}.{field}",
                             must_be_dir=must_be_dir)

    def optional(field: str) -> str | None:
        return reader.scalar(fields[field][1], f"{key}.{field}") if field in fields else None

    dockerfile = path_of("dockerfile", must_be_dir=False)
    context = path_of("context", must_be_dir=True) if "context" in fields else dockerfile.parent
    arches = _arches(reader, fields["arches"][1], f"{key}.arches") if "arches" in fields else ("amd64",)
    build_args: dict[str, str] = {}
    if "build_args" in fields:
        for arg, (_, v) in reader.mapping(fields["build_args"][1], f"{key}.build_args", None).items():
            build_args[arg] = reader.scalar(v, f"{key}.build_args.{arg}")
    target = optional("target")
    aliases: tuple[str, ...] = ()
    if "aliases" in fields:
        aliases = _aliases(reader, fields["aliases"][1], name, alias_owner=alias_owner, image_names=image_names)
    manifesto = optional("manifesto")
    if manifesto is not None and not manifesto.strip():
        raise reader.fail(fields["manifesto"][1], f"{key}.manifesto", "empty: give a command, e.g. pip freeze")
    image_runners: dict[str, tuple[str, ...]] = {}
    if "runners" in fields:
        image_runners = _image_runners(reader, fields["runners"][1], f"{key}.runners", arches)
    cache = _cache(reader, fields["cache"][1], f"{key}.cache") if "cache" in fields else set_cache
    return ImageSpec(name, dockerfile, context, arches, build_args, target, aliases=aliases,
                     manifesto=manifesto, runners=image_runners, cache=cache)


def _arches(reader: ConfigReader, node: Node, key: str) -> tuple[str, ...]:
    listed = reader.strings(node, key)
    if not listed:
        raise reader.fail(node, key, "needs at least one architecture")
    for i, (arch, item) in enumerate(listed):
        if arch not in ARCHES:
            raise reader.fail(item, f"{key}[{i}]", f"unknown architecture {arch!r} (known: {', '.join(ARCHES)})")
        if arch in [a for a, _ in listed[:i]]:
            raise reader.fail(item, f"{key}[{i}]", f"{arch} is listed twice")
    return tuple(a for a, _ in listed)


def _aliases(reader: ConfigReader, node: Node, name: str, *, alias_owner: dict[str, str],
             image_names: set[str]) -> tuple[str, ...]:
    """Image ``name``'s ``aliases:``: image names no other image (nor alias) has; each added to ``alias_owner``."""
    key = f"images.{name}.aliases"
    listed = reader.strings(node, key)
    for i, (alias, item) in enumerate(listed):
        try:
            parse_reference(alias)
        except BadInput as exc:
            raise reader.fail(item, f"{key}[{i}]", f"{alias!r} is not an image name: {exc.message}") from None
        if alias in alias_owner or alias in image_names:
            other = alias_owner.get(alias, alias)
            raise reader.fail(item, f"{key}[{i}]", f"{alias!r} already names image {other}")
        alias_owner[alias] = name
    return tuple(a for a, _ in listed)


def _tags(reader: ConfigReader, node: Node) -> TagTemplates:
    t = reader.mapping(node, "tags", TAG_KEYS)
    default = TagTemplates()
    content = (_template(reader, t["content"][1], "tags.content", "hash", {"hash": "0" * 64})
               if "content" in t else default.content)
    pipeline = (_template(reader, t["pipeline"][1], "tags.pipeline", "pipeline_id", {"pipeline_id": "123"})
                if "pipeline" in t else default.pipeline)
    return TagTemplates(content, pipeline)


def _publish(reader: ConfigReader, node: Node) -> tuple[str, ...]:
    listed = reader.strings(node, "publish")
    for i, (tag, item) in enumerate(listed):
        try:
            validate_tag(tag)
        except BadInput as exc:
            raise reader.fail(item, f"publish[{i}]", exc.message) from None
    return tuple(t for t, _ in listed)


def _runners(reader: ConfigReader, node: Node) -> dict[str, tuple[str, ...]]:
    runners: dict[str, tuple[str, ...]] = {}
    for arch, (k, v) in reader.mapping(node, "runners", None).items():
        if arch not in ARCHES:
            raise reader.fail(k, f"runners.{arch}", f"unknown architecture (known: {', '.join(ARCHES)})")
        runners[arch] = tuple(s for s, _ in reader.strings(v, f"runners.{arch}"))
    return runners


def _keep(reader: ConfigReader, node: Node) -> tuple[str, ...]:
    keep: list[str] = []
    for i, (pattern, item) in enumerate(reader.strings(node, "keep")):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise reader.fail(item, f"keep[{i}]", f"not a valid regular expression: {exc}") from None
        keep.append(pattern)
    return tuple(keep)


def _max_age(reader: ConfigReader, node: Node) -> str:
    """``max_age:`` checked here, where the file is read, so that a bad one names its line (issue 15)."""
    max_age = reader.scalar(node, "max_age") or "7d"
    try:
        parse_duration(max_age)
    except BadInput as exc:
        why = exc.message.partition(": ")[2] or "units w, d, h, m, largest first, each once"
        raise reader.fail(node, "max_age", f"{max_age!r} is not a duration like 7d, 36h, 2w or 1d12h ({why})") \
            from None
    return max_age


def _image_runners(reader: ConfigReader, node: Node, key: str, arches: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """An image's ``runners:``: a list (added to every arch's tags) or ``{arch: [tags]}`` (replacing them)."""
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return {EVERY_ARCH: tuple(s for s, _ in reader.strings(node, key))}
    runners: dict[str, tuple[str, ...]] = {}
    for arch, (k, v) in reader.mapping(node, key, None).items():
        if arch not in arches:
            raise reader.fail(k, f"{key}.{arch}", f"{arch} is not one of this image's arches ({', '.join(arches)})")
        runners[arch] = tuple(s for s, _ in reader.strings(v, f"{key}.{arch}"))
    return runners


def _cache(reader: ConfigReader, node: Node, key: str) -> bool:
    mode = reader.scalar(node, key)
    if mode not in CACHE_MODES:
        raise reader.fail(node, key, f"{mode} is not a cache mode (known: {', '.join(CACHE_MODES)})")
    return mode == "registry"
