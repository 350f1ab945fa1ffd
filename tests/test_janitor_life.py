"""The janitor as a project's pipelines meet it: typos fail loudly, names as ci-tags.yml gives them, one line per
cause of failure, each removal in the log as it happens, and a stop (SIGTERM/SIGINT) that leaves a record."""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ci_tags.core.manifest import ANNOTATION_CREATED, ANNOTATION_KIND
from ci_tags.oci.stamp import stamp
from tests.support.images import in_parallel, push_image
from tests.support.proxy import RegistryFront


def ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def expired_pipeline_tags(reg, repo: str, count: int) -> list[str]:
    image = push_image(reg, repo, "hash-" + "e" * 64, created=ago(1))
    tags = [f"pipeline-{n}" for n in range(count)]
    in_parallel(lambda n: stamp(reg, repo, image.manifest, tags[n], {ANNOTATION_KIND: "pipeline",
                                                                     ANNOTATION_CREATED: ago(40 - n * 0.1)},
                                "amd64"), range(count))
    return tags


def write_config(root: Path, registry: str) -> Path:
    (root / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (root / "a.txt").write_text("a\n")
    config = root / "ci-tags.yml"
    config.write_text(f"registry: {registry}\nimages:\n  app:\n    dockerfile: Dockerfile\n")
    return config


def test_a_repository_that_does_not_exist_is_an_error_not_a_clean_run(registry, cli):
    result = cli("janitor", f"{registry.host}/typo/repo", "--dry-run")
    assert result.code == 4, (result.out, result.err)
    assert "no such repository" in result.err and f"{registry.host}/typo/repo" in result.err


def test_prune_over_a_namespace_without_repositories_says_so(registry, cli, unique):
    result = cli("prune", f"{registry.host}/{unique('no-such-namespace')}", "--tag", "5.0.0", "--dry-run")
    assert result.code == 4 and "no repository under" in result.err


def test_janitor_takes_image_names_of_ci_tags_yml_and_never_sends_a_bare_name_to_docker_hub(reg, registry, cli,
                                                                                            tmp_path):
    write_config(tmp_path, f"{registry.host}/names")
    # an image of the set never pushed (a first pipeline): nothing to clean, not an error
    first = cli("janitor", "app", "--dry-run", "--json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["repositories"][0]["repository"] == f"{registry.host}/names/app"
    expired_pipeline_tags(reg, "names/app", 2)
    named = cli("janitor", "app", "--dry-run", "--json")
    assert json.loads(named.out)["repositories"][0]["removed"] == ["pipeline-0", "pipeline-1"]
    typo = cli("janitor", "ap", "--dry-run")
    assert typo.code == 2 and "unknown image 'ap'" in typo.err and "did you mean 'app'" in typo.err
    assert "docker.io" not in typo.err + typo.out
    # a full repository outside the set must exist
    other = cli("janitor", f"{registry.host}/names/other", "--dry-run")
    assert other.code == 4 and "no such repository" in other.err


def test_a_registry_refusing_deletes_is_one_line_not_one_per_tag(reg, registry, cli, closing):
    repo = "life/refusing"
    tags = expired_pipeline_tags(reg, repo, 12)

    def refuse(method, path, query):
        if method == "DELETE":
            return 405, {"Content-Type": "application/json"}, b'{"errors":[{"code":"UNSUPPORTED"}]}'
        return None

    front = closing(RegistryFront(registry.url, refuse))
    result = cli("janitor", f"{front.host}/{repo}")
    assert result.code == 1
    warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.err
    assert "12 tag(s) not removed" in warnings[0]
    assert sorted(reg.tags(repo)) == sorted([*tags, "hash-" + "e" * 64])  # nothing lost


def test_each_removal_is_in_the_log_as_it_happens_and_sigterm_stops_with_a_summary(reg, registry, tmp_path, closing):
    """A job killed by its timeout: the janitor gets SIGTERM, starts no more removals, finishes those in flight,
    prints the summary and exits 143; its log names exactly the tags that are gone. The signal comes while the
    second removal's DELETE is in flight (sent by the proxy as that request arrives: no clock involved)."""
    repo = "life/killed"
    tags = expired_pipeline_tags(reg, repo, 60)
    janitor: list[subprocess.Popen[str]] = []
    started = threading.Event()  # the process is in ``janitor``
    deletes = itertools.count(1)

    def term_at_second_delete(method, path, query):
        if method == "DELETE" and next(deletes) == 2:
            assert started.wait(60)
            janitor[0].send_signal(signal.SIGTERM)
        return None

    front = closing(RegistryFront(registry.url, term_at_second_delete))
    command = str(Path(sys.executable).parent / "ci-tags")
    proc = subprocess.Popen([command, "janitor", f"{front.host}/{repo}", "--concurrency", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    janitor.append(proc)
    started.set()
    assert proc.stdout is not None
    lines = [proc.stdout.readline()]  # the first removal, printed as it happened
    assert lines[0].startswith(f"removed {front.host}/{repo}:pipeline-"), lines
    assert re.search(r"\(expired: tagged (39|40)d\S* ago \(stamp\) > 7d\)$", lines[0]), lines  # age and rule
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    log = lines[0] + out
    logged = {line.split(":", 2)[2].split(" ")[0] for line in log.splitlines() if line.startswith("removed ")}
    gone = set(tags) - set(reg.tags(repo))
    assert logged == gone and 0 < len(gone) < len(tags)
    assert "SIGTERM: stopped starting removals" in err
    assert "# ci-tags janitor" in out  # the summary follows
