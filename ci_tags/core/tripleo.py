"""Pure rules of ``ci-tags prepare``: TripleO's ``ContainerImagePrepare``, with its documented semantics.

- Entries apply in order; a later entry overrides an earlier one for the images it selects.
- ``includes`` and ``excludes`` match when the image name contains the value; ``includes`` first: an entry with
  ``includes`` selects exactly the images matching one of them (its ``excludes`` are not consulted), else it
  selects every image matching none of its ``excludes``.
- ``set`` gives ``namespace``, ``name_prefix``, ``name_suffix`` and ``tag``: the source is
  ``<namespace>/<name_prefix><image><name_suffix>:<tag>``.
- ``tag_from_label`` is a label name, or a template over labels (``'{version}-{release}'``): the image's tag is
  read from the source image's labels.
- ``push_destination: true`` is the local push destination, a string names a registry: the image is copied there
  under the discovered tag, at the namespace's path without its registry.
- The Ceph image (an image list entry with ``image_source: ceph``, as in TripleO's own list) comes from ``set``'s
  ``ceph_namespace``, ``ceph_image`` and ``ceph_tag``: ``<ceph_namespace>/<ceph_image>:<ceph_tag>``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ci_tags.core.credentials import Credentials
from ci_tags.core.reference import DOMAIN_RE, PATH_RE, Reference, parse_reference, validate_tag
from ci_tags.core.yamlnodes import Collector, MalformedFile, Node, NodeReader, compose_document, line_of
from ci_tags.errors import BadInput

ENTRY_KEYS = ("push_destination", "includes", "excludes", "set", "tag_from_label")
USED_SET_KEYS = ("namespace", "name_prefix", "name_suffix", "tag", "ceph_namespace", "ceph_image", "ceph_tag")
CEPH = "ceph"  # the image list's image_source of the Ceph image
# TripleO's entry keys that ci-tags does not do, and what to do instead
UNSUPPORTED = {
    "modify_role": "ci-tags does not run Ansible roles on images: build the modified image with ci-tags (a Dockerfile "
                   "FROM this source in ci-tags.yml) and select it with an entry of its own",
    "multi_arch": "ci-tags copies every architecture the source tag holds (an index stays whole): remove the key",
}
for _key in ("modify_vars", "modify_only_with_labels", "modify_only_with_source"):
    UNSUPPORTED[_key] = UNSUPPORTED["modify_role"]


@dataclass(frozen=True)
class PrepareEntry:
    index: int
    line: int
    namespace: Reference  # registry and path
    name_prefix: str = ""
    name_suffix: str = ""
    tag: str = "latest"
    tag_from_label: str | None = None
    push_destination: bool | str = False  # True: the local push destination
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    ceph_namespace: Reference | None = None
    ceph_image: str | None = None  # default: the image list's name
    ceph_tag: str = "latest"

    def selects(self, image: str) -> bool:
        if self.includes:
            return any(value in image for value in self.includes)
        return not any(value in image for value in self.excludes)

    def source(self, request: ImageRequest) -> Reference:
        namespace, name = self.path_of(request)
        tag = self.ceph_tag if request.image_source == CEPH else self.tag
        return parse_reference(f"{namespace.name}/{name}:{tag}")

    def path_of(self, request: ImageRequest) -> tuple[Reference, str]:
        """The namespace and the repository name in it of ``request``'s source."""
        if request.image_source != CEPH:
            return self.namespace, f"{self.name_prefix}{request.image}{self.name_suffix}"
        if self.ceph_namespace is None:
            raise BadInput(f"ContainerImagePrepare[{self.index}] (line {self.line}) gives no set.ceph_namespace "
                           f"for the Ceph image {request.image}")
        return self.ceph_namespace, self.ceph_image or request.image


@dataclass(frozen=True)
class PrepareFile:
    path: Path
    entries: tuple[PrepareEntry, ...]
    credentials: Mapping[str, Credentials] = field(default_factory=dict)  # registry -> credentials


@dataclass(frozen=True)
class ImageRequest:
    image: str
    params: tuple[str, ...]
    image_source: str | None = None  # "ceph": the Ceph image, named by set's ceph_* keys


def choose(entries: tuple[PrepareEntry, ...], image: str) -> PrepareEntry | None:
    """The entry that decides ``image``: the last one selecting it."""
    chosen = None
    for entry in entries:
        if entry.selects(image):
            chosen = entry
    return chosen


def discovered_tag(entry: PrepareEntry, labels: Mapping[str, str], source_tag: str | None = None) -> str:
    """The tag from the source image's labels (``tag_from_label``), else the source's tag (``source_tag``, by
    default the entry's ``tag``); bad input when a label is missing or the result is not a valid tag."""
    spec = entry.tag_from_label
    if spec is None:
        return source_tag or entry.tag
    if "{" in spec:
        names = [f for _, f, _, _ in string.Formatter().parse(spec) if f is not None]
        missing = [n for n in names if n not in labels]
        if missing:
            raise BadInput(f"the image has no label {missing[0]!r} (tag_from_label {spec!r})")
        tag = spec.format(**{n: labels[n] for n in names})
    elif spec in labels:
        tag = labels[spec]
    else:
        raise BadInput(f"the image has no label {spec!r} (tag_from_label)")
    try:
        return validate_tag(tag)
    except BadInput as exc:
        raise BadInput(f"tag_from_label {spec!r} gives {exc.message}") from None


def destination(entry: PrepareEntry, request: ImageRequest, tag: str, local: str | None) -> Reference | None:
    """Where the image is pushed (None: not pushed): the push registry, then the namespace's path."""
    if entry.push_destination is False:
        return None
    if entry.push_destination is True:
        if not local:
            raise BadInput(f"ContainerImagePrepare[{entry.index}] (line {entry.line}): push_destination: true "
                           "needs --local-push-destination HOST:PORT")
        host = local
    else:
        host = entry.push_destination
    namespace, name = entry.path_of(request)
    return parse_reference(f"{host}/{namespace.repository}/{name}:{tag}")


def parse_prepare_file(text: str, path: Path) -> PrepareFile:
    """TripleO's environment file with ``parameter_defaults.ContainerImagePrepare``; every malformed entry listed."""
    import yaml

    loader, root = compose_document(text, path)
    top = loader.mapping(root, "", None)
    if "parameter_defaults" not in top:
        raise loader.fail(root, "parameter_defaults", "missing")
    params = loader.mapping(top["parameter_defaults"][1], "parameter_defaults", None)
    if "ContainerImagePrepare" not in params:
        raise loader.fail(top["parameter_defaults"][1], "parameter_defaults.ContainerImagePrepare", "missing")
    seq = params["ContainerImagePrepare"][1]
    key = "parameter_defaults.ContainerImagePrepare"
    if not isinstance(seq, yaml.SequenceNode) or not seq.value:
        raise loader.fail(seq, key, "expected a list of entries")
    problems = Collector()
    entries = []
    for i, node in enumerate(seq.value):
        entry = problems.check(partial(_entry, loader, node, f"{key}[{i}]", i))
        if entry is not None:
            entries.append(entry)
    creds: dict[str, Credentials] = {}
    if "ContainerImageRegistryCredentials" in params:
        creds = problems.check(lambda: _credentials(loader, params["ContainerImageRegistryCredentials"][1])) or {}
    problems.raise_if_any(path)
    return PrepareFile(path, tuple(entries), creds)


def _entry(loader: NodeReader, node: Node, key: str, index: int) -> PrepareEntry:
    for name, (name_node, _) in loader.mapping(node, key, None).items():
        if name in UNSUPPORTED:
            raise loader.fail(name_node, f"{key}.{name}", f"not supported: {UNSUPPORTED[name]}")
    fields = loader.mapping(node, key, ENTRY_KEYS)
    if "set" not in fields:
        raise loader.fail(node, f"{key}.set", "missing (namespace, name_prefix, name_suffix, tag)")
    values = {k: loader.scalar(v, f"{key}.set.{k}")
              for k, (_, v) in loader.mapping(fields["set"][1], f"{key}.set", None).items() if k in USED_SET_KEYS}
    if not values.get("namespace"):
        raise loader.fail(fields["set"][1], f"{key}.set.namespace", "missing")
    try:
        namespace = _namespace(values["namespace"])
        prefix, suffix = values.get("name_prefix", ""), values.get("name_suffix", "")
        validate_tag(values.get("tag", "latest"))
        if not PATH_RE.fullmatch(f"{prefix}x{suffix}"):
            raise BadInput(f"name_prefix {prefix!r} and name_suffix {suffix!r} do not make a repository name")
        ceph_namespace = _namespace(values["ceph_namespace"]) if values.get("ceph_namespace") else None
        ceph_image = values.get("ceph_image") or None
        if ceph_image is not None and not PATH_RE.fullmatch(ceph_image):
            raise BadInput(f"ceph_image {ceph_image!r} is not a repository name")
        ceph_tag = validate_tag(values.get("ceph_tag") or "latest")
    except BadInput as exc:
        raise loader.fail(fields["set"][1], f"{key}.set", exc.message) from None
    push: bool | str = False
    if "push_destination" in fields:
        v = fields["push_destination"][1]
        text = loader.scalar(v, f"{key}.push_destination")
        if v.tag.endswith(":bool") or text.lower() in ("true", "false"):
            push = text.lower() == "true"
        elif DOMAIN_RE.fullmatch(text):
            push = text
        else:
            raise loader.fail(v, f"{key}.push_destination", f"{text!r} is neither true/false nor HOST[:PORT]")
    lists = {}
    for name in ("includes", "excludes"):
        lists[name] = tuple(s for s, _ in loader.strings(fields[name][1], f"{key}.{name}")) if name in fields else ()
    label = None
    if "tag_from_label" in fields:
        label = loader.scalar(fields["tag_from_label"][1], f"{key}.tag_from_label")
        try:
            list(string.Formatter().parse(label))
        except ValueError as exc:
            raise loader.fail(fields["tag_from_label"][1], f"{key}.tag_from_label", f"bad template: {exc}") from None
    return PrepareEntry(index, line_of(node), namespace, prefix, suffix, values.get("tag", "latest"), label, push,
                        lists["includes"], lists["excludes"], ceph_namespace, ceph_image, ceph_tag)


def _namespace(text: str) -> Reference:
    probe = parse_reference(f"{text}/x")
    return Reference(probe.registry, probe.repository[: -len("/x")])


def _credentials(loader: NodeReader, node: Node) -> dict[str, Credentials]:
    key = "parameter_defaults.ContainerImageRegistryCredentials"
    found = {}
    for registry, (k, v) in loader.mapping(node, key, None).items():
        users = loader.mapping(v, f"{key}.{registry}", None)
        if len(users) != 1:
            raise loader.fail(v, f"{key}.{registry}", "expected exactly one user: password")
        [(user, (_, secret))] = users.items()
        try:
            host = parse_reference(f"{registry}/x").api_host
        except BadInput:
            raise loader.fail(k, f"{key}.{registry}", "not a registry host") from None
        # the secret never goes into a message: only its key's line is named
        password = loader.scalar(secret, f"{key}.{registry}.{user}")
        found[host] = Credentials(user, password, f"ContainerImageRegistryCredentials in {loader.path}")
    return found


def parse_image_list(text: str, path: Path) -> list[ImageRequest]:
    """``- {image: nova-api, params: [ContainerNovaApiImage]}`` entries."""
    import yaml

    loader, root = compose_document(text, path)
    if not isinstance(root, yaml.SequenceNode) or not root.value:
        raise loader.fail(root, "", "expected a list of {image: NAME, params: [PARAMETER...]}")
    problems = Collector()
    found: list[ImageRequest] = []

    def one(i: int, node: Node) -> ImageRequest:
        fields = loader.mapping(node, f"[{i}]", ("image", "params", "image_source"))
        if "image" not in fields or "params" not in fields:
            raise loader.fail(node, f"[{i}]", "needs image and params")
        image = loader.scalar(fields["image"][1], f"[{i}].image")
        if not PATH_RE.fullmatch(image):
            raise loader.fail(fields["image"][1], f"[{i}].image", f"{image!r} is not an image name")
        params = tuple(p for p, _ in loader.strings(fields["params"][1], f"[{i}].params"))
        if not params:
            raise loader.fail(fields["params"][1], f"[{i}].params", "empty")
        source = loader.scalar(fields["image_source"][1], f"[{i}].image_source") if "image_source" in fields else None
        if source not in (None, CEPH, "kolla", "tripleo"):
            raise loader.fail(fields["image_source"][1], f"[{i}].image_source", f"{source!r}: ceph, kolla or tripleo")
        return ImageRequest(image, params, CEPH if source == CEPH else None)

    for i, node in enumerate(root.value):
        request = problems.check(partial(one, i, node))
        if request is not None:
            found.append(request)
    problems.raise_if_any(path)
    return found


__all__ = ["ImageRequest", "MalformedFile", "PrepareEntry", "PrepareFile", "choose", "destination",
           "discovered_tag", "parse_image_list", "parse_prepare_file"]
