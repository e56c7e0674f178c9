"""A plain hatchling project's wheel is built in pyjib's process (issue 16): the image is the one the PEP 517
subprocess build gives, with and without SOURCE_DATE_EPOCH."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pyjib.inprocessbuild import can_build_in_process
from tests.conftest import EXAMPLES, Pyjib
from tests.oci_checks import check_layout, images_of

pytestmark = pytest.mark.e2e


def _image_digest(pyjib: Pyjib, project: Path, base_ref: str, out: Path) -> str:
    pyjib("build", str(project), "--from", base_ref, "--to", f"oci:{out}")
    (image,) = images_of(check_layout(out))
    return str(image["digest"])


@pytest.mark.parametrize("epoch", [None, "1700000000"])
def test_the_in_process_wheel_gives_the_image_the_backend_process_gives(epoch: str | None, pyjib: Pyjib, base_ref: str,
                                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if epoch is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    here, there = tmp_path / "here" / "hello-web", tmp_path / "there" / "hello-web"
    shutil.copytree(EXAMPLES / "hello-web", here)
    shutil.copytree(EXAMPLES / "hello-web", there)
    (there / "hatch.toml").write_text("# hatch's own configuration file: pyjib leaves such a project to a PEP 517 backend process\n")
    assert can_build_in_process(here) and not can_build_in_process(there)
    in_process = _image_digest(pyjib, here, base_ref, tmp_path / "out-here")
    assert in_process == _image_digest(pyjib, there, base_ref, tmp_path / "out-there")
    manifest = json.loads((tmp_path / "out-here" / "blobs" / "sha256" / in_process.split(":")[1]).read_text())
    assert len(manifest["layers"]) >= 3  # base, dependencies and the application: the wheel's files are in the compared bytes
