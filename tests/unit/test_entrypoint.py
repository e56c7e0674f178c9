from pathlib import Path
from typing import Any

import pytest

from pyjib.errors import ConfigError
from pyjib.imageconfig import entrypoint_for
from pyjib.install import Environment
from pyjib.interpreter import Interpreter
from pyjib.oci.platforms import Platform
from pyjib.settings import Settings
from pyjib.wheelmeta import WheelMetadata

ENVIRONMENT = Environment(Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64")))


def project(name: str, *scripts: str) -> WheelMetadata:
    return WheelMetadata(name, "1.0", (), tuple(sorted(scripts)), {})


def entrypoint(metadata: WheelMetadata, **options: Any) -> list[str]:
    return entrypoint_for(Settings(project_dir=Path("."), **options), metadata, ENVIRONMENT)


def test_the_only_console_script() -> None:
    assert entrypoint(project("tool", "other-name")) == ["/app/venv/bin/other-name"]


@pytest.mark.parametrize("script", ["my-service", "my_service", "My.Service"])
def test_of_several_scripts_the_one_named_like_the_project(script: str) -> None:
    assert entrypoint(project("my-service", "my-service-admin", script, "migrate")) == [f"/app/venv/bin/{script}"]


def test_several_scripts_none_named_like_the_project_is_an_error() -> None:
    with pytest.raises(ConfigError, match="several console scripts"):
        entrypoint(project("my-service", "serve", "migrate"))


def test_options_win_over_console_scripts() -> None:
    metadata = project("my-service", "my-service", "migrate")
    assert entrypoint(metadata, module="my_service.worker") == ["/app/venv/bin/python", "-m", "my_service.worker"]
    assert entrypoint(metadata, entrypoint=("/app/venv/bin/migrate", "--check")) == ["/app/venv/bin/migrate", "--check"]
