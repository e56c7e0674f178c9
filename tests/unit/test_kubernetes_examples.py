"""examples/kubernetes/task.yaml asks for what job.yaml does (played for real in tests/e2e/test_kubernetes.py)."""

from __future__ import annotations

from typing import Any

import yaml

from tests.conftest import EXAMPLES
from tests.infra.pod_security import privileged_settings

TASK = EXAMPLES / "kubernetes" / "task.yaml"
JOB = EXAMPLES / "kubernetes" / "job.yaml"


def _task_pod(task: dict[str, Any]) -> dict[str, Any]:
    """The pod Tekton makes of the Task: every step a container with the stepTemplate's securityContext."""
    template = task["spec"]["stepTemplate"]["securityContext"]
    pod_context = {k: template[k] for k in ("runAsNonRoot", "runAsUser", "seccompProfile")}
    steps = [{**step, "securityContext": {**template, **step.get("securityContext", {})}, "volumeMounts": step.get("volumeMounts", [])}
             for step in task["spec"]["steps"]]
    return {"securityContext": pod_context, "containers": steps, "volumes": task["spec"].get("volumes", [])}


def test_the_task_is_restricted_and_reads_its_source_only() -> None:
    task = yaml.safe_load(TASK.read_text())
    assert (task["apiVersion"], task["kind"]) == ("tekton.dev/v1", "Task")
    assert privileged_settings(_task_pod(task)) == []
    assert {w["name"]: w.get("readOnly") for w in task["spec"]["workspaces"]} == {"source": True, "dockerconfig": True}
    assert {r["name"] for r in task["spec"]["results"]} == {"IMAGE_DIGEST", "IMAGE_URL"}
    build = task["spec"]["steps"][0]
    assert build["command"] == ["pyjib"] and build["args"][:4] == ["push", "$(workspaces.source.path)/$(params.CONTEXT)", "--to", "$(params.IMAGE)"]
    assert build["args"][4:] == ["--digest-file", "$(results.IMAGE_DIGEST.path)"]
    assert {m["mountPath"] for m in build["volumeMounts"]} == {"/home/nonroot"}  # the one writable place, an emptyDir
    assert {v["name"]: list(v) for v in task["spec"]["volumes"]} == {"home": ["name", "emptyDir"]}


def test_the_job_and_the_task_run_pyjib_the_same_way() -> None:
    job = yaml.safe_load(JOB.read_text())
    task = yaml.safe_load(TASK.read_text())
    job_pod = job["spec"]["template"]["spec"]
    job_container = job_pod["containers"][0]
    template = task["spec"]["stepTemplate"]["securityContext"]
    assert {**job_pod["securityContext"], **job_container["securityContext"]} | {"fsGroup": None} == template | {"fsGroup": None}
    assert [e for e in task["spec"]["steps"][0]["env"] if e["name"] == "DOCKER_CONFIG"]
    assert [e["name"] for e in job_container["env"]] == ["DOCKER_CONFIG"]
