"""Skaffold's custom builder environment, as pyjib's command line."""

from __future__ import annotations

import pytest

from pyjib.devloop import skaffold_argv
from pyjib.errors import ConfigError


def test_push_image_true_pushes_to_image() -> None:
    environ = {"IMAGE": "reg.example/team/app:abc", "PUSH_IMAGE": "true", "BUILD_CONTEXT": "/src/app", "PLATFORMS": "linux/amd64, linux/arm64"}
    assert skaffold_argv(environ) == ["push", "/src/app", "--to", "reg.example/team/app:abc", "--platform", "linux/amd64", "--platform", "linux/arm64"]


@pytest.mark.parametrize("push_image", ["false", "", None])
def test_otherwise_the_image_goes_into_the_local_engine(push_image: str | None) -> None:
    environ = {"IMAGE": "app:dev", **({"PUSH_IMAGE": push_image} if push_image is not None else {})}
    assert skaffold_argv(environ) == ["build", ".", "--to", "docker-daemon:app:dev"]


def test_no_image_is_one_error() -> None:
    with pytest.raises(ConfigError, match="IMAGE"):
        skaffold_argv({"PUSH_IMAGE": "true"})
