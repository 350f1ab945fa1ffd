"""The interface every tag backend implements, and the small pieces the backends share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ci_tags.core.times import parse_time as parse_time  # the backends' API times: one parser for all of ci-tags


@dataclass(frozen=True)
class TagRecord:
    """One tag of a repository, with what the service knows about it.

    ``pushed_at`` is when the tag was pushed (Docker Hub's ``tag_last_pushed``, GitLab's ``published_at``);
    ``created_at`` is when the image's manifest was created (GitLab's ``created_at``). They differ for a tag
    copied by metadata: a pipeline tag pushed today onto a month-old image has a month-old ``created_at``, so
    age-based cleanup must not read ``created_at`` as the tag's age. Both are timezone-aware or None.
    """

    tag: str
    digest: str | None
    pushed_at: datetime | None
    created_at: datetime | None = None


class Backend(Protocol):
    """Lists repositories and tags of one service and removes single tags from it. What it can do beyond that is
    its row's capabilities in the backend table (ci_tags/backends/__init__.py)."""

    name: str

    def repositories(self, namespace: str, prefix: str) -> list[str]:
        """Full repository paths (``host/namespace/name``) under ``namespace`` whose name (the part after
        ``namespace/``) starts with ``prefix``, sorted; every page is read."""
        ...

    def tags(self, repository: str) -> list[TagRecord]:
        """Every tag of a repository (a full path as :meth:`repositories` gives); every page is read."""
        ...

    def tag_names(self, repository: str) -> set[str]:
        """The names of every tag, as cheaply as the service allows (no per-tag detail): for checks."""
        ...

    def delete_tag(self, repository: str, tag: str) -> None:
        """Remove that tag and nothing else, whatever other tags share its digest; NotFound when absent."""
        ...


@runtime_checkable
class TagDetail(Protocol):
    """A backend whose tag listing may lack dates, with a request per tag for the detail (GitLab's API): the
    janitor then asks for the details it needs only (ci_tags/services/janitor/service_api.py)."""

    def tag_listing(self, repository: str) -> list[TagRecord]:
        """Every tag, with what the listing alone says (possibly no digest and no dates)."""
        ...

    def tag_record(self, repository: str, tag: str) -> TagRecord | None:
        """One tag's detail; None when it is gone."""
        ...


@runtime_checkable
class TagExpiry(Protocol):
    """A backend whose service removes a tag by itself at a set time (the ``expires-tags`` capability: Quay)."""

    def expire(self, repository: str, tag: str, when: datetime) -> None:
        """Have the service remove ``tag`` of ``repository`` (``host/path``) at ``when``."""
        ...


def is_complete(record: TagRecord) -> bool:
    """Whether a record has a digest and a date, so no detail request can tell more."""
    return bool(record.digest and (record.pushed_at or record.created_at))


def name_after(path: str, namespace: str) -> str | None:
    """The part of a repository path after ``namespace/`` ("" for the namespace itself); None when the path
    is not under the namespace. An empty namespace holds every path."""
    namespace = namespace.strip("/")
    if not namespace:
        return path
    if path == namespace:
        return ""
    if path.startswith(namespace + "/"):
        return path[len(namespace) + 1 :]
    return None
