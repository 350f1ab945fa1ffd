"""The pure rules of sync (ci_tags.core.revisions): the file, and the plan per image."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_tags.core.reference import Reference
from ci_tags.core.revisions import Observed, SyncSpec, output_document, plan_image, render_output
from ci_tags.errors import BadInput
from ci_tags.project.release_files import load_sync_file

A, B, C = ("sha256:" + c * 64 for c in "abc")
SPEC = SyncSpec(Path("sync.yml"), Reference("quay.io", "openstack.kolla"), Reference("r.example:5000", "kolla"),
                "ocata", "dev.ci-tags.manifesto", static=(r"^\d+\.\d+\.\d+$",))


def seen(**kw: object) -> Observed:
    base: dict[str, object] = dict(image="nova-api", source_digest=A, source_label="m1", revisions={},
                                   highest_label=None, track_digest=None)
    return Observed(**{**base, **kw})  # type: ignore[arg-type]  # the tests' overrides


@pytest.mark.parametrize(
    ("observed", "status", "steps", "revision"),
    [
        (seen(), "new revision", [("revise", "ocata-1"), ("move-track", "ocata")], "ocata-1"),
        (seen(revisions={3: B}, highest_label="m0", track_digest=B), "new revision",
         [("revise", "ocata-4"), ("move-track", "ocata")], "ocata-4"),
        # the label is equal: nothing, even when the source was rebuilt (another digest) with the same packages
        (seen(revisions={3: B}, highest_label="m1", track_digest=B), "up to date", [], "ocata-3"),
        # a run that stopped between the revision and the move: the move is repaired
        (seen(revisions={3: B}, highest_label="m1", track_digest=C), "up to date", [("move-track", "ocata")],
         "ocata-3"),
        # a highest revision without the label (pushed by hand) is revised
        (seen(revisions={2: B}, highest_label=None, track_digest=B), "new revision",
         [("revise", "ocata-3"), ("move-track", "ocata")], "ocata-3"),
    ],
)
def test_revision_rules(observed: Observed, status: str, steps: list[tuple[str, str]], revision: str) -> None:
    plan = plan_image(SPEC, observed)
    assert plan.status == status and plan.revision == revision and not plan.problems
    assert [(a.step, a.tag) for a in plan.actions] == steps


def test_static_tags_are_copied_once_and_a_different_image_is_a_conflict() -> None:
    plan = plan_image(SPEC, seen(revisions={1: A}, highest_label="m1", track_digest=A,
                                 source_static={"1.0.0": A, "1.1.0": B}, destination_static={"1.0.0": A}))
    assert [(a.step, a.tag, a.digest) for a in plan.actions] == [("copy-static", "1.1.0", B)]
    clash = plan_image(SPEC, seen(source_static={"1.0.0": A}, destination_static={"1.0.0": C}))
    assert clash.status == "conflict" and clash.actions == ()
    assert clash.problems == (f"conflict: static tag 1.0.0 is {C} in the destination, {A} in the source",)


@pytest.mark.parametrize(
    ("observed", "problem"),
    [
        (seen(source_digest=None, source_label=None), "the source has no tag ocata"),
        (seen(source_label=None), f"the source's ocata ({A}) has no label dev.ci-tags.manifesto"),
        (seen(error="r.example:5000 refused"), "r.example:5000 refused"),
    ],
)
def test_problems(observed: Observed, problem: str) -> None:
    plan = plan_image(SPEC, observed)
    assert plan.problems == (problem,) and plan.actions == ()


def test_revision_of_reads_only_this_tracks_numbers() -> None:
    assert [SPEC.revision_of(t) for t in ["ocata-1", "ocata-12", "ocata", "ocata-0", "ocata-x", "pike-2",
                                          "ocata-1-2"]] == [1, 12, None, None, None, None, None]


def test_output_formats() -> None:
    plans = [plan_image(SPEC, seen(image="nova-api")), plan_image(SPEC, seen(image="glance-api", source_digest=B))]
    doc = output_document(SPEC, plans)
    assert doc["nova-api"] == {"image": "r.example:5000/kolla/nova-api", "tag": "ocata-1", "digest": A,
                               "reference": f"r.example:5000/kolla/nova-api:ocata-1@{A}"}
    assert render_output(doc, "env") == (f"GLANCE_API_IMAGE=r.example:5000/kolla/glance-api:ocata-1@{B}\n"
                                         f"NOVA_API_IMAGE=r.example:5000/kolla/nova-api:ocata-1@{A}\n")
    import json

    import yaml

    assert json.loads(render_output(doc, "json")) == doc == yaml.safe_load(render_output(doc, "yaml"))


def test_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sync.yml"
    path.write_text("source: quay.io/openstack.kolla\ndestination: $DEST/kolla\nimages: [nova-api, glance-api]\n"
                    "track: ocata\nlabel: dev.ci-tags.manifesto\nstatic: ['^\\d+\\.\\d+\\.\\d+$']\n")
    spec = load_sync_file(path, {"DEST": "registry.example:5000"})
    assert spec.source == Reference("quay.io", "openstack.kolla")
    assert spec.destination == Reference("registry.example:5000", "kolla")
    assert spec.images == ("nova-api", "glance-api") and spec.track == "ocata"
    assert spec.is_static("4.0.1") and not spec.is_static("ocata-4")
    default = tmp_path / "d.yml"
    default.write_text("source: quay.io/a\ndestination: localhost:5000/b\ntrack: master\ninclude: ['^nova']\n")
    d = load_sync_file(default)
    assert d.label == "dev.ci-tags.content-hash" and d.selects("nova-api") and not d.selects("glance-api")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("destination: r.example/b\ntrack: t\n", ":1: source: missing"),
        ("source: kolla\ndestination: r.example/b\ntrack: t\n", ":1: source: 'kolla': name the registry host"),
        ("source: q.io/a\ndestination: r.example/b\ntrack: 'bad tag'\n", ":3: track: 'bad tag' cannot carry"),
        ("source: q.io/a\ndestination: r.example/b\ntrack: t\nimages: [Nova]\n", ":4: images[0]: 'Nova' is not"),
        ("source: q.io/a\ndestination: r.example/b\ntrack: t\nstatic: ['(']\n", ":4: static[0]: not a valid"),
        ("source: q.io/a\ndestination: r.example/b\ntrack: t\nimages: [a]\ninclude: [b]\n",
         ":5: include: give images or include, not both"),
        ("source: q.io/a\ndestination: r.example/b\ntrack: t\ntrac: x\n", ":4: trac: unknown key"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sync.yml"
    path.write_text(text)
    with pytest.raises(BadInput) as caught:
        load_sync_file(path)
    assert message in str(caught.value) and str(caught.value).startswith(str(path))


def test_every_problem_of_a_sync_file_in_one_run(tmp_path: Path) -> None:
    path = tmp_path / "sync.yml"
    path.write_text("source: kolla\ndestination: r.example/b\ntrack: 'bad tag'\nstatic: ['(']\ntrac: x\n")
    with pytest.raises(BadInput) as caught:
        load_sync_file(path)
    problems = caught.value.problems
    for where in (":1: source: 'kolla'", ":3: track: 'bad tag'", ":4: static[0]: not a valid", ":5: trac: unknown"):
        assert sum(where in p for p in problems) == 1, (where, problems)
    assert str(caught.value).endswith("(and 3 more problems, listed above); nothing was changed")
