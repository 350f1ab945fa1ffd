"""``ci-tags.yml``: the image set, loaded into typed, frozen dataclasses.

Every error is bad input naming the file, the line and the key, e.g.
``ci-tags.yml:7: images.qemu/debian.arches[1]: unknown architecture 'arm65'``.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ci_tags.core.arches import ARCHES
from ci_tags.core.reference import PATH_RE, parse_reference, validate_tag
from ci_tags.core.times import parse_duration
from ci_tags.errors import BadInput

TOP_KEYS = ("registry", "images", "tags", "publish", "publish_branch_slug", "runners", "default_branch", "keep",
            "max_age", "cache")
IMAGE_KEYS = ("dockerfile", "context", "arches", "build_args", "target", "aliases", "manifesto", "runners", "cache")
CACHE_MODES = ("none", "registry")
CACHE_REPOSITORY = "cache"  # the layer cache of image <name> is the repository <registry>/<name>/cache
EVERY_ARCH = "*"  # ImageSpec.runners key of a plain list: tags added to every arch's runner tags
TAG_KEYS = ("content", "pipeline")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True)
class TagTemplates:
    content: str = "hash-{hash}"
    pipeline: str = "pipeline-{pipeline_id}"

    def content_tag(self, hash_hex: str, arch: str | None = None) -> str:
        """The content tag; a per-arch image of a multi-arch set gets ``-<arch>`` appended."""
        tag = self.content.replace("{hash}", hash_hex)
        return f"{tag}-{arch}" if arch else tag

    def pipeline_tag(self, pipeline_id: str) -> str:
        return validate_tag(self.pipeline.replace("{pipeline_id}", pipeline_id))


@dataclass(frozen=True)
class ImageSpec:
    name: str
    dockerfile: Path
    context: Path
    arches: tuple[str, ...] = ("amd64",)
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    aliases: tuple[str, ...] = ()  # other names FROM lines use for this image (``qemu:debian10``)
    manifesto: str | None = None  # a command run in the built image; its output's sha256 becomes a label
    # runner tags of this image's build jobs: per arch (replacing the set's ``runners:`` for that arch), or
    # under EVERY_ARCH (added to each arch's), e.g. a big-memory runner for one heavy image
    runners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cache: bool = False  # ``cache: registry``: builds reuse and push layers through <repository>/cache

    @property
    def multi_arch(self) -> bool:
        return len(self.arches) > 1


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    registry: str
    images: Mapping[str, ImageSpec]
    tags: TagTemplates = TagTemplates()
    publish: tuple[str, ...] = ("latest",)
    publish_branch_slug: bool = False
    runners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_branch: str | None = None
    keep: tuple[str, ...] = ()
    max_age: str = "7d"

    def repository(self, image: str) -> str:
        return f"{self.registry}/{image}"

    def cache_repository(self, image: str) -> str | None:
        """Where ``image``'s builds keep their layer cache, or None without ``cache: registry``."""
        return f"{self.repository(image)}/{CACHE_REPOSITORY}" if self.images[image].cache else None

    def runner_tags(self, image: str, arch: str) -> tuple[str, ...]:
        """The runner tags of ``image``'s build for ``arch``: the image's own for that arch, else the set's
        for the arch plus the image's for every arch."""
        own = self.images[image].runners if image in self.images else {}
        if arch in own:
            return own[arch]
        return (*self.runners.get(arch, ()), *own.get(EVERY_ARCH, ()))

    def image(self, name: str) -> ImageSpec:
        if name not in self.images:
            close = difflib.get_close_matches(name, list(self.images), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(self.images) or 'none'}"
            raise BadInput(f"unknown image {name!r} in {self.path}", hint=hint)
        return self.images[name]


class _Loader:
    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = env

    def fail(self, node: Any, key: str, message: str) -> BadInput:
        line = node.start_mark.line + 1 if node is not None and hasattr(node, "start_mark") else 1
        return BadInput(f"{self.path}:{line}: {key}: {message}" if key else f"{self.path}:{line}: {message}")

    def mapping(self, node: Any, key: str, allowed: tuple[str, ...] | None) -> dict[str, tuple[Any, Any]]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, "expected a mapping")
        out: dict[str, tuple[Any, Any]] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise self.fail(k, key, "keys must be strings")
            name = str(k.value)
            where = f"{key}.{name}" if key else name
            if name in out:
                raise self.fail(k, where, "duplicate key")
            if allowed is not None and name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                raise self.fail(k, where, "unknown key" + (f" (did you mean {close[0]!r}?)" if close else ""))
            out[name] = (k, v)
        return out

    def scalar(self, node: Any, key: str) -> str:
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, key, "expected a single value")
        return str(node.value)

    def strings(self, node: Any, key: str) -> list[tuple[str, Any]]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, key, "expected a list")
        return [(self.scalar(item, f"{key}[{i}]"), item) for i, item in enumerate(node.value)]

    def expand(self, text: str, node: Any, key: str) -> str:
        def var(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name not in self.env:
                raise self.fail(node, key, f"environment variable {name} is not set")
            return self.env[name]

        return _VAR_RE.sub(var, text)

    def inside(self, root: Path, text: str, node: Any, key: str, must_be_dir: bool) -> Path:
        path = (root / text).resolve()
        if not path.is_relative_to(root):
            raise self.fail(node, key, f"{text!r} is outside the repository ({root})")
        if must_be_dir and not path.is_dir():
            raise self.fail(node, key, f"no folder {text!r}")
        if not must_be_dir and not path.is_file():
            raise self.fail(node, key, f"no file {text!r}")
        return path


# The release files (promote, sync, prepare) read their YAML through the same loader, so that their errors name the
# file, the line and the key in the same way.
YamlLoader = _Loader


def _template(loader: _Loader, node: Any, key: str, required: str, example: dict[str, str]) -> str:
    text = loader.scalar(node, key)
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:  # "h-{hash}-{": a brace that opens no placeholder
        raise loader.fail(node, key, f"{text!r} is not a valid template: {exc}") from None
    if required not in fields:
        raise loader.fail(node, key, f"must contain {{{required}}}")
    unknown = fields - {required}  # a content tag has no pipeline id, a pipeline tag no hash
    if unknown:
        raise loader.fail(node, key, f"unknown placeholder {{{sorted(unknown)[0]}}}")
    try:
        validate_tag(text.format(**example))
    except BadInput as exc:
        raise loader.fail(node, key, f"does not give a valid tag: {exc.message}") from None
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


def load_config(path: Path, env: Mapping[str, str]) -> Config:
    """Load and validate ``path``; raise :class:`BadInput` naming the file, line and key on any problem."""
    import yaml

    if not path.is_file():
        raise BadInput(f"no ci-tags.yml at {path}", hint="run from the repository root or pass --config")
    loader = _Loader(path, env)
    try:
        root_node = yaml.compose(_read_text(path), Loader=yaml.SafeLoader)
    except RecursionError:
        raise BadInput(f"{path}: nested too deeply to be a ci-tags.yml") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"{path}:{line}: malformed YAML: {problem}") from None
    if root_node is None:
        raise BadInput(f"{path}:1: the file is empty", hint="it needs at least an images: mapping")
    top = loader.mapping(root_node, "", TOP_KEYS)
    root = path.resolve().parent

    reg_node = top.get("registry", (None, None))[1]
    registry_text = loader.scalar(reg_node, "registry") if reg_node is not None else "$CI_REGISTRY_IMAGE"
    registry = loader.expand(registry_text, reg_node or root_node, "registry").rstrip("/")
    try:
        parse_reference(f"{registry}/x")
    except BadInput as exc:
        raise loader.fail(
            reg_node or root_node, "registry", f"{registry!r} is not a registry path: {exc.message}"
        ) from None

    if "images" not in top:
        raise loader.fail(root_node, "images", "missing: list the images to build")
    set_cache = _cache(loader, top["cache"][1], "cache") if "cache" in top else False
    images: dict[str, ImageSpec] = {}
    alias_owner: dict[str, str] = {}
    image_nodes = loader.mapping(top["images"][1], "images", None)
    top_images = set(image_nodes)
    for name, (name_node, body) in image_nodes.items():
        key = f"images.{name}"
        if not PATH_RE.fullmatch(name):
            raise loader.fail(name_node, key, "image names are lowercase repository paths (a-z, 0-9, . _ - /)")
        fields = loader.mapping(body, key, IMAGE_KEYS)
        if "dockerfile" not in fields:
            raise loader.fail(body, key, "missing key dockerfile")
        df_node = fields["dockerfile"][1]
        dockerfile = loader.inside(root, loader.scalar(df_node, f"{key}.dockerfile"), df_node, f"{key}.dockerfile",
                                   must_be_dir=False)
        context = dockerfile.parent
        if "context" in fields:
            c_node = fields["context"][1]
            context = loader.inside(root, loader.scalar(c_node, f"{key}.context"), c_node, f"{key}.context",
                                    must_be_dir=True)
        arches: tuple[str, ...] = ("amd64",)
        if "arches" in fields:
            listed = loader.strings(fields["arches"][1], f"{key}.arches")
            if not listed:
                raise loader.fail(fields["arches"][1], f"{key}.arches", "needs at least one architecture")
            for i, (arch, node) in enumerate(listed):
                if arch not in ARCHES:
                    raise loader.fail(node, f"{key}.arches[{i}]",
                                      f"unknown architecture {arch!r} (known: {', '.join(ARCHES)})")
                if arch in [a for a, _ in listed[:i]]:
                    raise loader.fail(node, f"{key}.arches[{i}]", f"{arch} is listed twice")
            arches = tuple(a for a, _ in listed)
        build_args: dict[str, str] = {}
        if "build_args" in fields:
            for arg, (_, v) in loader.mapping(fields["build_args"][1], f"{key}.build_args", None).items():
                build_args[arg] = loader.scalar(v, f"{key}.build_args.{arg}")
        target = loader.scalar(fields["target"][1], f"{key}.target") if "target" in fields else None
        aliases: list[str] = []
        if "aliases" in fields:
            for i, (alias, node) in enumerate(loader.strings(fields["aliases"][1], f"{key}.aliases")):
                try:
                    parse_reference(alias)
                except BadInput as exc:
                    raise loader.fail(node, f"{key}.aliases[{i}]", f"{alias!r} is not an image name: {exc.message}") \
                        from None
                if alias in alias_owner or alias in top_images:
                    other = alias_owner.get(alias, alias)
                    raise loader.fail(node, f"{key}.aliases[{i}]", f"{alias!r} already names image {other}")
                alias_owner[alias] = name
                aliases.append(alias)
        manifesto = loader.scalar(fields["manifesto"][1], f"{key}.manifesto") if "manifesto" in fields else None
        if manifesto is not None and not manifesto.strip():
            raise loader.fail(fields["manifesto"][1], f"{key}.manifesto", "empty: give a command, e.g. pip freeze")
        image_runners: dict[str, tuple[str, ...]] = {}
        if "runners" in fields:
            image_runners = _image_runners(loader, fields["runners"][1], f"{key}.runners", arches)
        cache = _cache(loader, fields["cache"][1], f"{key}.cache") if "cache" in fields else set_cache
        images[name] = ImageSpec(name, dockerfile, context, arches, build_args, target,
                                 aliases=tuple(aliases), manifesto=manifesto, runners=image_runners, cache=cache)

    tags = TagTemplates()
    if "tags" in top:
        t = loader.mapping(top["tags"][1], "tags", TAG_KEYS)
        content = (_template(loader, t["content"][1], "tags.content", "hash", {"hash": "0" * 64})
                   if "content" in t else tags.content)
        pipeline = (_template(loader, t["pipeline"][1], "tags.pipeline", "pipeline_id", {"pipeline_id": "123"})
                    if "pipeline" in t else tags.pipeline)
        tags = TagTemplates(content, pipeline)

    publish: tuple[str, ...] = ("latest",)
    if "publish" in top:
        listed = loader.strings(top["publish"][1], "publish")
        for i, (tag, node) in enumerate(listed):
            try:
                validate_tag(tag)
            except BadInput as exc:
                raise loader.fail(node, f"publish[{i}]", exc.message) from None
        publish = tuple(t for t, _ in listed)

    runners: dict[str, tuple[str, ...]] = {}
    if "runners" in top:
        for arch, (k, v) in loader.mapping(top["runners"][1], "runners", None).items():
            if arch not in ARCHES:
                raise loader.fail(k, f"runners.{arch}", f"unknown architecture (known: {', '.join(ARCHES)})")
            runners[arch] = tuple(s for s, _ in loader.strings(v, f"runners.{arch}"))

    keep: list[str] = []
    if "keep" in top:
        for i, (pattern, node) in enumerate(loader.strings(top["keep"][1], "keep")):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise loader.fail(node, f"keep[{i}]", f"not a valid regular expression: {exc}") from None
            keep.append(pattern)

    def optional(key: str) -> str | None:
        return loader.scalar(top[key][1], key) if key in top else None

    slug_flag = optional("publish_branch_slug")
    if slug_flag is not None and slug_flag.lower() not in ("true", "false"):
        raise loader.fail(top["publish_branch_slug"][1], "publish_branch_slug", "expected true or false")
    max_age = optional("max_age") or "7d"
    try:
        parse_duration(max_age)
    except BadInput as exc:
        why = exc.message.partition(": ")[2] or "units w, d, h, m, largest first, each once"
        raise loader.fail(top["max_age"][1], "max_age",
                          f"{max_age!r} is not a duration like 7d, 36h, 2w or 1d12h ({why})") from None
    return Config(
        path=path,
        root=root,
        registry=registry,
        images=images,
        tags=tags,
        publish=publish,
        publish_branch_slug=(slug_flag or "false").lower() == "true",
        runners=runners,
        default_branch=optional("default_branch"),
        keep=tuple(keep),
        max_age=max_age,
    )


def _image_runners(loader: _Loader, node: Any, key: str, arches: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """An image's ``runners:``: a list (added to every arch's tags) or ``{arch: [tags]}`` (replacing them)."""
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return {EVERY_ARCH: tuple(s for s, _ in loader.strings(node, key))}
    runners: dict[str, tuple[str, ...]] = {}
    for arch, (k, v) in loader.mapping(node, key, None).items():
        if arch not in arches:
            raise loader.fail(k, f"{key}.{arch}", f"{arch} is not one of this image's arches ({', '.join(arches)})")
        runners[arch] = tuple(s for s, _ in loader.strings(v, f"{key}.{arch}"))
    return runners


def _cache(loader: _Loader, node: Any, key: str) -> bool:
    mode = loader.scalar(node, key)
    if mode not in CACHE_MODES:
        raise loader.fail(node, key, f"{mode} is not a cache mode (known: {', '.join(CACHE_MODES)})")
    return mode == "registry"
