"""What a CI API said about the pipeline a publish job runs in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PipelineStatus:
    ok: bool
    checked: bool  # False when no API could be asked: nothing was confirmed
    reasons: tuple[str, ...] = ()
    jobs_seen: int = 0


FINE_GITLAB = frozenset({"success", "skipped", "manual"})
RUNNING_GITLAB = frozenset({"created", "pending", "running", "waiting_for_resource", "preparing", "scheduled"})


def judge_jobs(jobs: list[dict[str, object]], current_job: str | None) -> PipelineStatus:
    """Pure: GitLab job (and bridge) records -> whether every other job succeeded.

    Fine: success, skipped, manual, and failed with allow_failure. Not fine: failed, canceled, or still running
    (other than this job). Jobs of later stages that are only 'created' wait for this one: fine.
    """
    reasons = []
    current_stage = next((j.get("stage") for j in jobs if str(j.get("id")) == current_job), None)
    stages = list(dict.fromkeys(str(j.get("stage")) for j in jobs))
    later = set(stages[stages.index(str(current_stage)) + 1 :]) if current_stage in stages else set()
    for job in jobs:
        if str(job.get("id")) == current_job:
            continue
        name, status = job.get("name"), str(job.get("status"))
        downstream = job.get("downstream_pipeline")
        if isinstance(downstream, dict) and downstream.get("status") not in (None, "success", "skipped", "manual"):
            status = str(downstream.get("status"))
        if status in FINE_GITLAB or (status == "failed" and job.get("allow_failure")):
            continue
        if status == "created" and job.get("stage") in later:
            continue
        if status in RUNNING_GITLAB:
            reasons.append(f"job {name} is still {status}")
        else:
            reasons.append(f"job {name} {status}")
    return PipelineStatus(not reasons, True, tuple(reasons), len(jobs))
