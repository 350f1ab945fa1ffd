"""A registry set up as GitLab's is, for the whole-pipeline tests and the demo.

- the real registry over TLS, with a certificate from a private CA made with openssl, and token authentication:
  the realm is a JWT issuer on another port (also TLS, same CA), as GitLab's realm is on the GitLab host; the job
  user ``gitlab-ci-token`` with the job token as its password may pull, push and delete in the project's path;
- a second registry, TLS and htpasswd Basic auth, holding a private base image (credentials from
  ``DOCKER_AUTH_CONFIG``, as a project would set it);
- the CA installed where a runner host has it: ``/etc/containers/certs.d/<host:port>/ca.crt`` for both registries
  (removed again on stop). Nothing else: no login, no auth file.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ci_tags.oci.client import Registry
from ci_tags.oci.http import Http
from ci_tags.oci.registries import Registries
from ci_tags.oci.trust import Trust
from tests.support.auth import Grant, TokenIssuer, start_basic_registry
from tests.support.registry import RunningRegistry, start_registry
from tests.support.tls import PrivateCA, make_ca

CERTS_D = Path("/etc/containers/certs.d")
ADMIN = "registry-admin"


@dataclass
class GitLabLikeRegistry:
    ca: PrivateCA
    issuer: TokenIssuer
    registry: RunningRegistry  # TLS + token auth: CI_REGISTRY
    base_registry: RunningRegistry  # TLS + Basic auth: the private external base
    project_path: str
    job_token: str
    admin_password: str
    base_user: str
    base_password: str
    installed: list[Path] = field(default_factory=list)
    _clients: list[Registries] = field(default_factory=list)

    @property
    def ci_registry_image(self) -> str:
        return f"{self.registry.host}/{self.project_path}"

    def variables(self) -> dict[str, str]:
        """GitLab's predefined registry variables for a job of the project, plus the project's
        DOCKER_AUTH_CONFIG for the private base registry."""
        auth = base64.b64encode(f"{self.base_user}:{self.base_password}".encode()).decode()
        return {
            "CI_REGISTRY": self.registry.host,
            "CI_REGISTRY_IMAGE": self.ci_registry_image,
            "CI_REGISTRY_USER": "gitlab-ci-token",
            "CI_REGISTRY_PASSWORD": self.job_token,
            "CI_JOB_TOKEN": self.job_token,
            "DOCKER_AUTH_CONFIG": json.dumps({"auths": {self.base_registry.host: {"auth": auth}}}),
        }

    def secrets(self) -> list[str]:
        """Every secret of the set-up, in the forms it could leak in: passwords, Basic auth values, tokens."""
        found = [self.job_token, self.base_password, self.admin_password]
        for user, password in (("gitlab-ci-token", self.job_token), (self.base_user, self.base_password)):
            found.append(base64.b64encode(f"{user}:{password}".encode()).decode())
        found += [t.split(".")[2] for t in self.issuer.issued]  # a JWT's signature: no token without it
        return found

    def admin(self) -> Registry:
        """A client with every right on the main registry, for the tests' own checks."""
        regs = Registries(Http(trust=Trust({}, ca_cert=[str(self.ca.cert)])), {}, username=ADMIN,
                          password=self.admin_password)
        self._clients.append(regs)
        return regs.get(self.registry.host)

    def stop(self) -> None:
        for regs in self._clients:
            regs.http.close()
        self.registry.stop()
        self.base_registry.stop()
        self.issuer.close()
        for folder in self.installed:
            shutil.rmtree(folder, ignore_errors=True)


def install_ca(ca: PrivateCA, host: str) -> Path:
    """Trust ``ca`` for ``host`` machine-wide, as a runner host's administrator does."""
    folder = CERTS_D / host
    folder.mkdir(parents=True, exist_ok=True)  # a free port: only a crashed earlier run could have left it
    shutil.copyfile(ca.cert, folder / "ca.crt")
    return folder


def start_gitlab_like(root: Path, project_path: str = "group/project") -> GitLabLikeRegistry:
    ca = make_ca(root / "ca")
    job_token = f"glcbt-64_{secrets.token_urlsafe(16)}"
    admin_password = f"admin-{secrets.token_urlsafe(16)}"
    base_user, base_password = "base-reader", f"base-{secrets.token_urlsafe(16)}"
    issuer_cert = ca.issue("token-issuer")
    issuer = TokenIssuer(
        root / "issuer",
        users={"gitlab-ci-token": job_token, ADMIN: admin_password},
        grants={
            "gitlab-ci-token": [Grant(f"repository:{project_path}/*", frozenset({"pull", "push", "delete"})),
                                Grant(f"repository:{project_path}", frozenset({"pull", "push", "delete"}))],
            ADMIN: [Grant("repository:*", frozenset({"pull", "push", "delete"}))],
            "": [],
        },
        service="container_registry",
        issuer="gitlab-issuer",
        tls=(issuer_cert.cert, issuer_cert.key),
    )
    registry_cert = ca.issue("registry")
    registry = start_registry(root / "registry", auth=issuer.registry_auth(),
                              tls=(registry_cert.cert, registry_cert.key))
    base_cert = ca.issue("base-registry")
    base_registry = start_basic_registry(root / "base-registry", {base_user: base_password},
                                         tls=(base_cert.cert, base_cert.key))
    made = GitLabLikeRegistry(ca, issuer, registry, base_registry, project_path, job_token, admin_password,
                              base_user, base_password)
    made.installed = [install_ca(ca, registry.host), install_ca(ca, base_registry.host)]
    return made


def serve(work: Path) -> None:
    """For ``.ci/demo``: start the set-up under ``work``, push the private base image, write ``variables.yml``
    (what GitLab gives a job, for gitlab-ci-local), ``registry`` (the registry's host) and ``base`` (the base
    image's reference), then serve until terminated."""
    import signal
    import threading

    import yaml

    from tests.support.project import buildah_env, push_busybox_base

    made = start_gitlab_like(work / "registries")
    try:
        owner_auth = work / "owner-auth.json"
        owner_auth.write_text(made.variables()["DOCKER_AUTH_CONFIG"])
        env = {**buildah_env(work / "buildah-base")}
        base = push_busybox_base(made.base_registry.host, work, env, repository="private/busybox",
                                 push_args=("--authfile", str(owner_auth)))
        owner_auth.unlink()
        variables = {**made.variables(), "CI_DEFAULT_BRANCH": "main", "GITLAB_CI": "true"}
        (work / "variables.yml").write_text(yaml.safe_dump(variables))
        (work / "base").write_text(base)
        (work / "registry").write_text(made.registry.host)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()
    finally:
        made.stop()


if __name__ == "__main__":
    import sys

    serve(Path(sys.argv[1]))
