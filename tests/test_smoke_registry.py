from tests.support.images import push_image


def test_push_and_retag_same_repository(reg, registry, cli):
    pushed = push_image(reg, "smoke/app", "v1", layers=3)
    mark = registry.mark()
    result = cli("retag", f"{registry.host}/smoke/app:v1", "v2")
    assert result.code == 0, result.err
    host = registry.host
    assert result.out.strip() == f"{host}/smoke/app:v1 -> {host}/smoke/app:v2 {pushed.manifest.digest}"
    reqs = registry.since(mark)
    assert [r.method for r in reqs] == ["GET", "PUT"], reqs
