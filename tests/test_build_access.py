"""`ci-tags build` hands the builder the job's credentials and ci-tags' trust: a temporary auth file (0600 in a
private folder, removed afterwards) through REGISTRY_AUTH_FILE, and --cert-dir for a CA given with --ca-cert; no
secret on the builder's command line. Real buildah, a real TLS registry with token auth; a wrapper on PATH records
what buildah was given, then runs it."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.auth import TOKEN_USERS, TokenIssuer
from tests.support.project import buildah_env
from tests.support.registry import RunningRegistry, start_registry
from tests.support.tls import PrivateCA, make_ca

JOB_TOKEN = TOKEN_USERS["gitlab-ci-token"]
WRAPPER = """#!/bin/sh
# records what buildah is given, then runs the real one
{{
  printf 'argv:'; printf ' %s' "$@"; echo
  echo "authfile: $REGISTRY_AUTH_FILE"
  echo "authfile-mode: $(stat -c %a "$REGISTRY_AUTH_FILE")"
  echo "folder-mode: $(stat -c %a "$(dirname "$REGISTRY_AUTH_FILE")")"
  echo "hosts: $(python3 -c "$HOSTS_OF" "$REGISTRY_AUTH_FILE")"
}} >> "{log}"
exec {buildah} "$@"
"""


@pytest.fixture(scope="module")
def tls_token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningRegistry, PrivateCA]]:
    root = tmp_path_factory.mktemp("tls-token")
    ca = make_ca(root / "ca")
    issuer_cert, registry_cert = ca.issue("issuer"), ca.issue("registry")
    issuer = TokenIssuer(root / "issuer", tls=(issuer_cert.cert, issuer_cert.key))
    registry = start_registry(root / "registry", auth=issuer.registry_auth(),
                              tls=(registry_cert.cert, registry_cert.key))
    yield registry, ca
    registry.stop()
    issuer.close()


def test_build_hands_buildah_a_private_auth_file_and_the_ca(cli, tls_token_registry, tmp_path):
    registry, ca = tls_token_registry
    buildah = shutil.which("buildah")
    assert buildah, ".ci/setup installs buildah"
    env = buildah_env(tmp_path / "buildah")
    bin_dir, log = tmp_path / "bin", tmp_path / "buildah.log"
    bin_dir.mkdir()
    (bin_dir / "buildah").write_text(WRAPPER.format(log=log, buildah=buildah))
    (bin_dir / "buildah").chmod(0o755)
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (tmp_path / "docker" / "hello.txt").write_text("hello\n")
    (tmp_path / "ci-tags.yml").write_text(
        f"registry: {registry.host}/gitlab/project\nimages:\n  hello:\n    dockerfile: docker/Dockerfile\n")
    # the user's own docker config, with credentials for an unrelated host: merged in, never written to
    user_config = tmp_path / "home-docker" / "config.json"
    user_config.parent.mkdir()
    user_config.write_text(json.dumps({"auths": {"other.example.com": {"auth": "b3RoZXI6cHc="}}}))
    before = user_config.read_bytes()
    (tmp_path / "tmp").mkdir()
    env |= {
        "PATH": f"{bin_dir}:{env['PATH']}",
        "TMPDIR": str(tmp_path / "tmp"),
        "DOCKER_CONFIG": str(user_config.parent),
        "CI_REGISTRY": registry.host,
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": JOB_TOKEN,
        "CI_PIPELINE_IID": "7",
        "GITLAB_CI": "true",
        "HOSTS_OF": 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["auths"])))',
    }
    result = cli("build", "hello", "--ca-cert", str(ca.cert), "--debug", env=env)
    assert result.code == 0, result.err[-3000:]
    assert f"{registry.host}/gitlab/project/hello:pipeline-7 -> sha256:" in result.out
    recorded = log.read_text()
    calls = [line for line in recorded.splitlines() if line.startswith("argv:")]
    # rmi: the pushed image leaves local storage (build --keep-image keeps it); it talks to no registry
    assert [c.split()[1] for c in calls] == ["bud", "push", "rmi"]
    assert all("--cert-dir" in c for c in calls[:2]) and not any("--tls-verify=false" in c for c in calls)
    assert JOB_TOKEN not in recorded
    assert set(line for line in recorded.splitlines() if "mode" in line) == {"authfile-mode: 600",
                                                                                "folder-mode: 700"}
    assert f"hosts: {registry.host} other.example.com" in recorded
    auth_files = {line.split(": ", 1)[1] for line in recorded.splitlines() if line.startswith("authfile:")}
    assert len(auth_files) == 1 and not Path(auth_files.pop()).exists()
    assert os.listdir(tmp_path / "tmp") == []
    assert user_config.read_bytes() == before
    assert JOB_TOKEN not in result.out + result.err
