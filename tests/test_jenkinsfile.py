"""The Jenkins side, proven without a Jenkins server (none runs here); tests/test_jenkins_library.py runs the
library itself under a Groovy harness.

1. npm-groovy-lint 15 (CodeNarc, offline on the machine's Java) reports no error and no warning for the root
   Jenkinsfile and every step of the shared library (vars/), with the repository's .groovylintrc.json; the same run
   reports an error for a copy with an unbalanced brace, so the lint test can fail.
2. What the text must hold that a run cannot show: no secret can reach Groovy string interpolation, no ``set -x``,
   the variables bound for ci-tags are the ones it reads, every ci-tags command gets the configured image set, and
   the root Jenkinsfile loads the library from its own checkout and passes only parameters the library knows.
3. ``ci-tags plan --jenkins-matrix`` on a small project against the real registry, with the variables a
   multibranch Jenkins build sets: every field of the JSON the library reads exists in what plan writes, and
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

import ci_tags

ROOT = Path(__file__).resolve().parent.parent
JENKINSFILE = ROOT / "Jenkinsfile"
LIBRARY = sorted((ROOT / "vars").glob("*.groovy"))
GROOVY = [JENKINSFILE, *LIBRARY]
LINT_CONFIG = ROOT / ".groovylintrc.json"


def code(path: Path) -> str:
    """A Groovy file without its comments, so prose cannot satisfy or break a check."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.DOTALL)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def library_code() -> str:
    return "\n".join(code(p) for p in LIBRARY)


def shell_strings() -> list[str]:
    """The text of every ``sh`` step of the library: single- or triple-quoted literals, joined where concatenated."""
    found = []
    pattern = re.compile(r"""\bsh\s*\(?\s*((?:'''.*?'''|'(?:[^'\\\n]|\\.)*')(?:\s*\+\s*'(?:[^'\\\n]|\\.)*')*)""",
                         re.DOTALL)
    for match in pattern.finditer(library_code()):
        parts = re.findall(r"'''(.*?)'''|'((?:[^'\\\n]|\\.)*)'", match.group(1), flags=re.DOTALL)
        found.append("".join(a or b for a, b in parts))
    return found


# -- 1. the lint ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lint(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Path], Path]:
    """One npm-groovy-lint run (a JVM start costs ~15 s) over copies of the Jenkinsfile and the library's steps and
    a copy of ciTagsPipeline with an unbalanced brace: (its JSON report, the copies' paths, the broken copy)."""
    tool = shutil.which("npm-groovy-lint")
    if tool is None:
        pytest.skip("npm-groovy-lint is not installed (.ci/setup installs npm-groovy-lint@15)")
    # All files under one folder: CodeNarc scans from the files' common folder, which must not be "/".
    work = tmp_path_factory.mktemp("lint")
    (work / "real" / "vars").mkdir(parents=True)
    (work / "broken").mkdir()
    copies = [work / "real" / p.relative_to(ROOT) for p in GROOVY]
    for source, copy in zip(GROOVY, copies, strict=True):
        copy.write_text(source.read_text())
    broken = work / "broken" / "ciTagsPipeline.groovy"
    text = (ROOT / "vars" / "ciTagsPipeline.groovy").read_text()
    assert "    stage('ci-tags plan') {\n" in text
    broken.write_text(text.replace("    stage('ci-tags plan') {\n", "    stage('ci-tags plan') {{\n", 1))
    done = subprocess.run(
        [tool, "--noserver", "--output", "json", "--failon", "none", "--config", str(LINT_CONFIG),
         *map(str, copies), str(broken)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=180, check=False, cwd=work,
    )
    assert done.returncode == 0, f"npm-groovy-lint failed to run:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout), copies, broken


def findings(report: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    files = {str(Path(name).resolve()): found for name, found in report["files"].items()}
    assert str(path.resolve()) in files, f"{path} was not linted: {sorted(files)}"
    return list(files[str(path.resolve())]["errors"])


def test_there_is_a_library_with_the_steps_the_docs_name() -> None:
    names = {p.stem for p in LIBRARY}
    assert {"ciTagsPipeline", "ciTagsPlan", "ciTagsBuild", "ciTagsManifest", "ciTagsPublish", "ciTagsJanitor",
            "ciTagsWaves", "ciTagsNode"} <= names
    page = (ROOT / "docs" / "getting-started" / "jenkins.md").read_text()
    for name in names:
        assert f"`{name}" in page, f"docs/getting-started/jenkins.md does not describe {name}"


def test_the_jenkinsfile_and_the_library_lint_with_no_error_or_warning(
        lint: tuple[dict[str, Any], list[Path], Path]) -> None:
    report, copies, _ = lint
    serious = [f"{path.name}:{f['line']}: {f['severity']} {f['rule']}: {f['msg']}"
               for path in copies for f in findings(report, path) if f["severity"] in ("error", "warning")]
    assert serious == []


def test_the_lint_reports_an_unbalanced_brace(lint: tuple[dict[str, Any], list[Path], Path]) -> None:
    report, _, broken = lint
    errors = [f for f in findings(report, broken) if f["severity"] == "error"]
    assert errors, "a step that does not parse must be reported with an error"
    assert any(f["rule"] == "NglParseError" for f in errors)


# -- 2. what the text must hold ------------------------------------------------------------------------------------


def test_every_ci_tags_command_gets_the_configured_image_set() -> None:
    pattern = re.compile(r"\bci-tags (janitor|plan|build|manifest|publish)\b")
    commands = [s for s in shell_strings() if pattern.search(s)]
    assert {m[1] for s in commands for m in pattern.finditer(s)} == {"janitor", "plan", "build", "manifest", "publish"}
    for command in commands:
        assert '--config "$CI_TAGS_CONFIG"' in command, command
    assert '--max-age "$CI_TAGS_MAX_AGE"' in " ".join(commands)
    assert not re.search(r"\bmatrix\s*\{", library_code()), "declarative matrix takes literal axes only"


def test_no_secret_reaches_groovy_interpolation() -> None:
    for path in GROOVY:
        text = code(path)
        double_quoted_sh = re.findall(r'\bsh\s*\(?\s*(?:script:\s*)?("""|")(.*?)\1', text, flags=re.DOTALL)
        assert double_quoted_sh == [], f"{path.name}: sh steps are single-quoted: the shell expands variables"
        assert not re.search(r"\$\{[^}]*(PASSWORD|TOKEN)", text), f"{path.name}: no secret in a GString"
        assert not re.search(r"\becho\b[^\n]*(PASSWORD|TOKEN)", text)
    for shell in shell_strings():
        assert "set -x" not in shell


def test_the_variables_bound_for_ci_tags_are_the_ones_it_reads() -> None:
    text = library_code()
    bound = re.findall(r"(?:usernameVariable|passwordVariable):\s*'(\w+)'", text)
    assert {"CI_TAGS_REGISTRY_USER", "CI_TAGS_REGISTRY_PASSWORD", "CI_TAGS_JENKINS_USER",
            "CI_TAGS_JENKINS_TOKEN"} <= set(bound)
    source = "\n".join(p.read_text() for p in (ROOT / "ci_tags").rglob("*.py"))
    for name in [*bound, "CI_TAGS_DEFAULT_BRANCH"]:
        assert re.search(rf"""env(\.get\(|\[)["']{name}["']""", source), f"ci-tags does not read {name}"


def library_parameters() -> set[str]:
    text = code(ROOT / "vars" / "ciTagsSettings.groovy")
    block = text[text.index("DEFAULTS = [") : text.index("\n]", text.index("DEFAULTS = ["))]
    return set(re.findall(r"^\s+(\w+):", block, flags=re.M))


def test_the_root_jenkinsfile_runs_the_library_of_its_own_checkout_with_known_parameters() -> None:
    text = code(JENKINSFILE)
    assert re.search(r"library\(identifier: 'ci-tags@[\w.-]+', retriever: legacySCM\(scm\)\)", text)
    call = text[text.index("ciTagsPipeline(") :]
    given = set(re.findall(r"^\s+(\w+):", call, flags=re.M))
    assert {"config", "agentLabel", "maxAge", "pipSpec"} <= given <= library_parameters()
    assert "sh " not in text and "node(" not in text, "ci-tags' own pipeline is the library's, nothing more"


def test_the_library_installs_ci_tags_itself_by_default() -> None:
    settings = code(ROOT / "vars" / "ciTagsSettings.groovy")
    version = ci_tags.__version__
    assert f"version: '{version}'" in settings, "the library installs the release it is released with"
    assert "pipSpec: ''" in settings and '"ci-tags==${settings.version}"' in settings
    assert "install: 'pip'" in settings


# -- 3. the JSON the library reads is the JSON plan writes -----------------------------------------------------

# The library's names for the plan's JSON: the whole document, one wave, one build of a wave.
JSON_VARIABLES = ("plan", "wave", "imageBuild")


def fields_read() -> dict[str, set[str]]:
    """``{"wave": {"builds", "manifests"}, ...}``: every ``<variable>.<field>`` the library reads."""
    read: dict[str, set[str]] = {v: set() for v in JSON_VARIABLES}
    for variable, name in re.findall(rf"\b({'|'.join(JSON_VARIABLES)})\.([A-Za-z_]\w*)", library_code()):
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
    """What a multibranch Jenkins build sets for its steps (plus the library's CI_TAGS_DEFAULT_BRANCH)."""
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


def assert_library_can_read(matrix: dict[str, Any]) -> None:
    read = fields_read()
    assert read["plan"] and read["wave"] and read["imageBuild"], f"the library reads {read}"
    assert read["plan"] <= set(matrix), f"top level: reads {read['plan']}, plan writes {set(matrix)}"
    assert matrix["waves"], "the fixture plans builds"
    for wave in matrix["waves"]:
        assert read["wave"] <= set(wave), f"a wave: reads {read['wave']}, plan writes {set(wave)}"
        assert wave["builds"], "every wave has builds"
        for build in wave["builds"]:
            assert read["imageBuild"] <= set(build), f"a build: reads {read['imageBuild']}, plan writes {set(build)}"
            assert all(isinstance(build[name], str) for name in read["imageBuild"])
        assert all(isinstance(name, str) for name in wave["manifests"])


def test_the_fields_the_library_reads_are_in_plans_json(cli: Any, registry: Any, tmp_path: Path) -> None:
    unique = hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]
    config = write_fixture(tmp_path / "project", f"{registry.host}/jenkins{unique}")
    feature = plan_matrix(cli, config, tmp_path / "feature.json", jenkins_env("feature/X", "7"))
    assert_library_can_read(feature)

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


def test_the_projects_own_image_set_plans_what_the_library_reads(cli: Any, registry: Any, tmp_path: Path) -> None:
    """The root Jenkinsfile's config is the repository's own ci-tags.yml (ci-tags' own image)."""
    own = ROOT / "ci-tags.yml"
    if not own.is_file():
        pytest.skip("the repository has no ci-tags.yml yet")
    unique = hashlib.sha256(str(tmp_path).encode()).hexdigest()[:10]
    env = {**jenkins_env("main", "12"), "CI_REGISTRY_IMAGE": f"{registry.host}/own{unique}"}
    matrix = plan_matrix(cli, own, tmp_path / "own.json", env)
    assert_library_can_read(matrix)
    assert "ci-tags" in matrix["images"]
    assert matrix["images"]["ci-tags"].endswith(":pipeline-main-12")
