import pytest
from hypothesis import given
from hypothesis import strategies as st

from ci_tags.core.reference import (
    Reference,
    is_loopback_host,
    parse_destination,
    parse_reference,
    slugify,
    validate_tag,
)
from ci_tags.errors import BadInput

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ubuntu", Reference("docker.io", "library/ubuntu")),
        ("ubuntu:22.04", Reference("docker.io", "library/ubuntu", tag="22.04")),
        ("docker.io/ubuntu", Reference("docker.io", "library/ubuntu")),
        ("index.docker.io/library/ubuntu", Reference("docker.io", "library/ubuntu")),
        ("linaro/ci:5.0", Reference("docker.io", "linaro/ci", tag="5.0")),
        ("localhost/app", Reference("localhost", "app")),
        ("localhost:5000/a/b:t", Reference("localhost:5000", "a/b", tag="t")),
        ("registry.gitlab.com/group/sub/img:v1", Reference("registry.gitlab.com", "group/sub/img", tag="v1")),
        (f"reg.io/app@{DIGEST}", Reference("reg.io", "app", digest=DIGEST)),
        (f"reg.io/app:t@{DIGEST}", Reference("reg.io", "app", tag="t", digest=DIGEST)),
        ("127.0.0.1:5555/x_y/z-w", Reference("127.0.0.1:5555", "x_y/z-w")),
        ("[::1]:5000/app", Reference("[::1]:5000", "app")),
    ],
)
def test_references_are_normalised_like_docker(text, expected):
    assert parse_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("Ubuntu", "lowercase"),
        ("reg.io/App:1", "lowercase"),
        ("reg.io/app:-bad", "starts with '-'"),
        ("reg.io/app:" + "a" * 129, "at most 128"),
        ("reg.io/app:t@sha256:123", "invalid digest"),
        ("reg.io/app::t", "invalid"),
        ("reg.io//app", "bad repository name"),
        ("-reg.io/app", "bad registry host"),
        (" app", "spaces"),
    ],
)
def test_invalid_references_are_bad_input_saying_why(text, words):
    with pytest.raises(BadInput) as err:
        parse_reference(text)
    assert words in str(err.value)
    assert err.value.exit_code == 2


def test_reference_round_trips_to_text():
    for text in ["reg.io/a/b:t", f"reg.io/a@{DIGEST}", "localhost:5000/x:y"]:
        assert str(parse_reference(text)) == text


def test_docker_hub_api_host():
    assert parse_reference("ubuntu").api_host == "registry-1.docker.io"
    assert parse_reference("reg.io/ubuntu").api_host == "reg.io"


def test_destination_may_be_a_bare_tag_in_the_source_repository():
    src = parse_reference("reg.io/team/app:v1")
    assert parse_destination("v2", src) == Reference("reg.io", "team/app", tag="v2")
    assert parse_destination(":v3", src) == Reference("reg.io", "team/app", tag="v3")
    assert parse_destination("other.io/team/app:v1", src) == Reference("other.io", "team/app", tag="v1")
    with pytest.raises(BadInput):
        parse_destination("bad tag", src)
    with pytest.raises(BadInput):
        parse_destination(f"reg.io/app@{DIGEST}", src)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost:5000", True), ("127.0.0.1:5000", True), ("127.1.2.3", True), ("[::1]:5000", True),
     ("registry.example.com", False), ("10.0.0.1:5000", False), ("localhost.example.com", False)],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("branch", "slug"),
    [
        ("main", "main"),
        ("Feature/JIRA-123_Add stuff", "feature-jira-123-add-stuff"),
        ("--weird--", "weird"),
        ("release/1.2.x", "release-1-2-x"),
        ("a" * 70, "a" * 63),
        ("x" * 62 + "/abc", "x" * 62),  # cut at 63 first, then the trailing '-' removed
        ("ünïcode", "n-code"),
    ],
)
def test_slug_matches_gitlab_ci_commit_ref_slug(branch, slug):
    assert slugify(branch) == slug


@pytest.mark.parametrize("branch", ["", "///", "---", "ß"])
def test_empty_slug_is_bad_input(branch):
    with pytest.raises(BadInput, match="empty slug"):
        slugify(branch)


@given(st.text(min_size=1, max_size=100))
def test_every_nonempty_slug_is_a_valid_tag(branch):
    try:
        slug = slugify(branch)
    except BadInput:
        return
    assert validate_tag(slug) == slug
    assert len(slug) <= 63 and not slug.startswith("-") and not slug.endswith("-")


def test_slug_cli_exit_codes(cli):
    ok = cli("slug", "Feature/X")
    assert (ok.code, ok.out) == (0, "feature-x\n")
    bad = cli("slug", "///")
    assert bad.code == 2
    assert "empty slug" in bad.err and "Traceback" not in bad.err
    js = cli("slug", "Main", "--json")
    assert '"slug": "main"' in js.out


@pytest.mark.parametrize(
    ("argv", "slug"),
    [
        (["slug", "--", "-x"], "x"),
        (["slug", "-aaa-"], "aaa"),
        (["slug", "--json", "-aaa-"], '"slug": "aaa"'),
        (["slug", "-aaa-", "--json"], '"slug": "aaa"'),
        (["slug", "--", "--json"], "json"),
    ],
)
def test_slug_of_a_branch_starting_with_a_dash(cli, argv, slug):
    result = cli(*argv)
    assert result.code == 0, result.err
    assert slug in result.out
