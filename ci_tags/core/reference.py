"""Image references, tags and branch slugs: pure parsing and validation, no I/O.

References are parsed and normalised the way Docker does: a first path component is a registry host when it
contains a dot or a colon or is ``localhost``; otherwise the image is on Docker Hub (``docker.io``), where
one-component names live under ``library/``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from ci_tags.core.hosts import DOCKER_HUB, DOCKER_HUB_API_HOST, DOCKER_HUB_INDEX, OFFICIAL_NAMESPACE
from ci_tags.errors import BadInput

TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_COMPONENT = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
DOMAIN_RE = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?")
DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Fa-f0-9]{32,}")
SHA256_RE = re.compile(r"sha256:[a-f0-9]{64}")
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class Reference:
    """A parsed image reference: ``registry/repository[:tag][@digest]``."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository``, with no tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def api_host(self) -> str:
        """The host that serves the registry API (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API_HOST if self.registry == DOCKER_HUB else self.registry

    @property
    def identifier(self) -> str:
        """What to ask the manifests endpoint for: the digest when pinned, else the tag (``latest`` if none)."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> Reference:
        return replace(self, tag=validate_tag(tag), digest=None)

    def with_digest(self, digest: str) -> Reference:
        return replace(self, tag=None, digest=validate_digest(digest))

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid Docker tag, else raise :class:`BadInput` saying why."""
    if not TAG_RE.fullmatch(tag):
        if not tag:
            why = "it is empty"
        elif len(tag) > 128:
            why = f"it is {len(tag)} characters long, at most 128 are allowed"
        elif tag[0] in ".-":
            why = f"it starts with {tag[0]!r}"
        else:
            bad = sorted({c for c in tag if not re.fullmatch(r"[A-Za-z0-9_.-]", c)})
            why = f"it contains {', '.join(repr(c) for c in bad)}"
        raise BadInput(f"invalid tag {tag!r}: {why}", hint="tags match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
    return tag


def validate_digest(digest: str) -> str:
    if not DIGEST_RE.fullmatch(digest):
        raise BadInput(f"invalid digest {digest!r}", hint="expected algorithm:hex, e.g. sha256:<64 hex digits>")
    if digest.startswith("sha256:") and not SHA256_RE.fullmatch(digest):
        raise BadInput(f"invalid digest {digest!r}: sha256 digests are 64 lowercase hex digits")
    return digest


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first == first.lower()):
        return DOCKER_HUB, name
    if first == DOCKER_HUB_INDEX:
        first = DOCKER_HUB
    return first, rest


def names_a_host(name: str) -> bool:
    """Whether a reference starts with a registry host (Docker's rule: a first part with '.' or ':', or
    localhost); otherwise Docker sends it to Docker Hub and ci-tags reads it as an image of ci-tags.yml."""
    first, slash, _ = name.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def parse_reference(text: str) -> Reference:
    """Parse and normalise an image reference, raising :class:`BadInput` for an invalid one."""
    original = text
    if not text or text != text.strip():
        raise BadInput(f"invalid image reference {original!r}: empty or surrounded by spaces")
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        validate_digest(digest)
    tag = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1 :]
        try:
            validate_tag(tag)
        except BadInput as exc:
            raise BadInput(f"invalid image reference {original!r}: {exc.message}") from None
    registry, path = _split_domain(text)
    if registry != DOCKER_HUB and not DOMAIN_RE.fullmatch(registry):
        raise BadInput(f"invalid image reference {original!r}: bad registry host {registry!r}")
    port = registry.rpartition(":")[2] if not registry.endswith("]") and ":" in registry else None
    if port is not None and (len(port) > 5 or not 0 < int(port) < 65536):
        raise BadInput(f"invalid image reference {original!r}: port {port} is outside 1-65535")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"{OFFICIAL_NAMESPACE}/{path}"
    if not PATH_RE.fullmatch(path):
        why = "repository names are lowercase" if path != path.lower() else "bad repository name"
        raise BadInput(f"invalid image reference {original!r}: {why} ({path!r})")
    if len(f"{registry}/{path}") > MAX_NAME_LENGTH:
        raise BadInput(f"invalid image reference {original!r}: name longer than {MAX_NAME_LENGTH} characters")
    return Reference(registry=registry, repository=path, tag=tag, digest=digest)


def parse_destination(text: str, source: Reference) -> Reference:
    """A retag destination: a full reference, or a bare tag (``name`` or ``:name``) in the source repository."""
    bare = text[1:] if text.startswith(":") else text
    if text.startswith(":") or ("/" not in text and ":" not in text and "@" not in text):
        return Reference(source.registry, source.repository, tag=validate_tag(bare))
    dest = parse_reference(text)
    if dest.digest:
        raise BadInput(f"invalid destination {text!r}: a destination is a tag, not a digest")
    return dest


def is_loopback_host(registry: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``[::1]`` registries (any port)."""
    host = registry
    if host.startswith("["):
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def slugify(branch: str) -> str:
    """The branch name as GitLab computes ``CI_COMMIT_REF_SLUG``; an empty result is bad input.

    Lowercase, every character outside ``[a-z0-9]`` becomes ``-``, cut to 63 characters, then leading and
    trailing ``-`` removed.
    """
    slug = re.sub(r"[^a-z0-9]", "-", branch.lower())[:63].strip("-")
    if not slug:
        raise BadInput(
            f"branch name {branch!r} gives an empty slug",
            hint="a slug keeps only letters and digits; the name has none in its first 63 characters",
        )
    return slug


def validate_repository_ref(repository: str, ref: str) -> None:
    """Every repository path and reference is checked before it goes into a URL: ``../`` or a space in a tag
    would otherwise be normalised into another repository's path, or half a batch written before a failure."""
    if not PATH_RE.fullmatch(repository):
        raise BadInput(f"invalid repository path {repository!r}")
    if ":" in ref:
        validate_digest(ref)
    else:
        validate_tag(ref)


def local_build_name(repository: str, pipeline_id: str, arch: str, token: str) -> str:
    """The name one build gives its image in local container storage: ``<repository>:build-<pipeline id>-<arch>-
    <token>`` (``token`` random, per build). Never the content tag: two builds of one content tag on one host share
    the storage, and a shared name is taken from one by the other before it pushes or removes it."""
    pipeline = re.sub(r"[^A-Za-z0-9_.-]", "-", pipeline_id)[:80]
    return f"{repository}:{validate_tag(f'build-{pipeline}-{arch}-{token}')}"
