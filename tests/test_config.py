"""ci-tags.yml loading: defaults, every key, and errors that name the file, line and key."""

from pathlib import Path

import pytest

from ci_tags.errors import BadInput
from ci_tags.project.config import TagTemplates, load_config

ENV = {"CI_REGISTRY_IMAGE": "registry.example.com/group/project"}


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "docker" / "files").mkdir(parents=True)
    (tmp_path / "docker" / "debian.docker").write_text("FROM debian:12\n")
    return tmp_path


def load(repo: Path, text: str, env=ENV):
    (repo / "ci-tags.yml").write_text(text)
    return load_config(repo / "ci-tags.yml", env)


def test_defaults(repo):
    config = load(repo, "images:\n  qemu/debian:\n    dockerfile: docker/debian.docker\n")
    assert config.registry == "registry.example.com/group/project"
    image = config.image("qemu/debian")
    assert image.arches == ("amd64",)
    assert image.context == (repo / "docker").resolve()
    assert image.dockerfile == (repo / "docker" / "debian.docker").resolve()
    assert config.tags == TagTemplates("hash-{hash}", "pipeline-{pipeline_id}")
    assert config.publish == ("latest",)
    assert config.repository("qemu/debian") == "registry.example.com/group/project/qemu/debian"


def test_every_key(repo):
    config = load(
        repo,
        """
registry: ${HOST}/team
images:
  qemu/debian:
    dockerfile: docker/debian.docker
    context: docker/files
    arches: [amd64, arm64]
    build_args: {DEBIAN_VERSION: 12, FLAG: yes}
    target: runtime
tags:
  content: "c-{hash}"
  pipeline: "p-{pipeline_id}"
publish: [latest, stable]
publish_branch_slug: true
runners: {amd64: [], arm64: [aarch64, docker]}
default_branch: trunk
keep: ["^release-"]
max_age: 14d
""",
        env={"HOST": "reg.io:5000"},
    )
    image = config.image("qemu/debian")
    assert config.registry == "reg.io:5000/team"
    assert image.arches == ("amd64", "arm64") and image.multi_arch
    assert image.build_args == {"DEBIAN_VERSION": "12", "FLAG": "yes"}
    assert image.target == "runtime"
    assert image.context == (repo / "docker" / "files").resolve()
    assert config.tags.content_tag("ab" * 32, "arm64") == f"c-{'ab' * 32}-arm64"
    assert config.tags.pipeline_tag("7") == "p-7"
    assert config.publish == ("latest", "stable") and config.publish_branch_slug
    assert config.runners == {"amd64": (), "arm64": ("aarch64", "docker")}
    assert (config.default_branch, config.keep, config.max_age) == ("trunk", ("^release-",), "14d")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("images:\n  a:\n    dockerfile: docker/debian.docker\n    arches: [amd64, arm65]\n",
         "ci-tags.yml:4: images.a.arches[1]: unknown architecture 'arm65'"),
        ("images:\n  a:\n    dockerfile: docker/debian.docker\n    arches: [amd64, amd64]\n",
         "ci-tags.yml:4: images.a.arches[1]: amd64 is listed twice"),
        ("images:\n  a:\n    dockerfil: docker/debian.docker\n",
         "ci-tags.yml:3: images.a.dockerfil: unknown key (did you mean 'dockerfile'?)"),
        ("images:\n  a:\n    dockerfile: docker/nope.docker\n", "ci-tags.yml:3: images.a.dockerfile: no file"),
        ("images:\n  a:\n    dockerfile: ../outside.docker\n", "images.a.dockerfile: '../outside.docker' is outside"),
        ("images:\n  Big/Name:\n    dockerfile: docker/debian.docker\n", "ci-tags.yml:2: images.Big/Name: image names"),
        ("images:\n  a:\n    context: docker\n", "ci-tags.yml:3: images.a: missing key dockerfile"),
        ("images:\n  a:\n    dockerfile: docker/debian.docker\n  a:\n    dockerfile: docker/debian.docker\n",
         "ci-tags.yml:4: images.a: duplicate key"),
        ("images: [a, b]\n", "ci-tags.yml:1: images: expected a mapping"),
        ("registry: $NOPE/x\nimages: {}\n", "ci-tags.yml:1: registry: environment variable NOPE is not set"),
        ("registry: Not A Registry\nimages: {}\n", "ci-tags.yml:1: registry: 'Not A Registry' is not a registry"),
        ("images: {}\ntags:\n  content: 'x-{pipeline_id}'\n", "ci-tags.yml:3: tags.content: must contain {hash}"),
        ("images: {}\ntags:\n  content: 'x-{hash}-{foo}'\n", "tags.content: unknown placeholder {foo}"),
        ("images: {}\ntags:\n  pipeline: 'bad tag {pipeline_id}'\n", "tags.pipeline: does not give a valid tag"),
        ("images: {}\npublish: [latest, 'not ok']\n", "ci-tags.yml:2: publish[1]: invalid tag 'not ok'"),
        ("images: {}\nrunners: {mips: [x]}\n", "ci-tags.yml:2: runners.mips: unknown architecture"),
        ("images: {}\nkeep: ['(']\n", "ci-tags.yml:2: keep[0]: not a valid regular expression"),
        ("images: {}\nmax_age: soon\n", "ci-tags.yml:2: max_age: 'soon' is not a duration"),
        # issue 15: a content tag has no pipeline id; a duration's units come largest first and add up to more than 0
        ("images: {}\ntags:\n  content: 'h{hash}-{pipeline_id}'\n",
         "ci-tags.yml:3: tags.content: unknown placeholder {pipeline_id}"),
        ("images: {}\nmax_age: 1h7d\n", "ci-tags.yml:2: max_age: '1h7d' is not a duration"),
        ("images: {}\nmax_age: 0d\n", "ci-tags.yml:2: max_age: '0d' is not a duration"),
        ("images: {}\nimagez: {}\n", "ci-tags.yml:2: imagez: unknown key (did you mean 'images'?)"),
        ("images:\n  a: {dockerfile: [x\n", "ci-tags.yml:3: malformed YAML"),
        ("registry: x.io/a\n", "ci-tags.yml:1: images: missing"),
        ("", "ci-tags.yml:1: the file is empty"),
    ],
)
def test_errors_name_file_line_and_key(repo, text, message):
    with pytest.raises(BadInput) as err:
        load(repo, text)
    assert message in str(err.value)
    assert err.value.exit_code == 2


def test_missing_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match=r"no ci-tags\.yml"):
        load_config(tmp_path / "ci-tags.yml", ENV)


def test_unknown_image_suggests_a_close_name(repo):
    config = load(repo, "images:\n  qemu/debian:\n    dockerfile: docker/debian.docker\n")
    with pytest.raises(BadInput, match="did you mean 'qemu/debian'"):
        config.image("qemu/debain")


def test_aliases(repo):
    config = load(repo, "images:\n  qemu/debian10:\n    dockerfile: docker/debian.docker\n"
                        "    aliases: ['qemu:debian10', 'registry.example.com/old/debian10']\n")
    assert config.image("qemu/debian10").aliases == ("qemu:debian10", "registry.example.com/old/debian10")
    for text, message in [
        ("    aliases: ['Not An Image']\n", "ci-tags.yml:4: images.a.aliases[0]: 'Not An Image' is not an image"),
        ("    aliases: [b]\n  b:\n    dockerfile: docker/debian.docker\n", "'b' already names image b"),
        ("    aliases: [x, x]\n", "images.a.aliases[1]: 'x' already names image a"),
    ]:
        with pytest.raises(BadInput) as err:
            load(repo, "images:\n  a:\n    dockerfile: docker/debian.docker\n" + text)
        assert message in str(err.value)


def test_every_problem_of_the_file_in_one_run(repo):
    text = """\
registry: Bad Registry
images:
  a:
    dockerfile: docker/debian.docker
    arches: [amd64, arm65]
  b:
    dockerfile: docker/missing.docker
  c:
    dockerfile: docker/debian.docker
    contxt: docker
publish: ['bad tag']
max_age: soon
"""
    with pytest.raises(BadInput) as caught:
        load(repo, text)
    problems = caught.value.problems
    for where in (":1: registry:", ":5: images.a.arches[1]: unknown architecture 'arm65'",
                  ":7: images.b.dockerfile: no file", ":10: images.c.contxt: unknown key", ":11: publish[0]:",
                  ":12: max_age:"):
        assert sum(where in p for p in problems) == 1, (where, problems)
    assert len(problems) == 6
    assert str(caught.value).endswith("(and 5 more problems, listed above)")


def test_two_problems_read_right(repo, cli):
    (repo / "ci-tags.yml").write_text("images:\n  a:\n    dockerfile: docker/none\n  b:\n    dockerfile: docker/no\n")
    result = cli("hash", "--config", str(repo / "ci-tags.yml"), env=ENV)
    assert result.code == 2
    assert result.err.count("problem: ") == 2
    assert "(and 1 more problem, listed above)" in result.err


def test_one_problem_is_said_once(repo, cli):
    (repo / "ci-tags.yml").write_text("images:\n  a:\n    dockerfile: docker/none\n")
    result = cli("hash", "--config", str(repo / "ci-tags.yml"), env=ENV)
    assert result.code == 2
    assert result.err.count("no file 'docker/none'") == 1 and "more problem" not in result.err
