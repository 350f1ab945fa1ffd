"""Pure publish rules: the gate (default branch, complete set, CI status) and forward-only tag moves."""

import pytest

from ci_tags.ci.environment import Pipeline
from ci_tags.core.publishing import TagOrigin, pipeline_gate, tag_move


def pipeline(branch="main", default="main", system="gitlab"):
    return Pipeline(system=system, pipeline_id="42", branch=branch, default_branch=default, commit="c" * 40)


@pytest.mark.parametrize(
    ("pipe", "missing", "status", "go", "words"),
    [
        (pipeline(), [], None, True, "default branch"),
        (pipeline(), [], True, True, "default branch"),
        (pipeline(branch="feature"), [], True, False, "not the default branch"),
        (pipeline(branch=None), [], True, False, "not a branch pipeline"),
        (pipeline(default=None), [], True, False, "default branch is unknown (set CI_DEFAULT_BRANCH"),
        # outside CI the reason is the missing branch, not a merge-request pipeline
        (pipeline(branch=None, system="local"), [], None, False, "not in GitLab CI or Jenkins, and the branch is "
         "unknown (set CI_TAGS_BRANCH)"),
        (pipeline(default=None, system="local"), [], None, False, "set CI_TAGS_DEFAULT_BRANCH or --default-branch"),
        (pipeline(), ["qemu/debian"], True, False, "half-built"),
        (pipeline(), [], False, False, "CI API"),
    ],
)
def test_pipeline_gate(pipe, missing, status, go, words):
    verdict = pipeline_gate(pipe, missing, ci_status_ok=status, ci_status_reasons=("job build failed",))
    assert verdict.go is go
    assert words in verdict.reason


A, B, C = "a" * 40, "b" * 40, "c" * 40
HISTORY = {(A, B), (A, C), (B, C)}  # A <- B <- C


def ancestor(x, y):
    return (x, y) in HISTORY


def unknown(x, y):
    return None


@pytest.mark.parametrize(
    ("ours", "current", "is_anc", "go", "words"),
    [
        (TagOrigin("10", B), None, ancestor, True, "does not exist"),
        (TagOrigin("10", B), TagOrigin("9", A), ancestor, True, "descends from"),
        (TagOrigin("10", A), TagOrigin("9", B), ancestor, False, "descends from this pipeline's commit"),
        (TagOrigin("10", B), TagOrigin("11", A), ancestor, True, "descends from"),  # newer commit wins
        (TagOrigin("10", B), TagOrigin("11", B), ancestor, False, "later pipeline 11"),
        (TagOrigin("10", B), TagOrigin("10", B), ancestor, True, "re-run"),
        (TagOrigin("10", A), TagOrigin("11", B), unknown, False, "later pipeline"),  # shallow clone: ids decide
        (TagOrigin("12", A), TagOrigin("11", B), unknown, True, "forward"),
        (TagOrigin("main-5", B), TagOrigin("main-6", B), ancestor, False, "later pipeline main-6"),
        (TagOrigin("main-5", B), TagOrigin("other-9", B), ancestor, True, "forward"),
    ],
)
def test_tags_only_move_forward(ours, current, is_anc, go, words):
    verdict = tag_move(ours, current, is_anc)
    assert verdict.go is go, verdict
    assert words in verdict.reason
