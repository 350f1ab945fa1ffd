"""Pipeline tags that expire by themselves: with ``expire_pipeline_tags: true`` in ci-tags.yml, each pipeline tag
plan, build or manifest makes is given an expiry of ``max_age`` through a service that removes tags by itself at
a set time (Quay: ``PUT .../tag/TAG`` with ``expiration``), so the janitor has nothing left to do for them."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ci_tags.backends import EXPIRES_TAGS, Where, backend_for, has
from ci_tags.backends.base import TagExpiry
from ci_tags.core.reference import parse_reference
from ci_tags.core.times import parse_duration
from ci_tags.errors import BadInput

if TYPE_CHECKING:
    from ci_tags.backends.base import Backend
    from ci_tags.oci.registries import Registries
    from ci_tags.project.config import Config


class Expiry:
    """Sets pipeline tags' expiry when the config asks for it (else does nothing); the backend of each registry
    host is built once, on first use."""

    def __init__(self, registries: Registries, config: Config) -> None:
        self.registries, self.config = registries, config
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()

    def __call__(self, repository: str, tag: str) -> None:
        """``repository``: ``host/path`` as ci-tags.yml names it."""
        if not self.config.expire_pipeline_tags:
            return
        host = parse_reference(repository).registry
        with self._lock:
            backend = self._backends.get(host)
            if backend is None:
                where = Where(host, self.registries, self.registries.env)
                backend = self._backends[host] = backend_for("auto", where)
        if not (has(backend, EXPIRES_TAGS) and isinstance(backend, TagExpiry)):
            raise BadInput(f"expire_pipeline_tags: {host} is served by the {backend.name} backend, which cannot "
                           "expire tags", hint="Quay can (with CI_TAGS_QUAY_TOKEN); else drop the setting and let "
                           "the janitor remove pipeline tags")
        when = datetime.now(timezone.utc) + parse_duration(self.config.max_age)
        backend.expire(parse_reference(repository).name, tag, when)
