"""The project's Jenkinsfile, proven without a Jenkins server (none runs here):

1. npm-groovy-lint 15 (CodeNarc, offline on the machine's Java) reports no error and no warning for it, with the
   repository's .groovylintrc.json; one run of the same lint reports an error for a copy with an unbalanced brace,
   so the lint test can fail.
2. What a user would notice, read from its text: the janitor runs before the plan, the plan's JSON is read with
   readJSON and run with a scripted ``parallel`` (declarative ``matrix`` cannot take a computed list), publish is
   guarded by the default branch and the build result, every ci-tags command gets the configured image set, and no
   secret can reach Groovy string interpolation.
3. ``ci-tags plan --jenkins-matrix`` on a small project against the real registry, with the variables a
   multibranch Jenkins build sets: every field of the JSON the Jenkinsfile reads exists in what plan writes, and
   pipeline tags differ between branches with the same build number.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
JENKINSFILE = ROOT / "Jenkinsfile"
LINT_CONFIG = ROOT / ".groovylintrc.json"


def code() -> str:
    """The Jenkinsfile without its comments, so prose cannot satisfy or break a check."""
    text = re.sub(r"/\*.*?\*/", "", JENKINSFILE.read_text(), flags=re.DOTALL)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def shell_strings() -> list[str]:
    """The text of every ``sh`` step: single- or triple-quoted literals, joined where they are concatenated."""
    found = []
    pattern = re.compile(r"""\bsh\s*\(?\s*((?:'''.*?'''|'(?:[^'\\\n]|\\.)*')(?:\s*\+\s*'(?:[^'\\\n]|\\.)*')*)""",
                         re.DOTALL)
    for match in pattern.finditer(code()):
        parts = re.findall(r"'''(.*?)'''|'((?:[^'\\\n]|\\.)*)'", match.group(1), flags=re.DOTALL)
        found.append("".join(a or b for a, b in parts))
    return found


# -- 1. the lint ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lint(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    """One npm-groovy-lint run (a JVM start costs ~15 s) over a copy of the Jenkinsfile and a copy with an
    unbalanced brace: (its JSON report, the copy's path, the broken copy's path)."""
    tool = shutil.which("npm-groovy-lint")
    if tool is None:
        pytest.skip("npm-groovy-lint is not installed (.ci/setup installs npm-groovy-lint@15)")
    # Both files under one folder: CodeNarc scans from the files' common folder, which must not be "/".
    work = tmp_path_factory.mktemp("lint")
    (work / "real").mkdir()
    (work / "broken").mkdir()
    real, broken = work / "real" / "Jenkinsfile", work / "broken" / "Jenkinsfile"
    text = JENKINSFILE.read_text()
    real.write_text(text)
    assert "\n    stages {\n" in text
    broken.write_text(text.replace("\n    stages {\n", "\n    stages {{\n", 1))
    done = subprocess.run(
        [tool, "--noserver", "--output", "json", "--failon", "none", "--config", str(LINT_CONFIG), str(real),
         str(broken)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, check=False, cwd=work,
    )
    assert done.returncode == 0, f"npm-groovy-lint failed to run:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout), real, broken


def findings(report: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    files = {str(Path(name).resolve()): found for name, found in report["files"].items()}
    assert str(path.resolve()) in files, f"{path} was not linted: {sorted(files)}"
    return list(files[str(path.resolve())]["errors"])


def test_the_jenkinsfile_lints_with_no_error_or_warning(lint: tuple[dict[str, Any], Path, Path]) -> None:
    report, real, _ = lint
    found = findings(report, real)
    serious = [f"{f['line']}: {f['severity']} {f['rule']}: {f['msg']}" for f in found
               if f["severity"] in ("error", "warning")]
    assert serious == []


def test_the_lint_reports_an_unbalanced_brace(lint: tuple[dict[str, Any], Path, Path]) -> None:
    report, _, broken = lint
    errors = [f for f in findings(report, broken) if f["severity"] == "error"]
    assert errors, "a Jenkinsfile that does not parse must be reported with an error"
    assert any(f["rule"] == "NglParseError" for f in errors)


# -- 2. what a user would notice -----------------------------------------------------------------------------------


def test_the_janitor_runs_before_the_plan_in_the_first_stage() -> None:
    text = code()
    janitor, plan = text.find("ci-tags janitor"), text.find("ci-tags plan")
    assert 0 <= janitor < plan, "the early stage runs ci-tags janitor, then ci-tags plan"
    assert text.find("stage('Plan')") < janitor < text.find("stage('Build')")
    assert "--jenkins-matrix" in text


def test_the_builds_come_from_the_plans_json_through_scripted_parallel() -> None:
    text = code()
    assert re.search(r"readJSON\s*\(?\s*file:\s*'ci-tags-matrix\.json',\s*returnPojo:\s*true", text)
    assert re.search(r"\bparallel\b", text)
    assert not re.search(r"\bmatrix\s*\{", text), "declarative matrix takes literal axes only"
    assert re.search(r"\bnode\s*\(\s*label\s*\)", text), "builds run on an agent chosen by label"


def test_publish_runs_only_on_the_default_branch_after_a_successful_build() -> None:
    text = code()
    start = text.index("stage('Publish')")
    stage = text[start : text.index("steps {", start)]
    when = stage[stage.index("when {") :]
    assert re.search(r"\bbranch\s+['\"]|env\.BRANCH_NAME\s*==\s*params\.CI_TAGS_DEFAULT_BRANCH", when)
    assert re.search(r"currentBuild\.currentResult\s*==\s*'SUCCESS'", when)
    assert "allOf" in when or when.count("expression") == 1
    assert "beforeAgent true" in when
    assert text.count("ci-tags publish") == 1 and text.index("ci-tags publish") > start
    assert re.search(r"string\(name: 'CI_TAGS_DEFAULT_BRANCH', defaultValue: 'main'", text)


def test_every_ci_tags_command_gets_the_configured_image_set() -> None:
    pattern = re.compile(r"\bci-tags (janitor|plan|build|manifest|publish)\b")
    commands = [s for s in shell_strings() if pattern.search(s)]
    assert {m[1] for s in commands for m in pattern.finditer(s)} == {"janitor", "plan", "build", "manifest", "publish"}
    for command in commands:
        assert '--config "$CI_TAGS_CONFIG"' in command, command
    assert re.search(r"string\(name: 'CI_TAGS_CONFIG', defaultValue: 'ci-tags.yml'", code())
    assert re.search(r"string\(name: 'CI_TAGS_MAX_AGE', defaultValue: '7d'", code())
    assert '--max-age "$CI_TAGS_MAX_AGE"' in " ".join(commands)


def test_no_secret_reaches_groovy_interpolation() -> None:
    text = code()
    double_quoted_sh = re.findall(r'\bsh\s*\(?\s*("""|")(.*?)\1', text, flags=re.DOTALL)
    assert [body for _, body in double_quoted_sh if "PASSWORD" in body or "TOKEN" in body] == []
    assert double_quoted_sh == [], "sh steps are single-quoted: the shell, not Groovy, expands variables"
    assert not re.search(r"\$\{[^}]*(PASSWORD|TOKEN)", text), "no secret in a GString"
    assert not re.search(r"\becho\b[^\n]*(PASSWORD|TOKEN)", text)
    for shell in shell_strings():
        assert "set -x" not in shell


def test_the_variables_bound_for_ci_tags_are_the_ones_it_reads() -> None:
    text = code()
    bound = re.findall(r"(?:usernameVariable|passwordVariable):\s*'(\w+)'", text)
    assert {"CI_TAGS_REGISTRY_USER", "CI_TAGS_REGISTRY_PASSWORD"} <= set(bound)
    assert re.search(r"usernamePassword\(credentialsId: params\.CI_TAGS_CREDENTIALS_ID", text)
    source = "\n".join(p.read_text() for p in (ROOT / "ci_tags").rglob("*.py"))
    for name in [*bound, "CI_TAGS_DEFAULT_BRANCH"]:
        assert re.search(rf"""env(\.get\(|\[)["']{name}["']""", source), f"ci-tags does not read {name}"


# -- 3. the JSON the Jenkinsfile reads is the JSON plan writes -----------------------------------------------------

# The Jenkinsfile's names for the plan's JSON: the whole document, one wave, one build of a wave.
JSON_VARIABLES = ("buildPlan", "wave", "imageBuild")


def fields_read() -> dict[str, set[str]]:
    """``{"wave": {"builds", "manifests"}, ...}``: every ``<variable>.<field>`` the Jenkinsfile reads."""
    read: dict[str, set[str]] = {v: set() for v in JSON_VARIABLES}
    for variable, name in re.findall(rf"\b({'|'.join(JSON_VARIABLES)})\.([A-Za-z_]\w*)", code()):
        read[variable].add(name)
    return read


def write_fixture(root: Path, registry: str) -> Path:
    """``base``, ``app`` FROM base (a second wave), and multi-arch ``tools`` whose arm64 builds need two labels."""
    for name, dockerfile in {
        "base": "FROM scratch\nCOPY base.txt /base.txt\n",
        "app": "FROM base\nCOPY app.txt /app.txt\n",
        "tools": "FROM scratch\nCOPY tools.txt /tools.txt\n",
    }.items():
        (root / name).mkdir(parents=True)
        (root / name / "Dockerfile").write_text(dockerfile)
        (root / name / f"{name}.txt").write_text(f"{name}\n")
    config = root / "ci-tags.yml"
    config.write_text(
        f"""registry: {registry}
images:
  base: {{dockerfile: base/Dockerfile}}
  app: {{dockerfile: app/Dockerfile}}
  tools: {{dockerfile: tools/Dockerfile, arches: [amd64, arm64]}}
publish: [latest]
runners: {{amd64: [], arm64: [arm64, docker]}}
"""
    )
    return config


def jenkins_env(branch: str, build_number: str) -> dict[str, str]:
    """What a multibranch Jenkins build sets for its steps (plus the Jenkinsfile's CI_TAGS_DEFAULT_BRANCH)."""
    return {
        "JENKINS_URL": "http://jenkins.invalid/",
        "JOB_NAME": f"project/{branch.replace('/', '%2F')}",
        "BRANCH_NAME": branch,
        "BUILD_NUMBER": build_number,
        "CI_TAGS_DEFAULT_BRANCH": "main",
    }


def plan_matrix(cli: Any, config: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    done = cli("plan", "--config", str(config), "--jenkins-matrix", str(out), env=env)
    assert done.code == 0, done.err
    return dict(json.loads(out.read_text()))


def assert_jenkinsfile_can_read(matrix: dict[str, Any]) -> None:
    read = fields_read()
    assert read["buildPlan"] and read["wave"] and read["imageBuild"], f"the Jenkinsfile reads {read}"
    assert read["buildPlan"] <= set(matrix), f"top level: reads {read['buildPlan']}, plan writes {set(matrix)}"
    assert matrix["waves"], "the fixture plans builds"
    for wave in matrix["waves"]:
        assert read["wave"] <= set(wave), f"a wave: reads {read['wave']}, plan writes {set(wave)}"
        assert wave["builds"], "every wave has builds"
        for build in wave["builds"]:
            assert read["imageBuild"] <= set(build), f"a build: reads {read['imageBuild']}, plan writes {set(build)}"
            assert all(isinstance(build[name], str) for name in read["imageBuild"])
        assert all(isinstance(name, str) for name in wave["manifests"])


def test_the_fields_the_jenkinsfile_reads_are_in_plans_json(cli: Any, registry: Any, tmp_path: Path) -> None:
    unique = hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]
    config = write_fixture(tmp_path / "project", f"{registry.host}/jenkins{unique}")
    feature = plan_matrix(cli, config, tmp_path / "feature.json", jenkins_env("feature/X", "7"))
    assert_jenkinsfile_can_read(feature)

    waves = [sorted((b["image"], b["arch"], b["label"]) for b in w["builds"]) for w in feature["waves"]]
    assert waves == [
        [("base", "amd64", ""), ("tools", "amd64", ""), ("tools", "arm64", "arm64 && docker")],
        [("app", "amd64", "")],
    ]
    assert [w["manifests"] for w in feature["waves"]] == [["tools"], []]

    # Build numbers are per branch: the same number on another branch must give another pipeline tag.
    main = plan_matrix(cli, config, tmp_path / "main.json", jenkins_env("main", "7"))
    assert {ref.rsplit(":", 1)[1] for ref in feature["images"].values()} == {"pipeline-feature-x-7"}
    assert {ref.rsplit(":", 1)[1] for ref in main["images"].values()} == {"pipeline-main-7"}


def test_the_projects_own_image_set_plans_what_the_jenkinsfile_reads(cli: Any, registry: Any, tmp_path: Path) -> None:
    """The Jenkinsfile's default config is the repository's own ci-tags.yml (ci-tags' own image)."""
    own = ROOT / "ci-tags.yml"
    if not own.is_file():
        pytest.skip("the repository has no ci-tags.yml yet")
    unique = hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]
    env = {**jenkins_env("main", "12"), "CI_REGISTRY_IMAGE": f"{registry.host}/own{unique}"}
    matrix = plan_matrix(cli, own, tmp_path / "own.json", env)
    assert_jenkinsfile_can_read(matrix)
    assert "ci-tags" in matrix["images"]
    assert matrix["images"]["ci-tags"].endswith(":pipeline-main-12")
