"""Docker Hub's names, in one place. References name it ``docker.io`` (or the older ``index.docker.io``), its
distribution API answers at ``registry-1.docker.io``, Docker's auth files key it by its v1 URL, and its own HTTP
API (tag dates, deletion) lives at ``hub.docker.com``. One-component names are official images under ``library/``."""

from __future__ import annotations

DOCKER_HUB = "docker.io"  # the registry name of a reference
DOCKER_HUB_INDEX = "index.docker.io"  # the older name, still found in references and auth files
DOCKER_HUB_API_HOST = "registry-1.docker.io"  # where the distribution API answers
DOCKER_HUB_HOSTS = frozenset({DOCKER_HUB, DOCKER_HUB_INDEX, DOCKER_HUB_API_HOST})
DOCKER_HUB_V1_KEY = f"https://{DOCKER_HUB_INDEX}/v1/"  # Docker's config.json key for Docker Hub
# every key an auth file may hold Docker Hub's entry under, the one Docker writes first
DOCKER_HUB_AUTH_KEYS = (DOCKER_HUB_V1_KEY, DOCKER_HUB_INDEX, DOCKER_HUB, DOCKER_HUB_API_HOST)
DOCKER_HUB_API_URL = "https://hub.docker.com"  # Docker Hub's own API: tags with dates, deletion
OFFICIAL_NAMESPACE = "library"  # docker.io/alpine is docker.io/library/alpine


def is_docker_hub(host: str) -> bool:
    return host in DOCKER_HUB_HOSTS
