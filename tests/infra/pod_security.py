"""What in a pod spec breaks Kubernetes' "restricted" Pod Security Standard, or a read-only root filesystem."""

from __future__ import annotations

from typing import Any


def privileged_settings(spec: dict[str, Any]) -> list[str]:
    """What in a pod spec breaks the "restricted" Pod Security Standard or readOnlyRootFilesystem (hostNetwork aside)."""
    found = []
    pod = spec.get("securityContext") or {}
    if pod.get("runAsNonRoot") is not True or not pod.get("runAsUser"):
        found.append("the pod may run as root")
    if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        found.append("no RuntimeDefault seccomp profile")
    found += [f"pod sets {key}" for key in ("hostPID", "hostIPC") if spec.get(key)]
    writable_host_paths = {m["name"] for c in spec["containers"] for m in c["volumeMounts"] if not m.get("readOnly")}
    found += [f"hostPath {v['name']} is mounted writable" for v in spec["volumes"] if "hostPath" in v and v["name"] in writable_host_paths]
    for container in spec["containers"] + spec.get("initContainers", []):
        context = container.get("securityContext") or {}
        capabilities = context.get("capabilities") or {}
        checks = {
            "privileged": context.get("privileged") is not True,
            "allowPrivilegeEscalation false": context.get("allowPrivilegeEscalation") is False,
            "capabilities drop ALL": "ALL" in (capabilities.get("drop") or []) and not capabilities.get("add"),
            "readOnlyRootFilesystem": context.get("readOnlyRootFilesystem") is True,
            "no root user": context.get("runAsUser", pod.get("runAsUser")) != 0,
        }
        found += [f"{container['name']}: {what}" for what, ok in checks.items() if not ok]
    return found
