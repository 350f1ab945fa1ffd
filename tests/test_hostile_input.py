"""A table of hostile inputs: each is refused with one clear line and a distinct exit code (2 for bad input, 1 for
a misbehaving registry), never a traceback, and nothing is written."""

from __future__ import annotations

import pytest

from tests.support.images import push_image
from tests.support.proxy import RegistryFront

IMAGE = "images:\n  app:\n    dockerfile: Dockerfile\n"

CONFIGS = [
    (b"registry: 127.0.0.1:5000/x\nimages:\n  app\xff:\n    dockerfile: Dockerfile\n", "not UTF-8 text"),
    (b"registry: 127.0.0.1:5000/x\n" + IMAGE.encode() + b'tags:\n  content: "h-{hash}-{"\n', "not a valid template"),
    (b"registry: 127.0.0.1:5000/x\n" + IMAGE.encode() + b'tags:\n  content: "h{hash}-{pipeline_id}"\n',
     "unknown placeholder {pipeline_id}"),
    (b"registry: 127.0.0.1:5000/x\n" + IMAGE.encode() + b'tags:\n  pipeline: "p{pipeline_id}-{hash}"\n',
     "unknown placeholder {hash}"),
    (b"registry: 127.0.0.1:5000/x\n" + IMAGE.encode() + b"max_age: 1h7d\n", "max_age: '1h7d' is not a duration"),
    (b"registry: 127.0.0.1:5000/x\n" + IMAGE.encode() + b"max_age: 0d\n", "more than zero"),
    (b"registry: 127.0.0.1:99999/x\n" + IMAGE.encode(), "port 99999 is outside 1-65535"),
    (b"[" * 1200, "nested too deeply"),
    (b"a:\n" + b"".join(b"  " * i + b"b:\n" for i in range(1, 700)), "nested too deeply"),
    (b"# " + b"x" * (1 << 20) + b"\n" + IMAGE.encode(), "larger than 1024 KiB"),
]


@pytest.mark.parametrize(("config", "words"), CONFIGS, ids=[w for _, w in CONFIGS])
@pytest.mark.parametrize("command", ["hash", "publish"])  # one loader: two commands show it
def test_a_hostile_ci_tags_yml_is_bad_input(command, config, words, cli, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (tmp_path / "a").write_text("a\n")
    (tmp_path / "ci-tags.yml").write_bytes(config)
    result = cli(command, "--config", str(tmp_path / "ci-tags.yml"), env={"CI_TAGS_PIPELINE_ID": "1"})
    assert result.code == 2, result.err
    assert words in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


@pytest.mark.parametrize(("argv", "words"), [
    (["tags", "127.0.0.1:99999/x"], "port 99999 is outside 1-65535"),
    (["tags", "127.0.0.1:0/x"], "port 0 is outside"),
    (["retag", "127.0.0.1:5000/x:a", "127.0.0.1:5000/../y:b"], "invalid image reference"),
    (["untag", "127.0.0.1:5000/x:a b"], "invalid image reference"),
])
def test_hostile_references_are_bad_input(argv, words, cli):
    result = cli(*argv)
    assert result.code == 2, result.err
    assert words in result.err and result.err.count("\n") == 1


def _token_front(registry, body: bytes) -> RegistryFront:
    """The real registry behind a front that asks for a Bearer token and whose token service answers ``body``."""
    holder: dict[str, str] = {}

    def intercept(method, path, query):
        if path == "/token":
            return 200, {"Content-Type": "application/json"}, body
        return 401, {"WWW-Authenticate": f'Bearer realm="http://{holder["host"]}/token",service="x"'}, b""

    front = RegistryFront(registry.url, intercept)
    holder["host"] = front.host
    return front


@pytest.mark.parametrize("body", [b'{"token": 5}', b'{"token": ["a", "b"]}', b"[1, 2]", b"5",
                                  b'{"token": ' + b"[" * 100000 + b"]" * 100000 + b"}"])
def test_a_token_service_answering_nonsense_is_a_registry_error(body, registry, cli, closing):
    front = closing(_token_front(registry, body))
    result = cli("tags", f"{front.host}/x/y")
    assert result.code == 1, result.err
    assert "token service" in result.err and result.err.count("\n") == 1


@pytest.mark.parametrize("where", ["manifests", "tags/list", "errors"])
def test_deeply_nested_json_from_a_registry_is_a_registry_error(where, reg, registry, cli, closing):
    push_image(reg, "hostile/nested", "a")
    deep = b"[" * 200000 + b"]" * 200000

    def intercept(method, path, query):
        if where == "errors" and path.endswith("/manifests/a"):
            return 400, {"Content-Type": "application/json"}, b'{"errors": ' + deep + b"}"
        if where in path:
            return 200, {"Content-Type": "application/json", "Docker-Content-Digest": "sha256:" + "0" * 64}, deep
        return None

    front = closing(RegistryFront(registry.url, intercept))
    result = cli("inspect" if where != "tags/list" else "tags", f"{front.host}/hostile/nested"
                 + (":a" if where != "tags/list" else ""))
    assert result.code == 1, result.err
    assert result.err.startswith("ci-tags: registry error") and result.err.count("\n") == 1
