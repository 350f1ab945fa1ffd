"""Image names as the commands that take repositories (tags, inspect, retag, untag) read them, the way build
and janitor do: a name that starts with a registry host is a full repository; any other is an image of
ci-tags.yml (``debian10``, ``debian10:v1``, ``qemu/debian10@sha256:...``) when there is one, never a Docker Hub
name there. The file is read only for such a name: a full repository needs nothing from it (not even the
variable its ``registry:`` names)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ci_tags.core.reference import Reference, names_a_host, parse_destination, parse_reference
from ci_tags.errors import BadInput

if TYPE_CHECKING:
    from ci_tags.project.config import Config

CONFIG_FILE = "ci-tags.yml"


def split_name(text: str) -> tuple[str, str]:
    """``debian10:v1`` -> (``debian10``, ``:v1``); ``a/b@sha256:..`` -> (``a/b``, ``@sha256:..``)."""
    name, at, digest = text.partition("@")
    rest = at + digest
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
        rest = f":{tag}{rest}"
    return name, rest


class SetNames:
    """Reads references, resolving set image names through ``config_path`` (loaded once, when first needed)."""

    def __init__(self, env: Mapping[str, str], config_path: Path = Path(CONFIG_FILE)) -> None:
        self.env = env
        self.config_path = config_path
        self._config: Config | None = None

    def config(self) -> Config | None:
        if self._config is None and self.config_path.is_file():
            from ci_tags.project.config import load_config

            self._config = load_config(self.config_path, self.env)
        return self._config

    def reference(self, text: str) -> Reference:
        """The reference ``text`` names: a set image's repository, or ``text`` as Docker reads it."""
        if names_a_host(text):
            return parse_reference(text)
        config = self.config()
        if config is None:
            return parse_reference(text)
        name, rest = split_name(text)
        if name not in config.images:
            try:
                config.image(name)
            except BadInput as exc:
                hint = f"{exc.hint}; a Docker Hub image is written docker.io/{text}" if exc.hint else None
                raise BadInput(f"{exc.message} (with a ci-tags.yml, a name without a registry host is one of its "
                               "images)", hint=hint) from None
        return parse_reference(config.repository(name) + rest)

    def destination(self, text: str, source: Reference) -> Reference:
        """A retag destination: a bare tag (``v1``, ``:v1``) stays in ``source``'s repository."""
        if text.startswith(":") or ("/" not in text and ":" not in text and "@" not in text):
            return parse_destination(text, source)
        return parse_destination(str(self.reference(text)), source)


def names_only_hosts(names: tuple[str, ...]) -> bool:
    """Whether every name given starts with a registry host: the run needs no registry from ci-tags.yml."""
    return bool(names) and all(names_a_host(n) for n in names)
