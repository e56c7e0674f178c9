"""Child processes get pyjib's index settings in uv's variables and none of pyjib's secrets (issue 11 items 4, 5)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyjib import resolve
from pyjib.childenv import child_environment
from pyjib.constraints import Constraints
from pyjib.indexes import IndexConfig
from pyjib.interpreter import Interpreter
from pyjib.oci.platforms import Platform

PRIVATE = IndexConfig("https://ci:job-T0ken@pypi.corp.example/simple", ("https://u:p4ss@extra.example/simple",), ("/w/wheels", "/w/more"),
                      best_match=True)


def test_secrets_are_left_out_and_index_settings_put_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYJIB_PASSWORD", "x")
    monkeypatch.setenv("PYJIB_USERNAME", "y")
    monkeypatch.setenv("PYJIB_CACHE_KEY", "z")
    monkeypatch.setenv("HOME", "/root")
    env = child_environment(PRIVATE, {"EXTRA": "1"})
    assert not {"PYJIB_PASSWORD", "PYJIB_USERNAME", "PYJIB_CACHE_KEY"} & set(env)
    assert env["HOME"] == "/root" and env["EXTRA"] == "1" and env["UV_PYTHON_DOWNLOADS"] == "never"
    assert env["UV_INDEX_URL"] == PRIVATE.index_url
    assert env["UV_EXTRA_INDEX_URL"] == "https://u:p4ss@extra.example/simple"
    assert env["UV_FIND_LINKS"] == "/w/wheels,/w/more"
    assert env["UV_INDEX_STRATEGY"] == "unsafe-best-match"


def test_index_credentials_never_reach_uvs_argv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def record(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.update(command=command, env=kwargs["env"])
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", record)  # the module resolve runs uv with
    interpreter = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"))
    resolve._run_uv(["flask"], interpreter, PRIVATE, Constraints(()), [], tmp_path, False)
    assert not any("job-T0ken" in arg or "p4ss" in arg for arg in seen["command"])
    assert "job-T0ken" in seen["env"]["UV_INDEX_URL"]


def test_a_per_job_token_does_not_change_cache_keys() -> None:
    one = IndexConfig("https://ci:job-1@pypi.corp.example/simple")
    two = IndexConfig("https://ci:job-2@pypi.corp.example/simple")
    assert one.cache_identity() == two.cache_identity()
    assert "job-1" not in str(one.cache_identity())
    assert IndexConfig("https://other.example/simple").cache_identity() != one.cache_identity()
