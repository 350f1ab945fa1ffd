"""Pure planning and emitters: reuse/build/assemble decisions, GitLab child pipeline, dotenv, Jenkins matrix."""

import yaml

from ci_tags.core.emitters import NOOP_JOB, JobSettings, dotenv, env_name, gitlab_child_pipeline, jenkins_matrix
from ci_tags.core.plan import ASSEMBLE, BUILD, REUSE, ArchTarget, ImageState, decide

REG = "registry.example.com/group"


def state(name, present, arches=("amd64",), arch_present=None, parents=()):
    multi = len(arches) > 1
    arch_present = arch_present if arch_present is not None else {a: present for a in arches}
    return ImageState(
        name=name,
        repository=f"{REG}/{name}",
        content_tag=f"hash-{name.replace('/', '')}",
        content_present=present,
        pipeline_tag="pipeline-42",
        arches=tuple(
            ArchTarget(a, f"hash-{name.replace('/', '')}" + (f"-{a}" if multi else ""), arch_present[a]) for a in arches
        ),
        parents=tuple(parents),
    )


def test_present_content_tag_is_reused_absent_is_built():
    plan = decide([state("base", True), state("app", False, parents=["base"])])
    assert [(p.name, p.action, p.builds) for p in plan.images] == [("base", REUSE, ()), ("app", BUILD, ("amd64",))]
    assert [(p, arch) for p in plan.images for arch in p.builds] == [(plan.images[1], "amd64")]
    assert not plan.nothing_to_build


def test_multi_arch_builds_only_missing_arches_and_assembles_when_all_present():
    plan = decide(
        [
            state("a", False, ("amd64", "arm64"), {"amd64": True, "arm64": False}),
            state("b", False, ("amd64", "arm64"), {"amd64": True, "arm64": True}),
            state("c", True, ("amd64", "arm64")),
        ]
    )
    assert [(p.action, p.builds) for p in plan.images] == [(BUILD, ("arm64",)), (ASSEMBLE, ()), (REUSE, ())]
    assert [p.needs_manifest_job for p in plan.images] == [True, False, False]


def test_gitlab_child_pipeline_orders_children_after_parents_and_uses_runner_tags():
    plan = decide(
        [
            state("base", False, ("amd64", "arm64")),
            state("app", False, parents=["base"]),
            state("tools", True),
        ]
    )
    doc = gitlab_child_pipeline(
        plan,
        "42",
        {"amd64": [], "arm64": ["aarch64"]},
        JobSettings(image="ci-tags:1", ci_tags_args=("--config", "ci-tags.yml")),
    )
    assert set(doc) == {"stages", "build:base:amd64", "build:base:arm64", "manifest:base", "build:app:amd64"}
    assert doc["build:base:arm64"]["tags"] == ["aarch64"]
    assert "tags" not in doc["build:base:amd64"]
    assert doc["build:base:amd64"]["script"] == [
        "ci-tags build base --arch amd64 --config ci-tags.yml --pipeline-id 42"
    ]
    assert doc["manifest:base"]["needs"] == ["build:base:amd64", "build:base:arm64"]
    assert doc["build:app:amd64"]["needs"] == ["manifest:base"]
    assert all(doc[j]["image"] == "ci-tags:1" for j in doc if j != "stages")
    yaml.safe_load(yaml.safe_dump(doc))  # serialisable


def test_child_pipeline_with_nothing_to_build_has_one_noop_job():
    plan = decide([state("base", True), state("app", True)])
    doc = gitlab_child_pipeline(plan, "42", {}, JobSettings())
    assert set(doc) == {"stages", NOOP_JOB}
    assert doc[NOOP_JOB]["needs"] == []


def test_a_reused_parent_is_not_waited_for():
    plan = decide([state("base", True), state("app", False, parents=["base"])])
    doc = gitlab_child_pipeline(plan, "7", {}, JobSettings())
    assert doc["build:app:amd64"]["needs"] == []


def test_dotenv_names_each_images_pipeline_reference():
    plan = decide([state("qemu/debian", True), state("qemu/fedora-40", False)])
    assert dotenv(plan) == (
        f"CI_TAGS_IMAGE_QEMU_DEBIAN={REG}/qemu/debian:pipeline-42\n"
        f"CI_TAGS_IMAGE_QEMU_FEDORA_40={REG}/qemu/fedora-40:pipeline-42\n"
    )
    assert env_name("a.b/c-d") == "CI_TAGS_IMAGE_A_B_C_D"


def test_jenkins_matrix_waves_follow_the_parent_order():
    plan = decide(
        [
            state("base", False, ("amd64", "arm64")),
            state("app", False, parents=["base"]),
            state("other", False),
            state("done", True),
        ]
    )
    matrix = jenkins_matrix(plan, {"arm64": ["arm64", "linux"]})
    assert matrix["waves"] == [
        {
            "builds": [
                {"image": "base", "arch": "amd64", "label": ""},
                {"image": "base", "arch": "arm64", "label": "arm64 && linux"},
                {"image": "other", "arch": "amd64", "label": ""},
            ],
            "manifests": ["base"],
        },
        {"builds": [{"image": "app", "arch": "amd64", "label": ""}], "manifests": []},
    ]
    assert matrix["images"]["done"] == f"{REG}/done:pipeline-42"
    assert matrix["nothing_to_build"] is False
