"""Proven with the tools people sign and attach with: cosign 2.6.5 signs and attests, oras 1.3.6 attaches an SBOM,
on the real distribution 2.8 registry; ci-tags promotes (and retags) the image to another registry; cosign verifies
the signature and the attestation there and oras discovers the SBOM. The janitor then removes the graph of the
image it leaves without a tag and keeps the one a kept tag holds. oras also attaches through the fake referrers
API (tests/support/fake_referrers.py), where it writes no tag schema index, and ci-tags carries that SBOM.

cosign and oras are built by .ci/go-tools into /opt/ci-tags-tools/bin (CI has them); without them these tests are
skipped, saying so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ci_tags.core.graph import referrers_tag
from tests.support.fake_referrers import ReferrersFront
from tests.support.images import push_image
from tests.support.janitor_setup import ago, content
from tests.support.referrers import cosign_tag

TOOLS = Path(os.environ.get("CI_TAGS_TOOLS_DIR", "/opt/ci-tags-tools")) / "bin"  # where .ci/go-tools puts them


def tool(name: str) -> str:
    found = TOOLS / name if (TOOLS / name).exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed ({TOOLS}/{name}): .ci/go-tools builds it where Go is available "
                    "(CI has it; a Debian without Go does not)")
    return str(found)


@pytest.fixture
def signer(tmp_path: Path):
    """A cosign key pair, and a runner of the tools in ``tmp_path`` with HOME there (no user config read)."""
    cosign = tool("cosign")
    env = {"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""), "COSIGN_PASSWORD": "graph-test",
           "COSIGN_YES": "true", "DOCKER_CONFIG": str(tmp_path / "docker")}
    subprocess.run([cosign, "generate-key-pair"], cwd=tmp_path, env=env, check=True, capture_output=True)

    def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(list(argv), cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
        if check:
            assert done.returncode == 0, f"{argv[:2]}: {done.stderr[-1500:]}"
        return done

    return run


INSECURE = ("--allow-insecure-registry", "--allow-http-registry")


def sign_attest_attach(run, ref: str, tmp: Path, *, sbom: bool = True) -> None:
    cosign = tool("cosign")
    run(cosign, "sign", "--key", "cosign.key", "--tlog-upload=false", *INSECURE, ref)
    (tmp / "provenance.json").write_text(json.dumps({"builder": {"id": "https://ci.example.com"},
                                                     "buildType": "https://ci.example.com/build"}))
    run(cosign, "attest", "--key", "cosign.key", "--predicate", "provenance.json", "--type", "slsaprovenance",
        "--tlog-upload=false", *INSECURE, ref)
    if sbom:
        (tmp / "sbom.spdx.json").write_text(json.dumps({"spdxVersion": "SPDX-2.3", "name": ref}))
        run(tool("oras"), "attach", "--plain-http", "--artifact-type", "application/spdx+json", ref,
            "sbom.spdx.json")


def verified(run, ref: str) -> None:
    cosign = tool("cosign")
    run(cosign, "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", *INSECURE, ref)
    run(cosign, "verify-attestation", "--key", "cosign.pub", "--type", "slsaprovenance", "--insecure-ignore-tlog",
        *INSECURE, ref)


def discovered(run, ref: str) -> list[str]:
    done = run(tool("oras"), "discover", "--plain-http", "--format", "json", ref)
    return [r["artifactType"] for r in json.loads(done.stdout).get("referrers") or []]


def test_a_promoted_image_verifies_and_discovers_in_the_other_registry(reg, registry, registry2, signer, cli,
                                                                       tmp_path):
    image = push_image(reg, "tools/app", "build-7").manifest
    sign_attest_attach(signer, f"{registry.host}/tools/app@{image.digest}", tmp_path)
    (tmp_path / "promote.yml").write_text(
        f"images:\n  - name: {registry2.host}/tools/release\n    tag: '1.0'\n    src_ref: https://example.com/7\n"
        f"    source: {registry.host}/tools/app:build-7\n")
    result = cli("promote", str(tmp_path / "promote.yml"))
    assert result.code == 0, result.err
    assert "carried 3 parts of its graph (1 attestation, 1 referrer, 1 signature)" in result.out
    dst = f"{registry2.host}/tools/release@{image.digest}"
    verified(signer, dst)
    assert discovered(signer, dst) == ["application/spdx+json"]
    # without the graph, cosign finds no signature there
    result = cli("retag", f"{registry.host}/tools/app:build-7", f"{registry2.host}/tools/bare:1.0", "--no-referrers")
    assert result.code == 0, result.err
    bare = signer(tool("cosign"), "verify", "--key", "cosign.pub", "--insecure-ignore-tlog", *INSECURE,
                  f"{registry2.host}/tools/bare@{image.digest}", check=False)
    assert bare.returncode != 0


def test_retag_to_another_repository_verifies_there(reg, registry, signer, cli, tmp_path):
    image = push_image(reg, "tools/retag-src", "v1").manifest
    sign_attest_attach(signer, f"{registry.host}/tools/retag-src@{image.digest}", tmp_path)
    result = cli("retag", f"{registry.host}/tools/retag-src:v1", f"{registry.host}/tools/retag-dst:v1")
    assert result.code == 0, result.err
    verified(signer, f"{registry.host}/tools/retag-dst@{image.digest}")
    assert discovered(signer, f"{registry.host}/tools/retag-dst@{image.digest}") == ["application/spdx+json"]


def test_the_janitor_removes_the_graph_cosign_and_oras_left_on_an_image_it_untagged(reg, registry, signer, cli,
                                                                                   tmp_path):
    repo = "tools/janitor"
    gone = push_image(reg, repo, content(1), created=ago(30)).manifest
    held = push_image(reg, repo, content(2), created=ago(30)).manifest
    reg.put_manifest(repo, "stable", held)
    sign_attest_attach(signer, f"{registry.host}/{repo}@{gone.digest}", tmp_path)
    sign_attest_attach(signer, f"{registry.host}/{repo}@{held.digest}", tmp_path)
    dry = cli("janitor", f"{registry.host}/{repo}", "--dry-run")
    assert dry.code == 0, dry.err
    assert f"would remove {registry.host}/{repo}:{cosign_tag(gone.digest, '.sig')} (signature of {gone.digest}" \
        in dry.out
    result = cli("janitor", f"{registry.host}/{repo}", "--json")
    assert result.code == 0, result.err
    tags = set(reg.tags(repo))
    assert not {cosign_tag(gone.digest, ".sig"), cosign_tag(gone.digest, ".att"), referrers_tag(gone.digest)} & tags
    assert {cosign_tag(held.digest, ".sig"), cosign_tag(held.digest, ".att"), referrers_tag(held.digest)} <= tags
    verified(signer, f"{registry.host}/{repo}:stable")
    assert discovered(signer, f"{registry.host}/{repo}@{held.digest}") == ["application/spdx+json"]
    assert discovered(signer, f"{registry.host}/{repo}@{gone.digest}") == []


def test_oras_on_a_registry_with_the_referrers_api_and_a_copy_from_it(reg, registry, registry2, signer, cli,
                                                                       closing, tmp_path):
    front = closing(ReferrersFront(registry.url))
    image = push_image(reg, "tools/api-src", "v1").manifest
    ref = f"{front.host}/tools/api-src@{image.digest}"
    sign_attest_attach(signer, ref, tmp_path)
    assert referrers_tag(image.digest) not in reg.tags("tools/api-src")  # oras used the API, no tag schema index
    assert discovered(signer, ref) == ["application/spdx+json"]
    result = cli("retag", f"{front.host}/tools/api-src:v1", f"{registry2.host}/tools/api-dst:v1", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["carried"]["listed_by"] == "referrers-tag"
    dst = f"{registry2.host}/tools/api-dst@{image.digest}"
    verified(signer, dst)
    assert discovered(signer, dst) == ["application/spdx+json"]
