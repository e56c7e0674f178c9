"""`pyjib rebase`: the image's own layers moved onto a new base, nothing rebuilt, and refused where that would break Python.

The image's own layers are those above its recorded base (org.opencontainers.image.base.name and .digest, which pyjib
writes): the old base is read at that digest and must be the image's lower layers. The new base must have the same
platform, the same interpreter path and Python X.Y, and a glibc at least as new as the newest manylinux tag of the
installed wheels. The container config is merged as a rebuild would have made it: what the image took from the old base
is taken from the new one, and what pyjib or the project set is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .cache import BlobCache
from .errors import PyjibError
from .filesystem import MergedFilesystem
from .interpreter import Interpreter, detect_interpreter
from .log import Log
from .oci.image import Image
from .oci.platforms import Platform, platform_of_config
from .registry import ClientPool
from .targets import check_target
from .transports import BaseImage, Delivery, ImageSource, Session, parse_location

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
_WHEEL_FILE = re.compile(r"^app/venv/lib/python3\.\d+/site-packages/[^/]+\.dist-info/WHEEL$")
_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_|manylinux(2014|2010|1)_")
_LEGACY = {"2014": (2, 17), "2010": (2, 12), "1": (2, 5)}
# Fields of the container config a build takes from the base unless the project sets them (pyjib always sets the
# Entrypoint, and Cmd only from the project's args, so those two stay as the image has them).
_INHERITED = ("User", "WorkingDir", "ExposedPorts")


class RebaseError(PyjibError):
    """The image cannot be moved onto the new base safely."""


@dataclass(frozen=True)
class Rebased:
    location: str
    digest: str


def _old_base(image: BaseImage, spec: str, cache: BlobCache, clients: ClientPool) -> BaseImage:
    name, digest = image.annotations.get(BASE_NAME), image.annotations.get(BASE_DIGEST)
    if not name or not digest:
        raise RebaseError(f"{spec} records no base ({BASE_NAME} and {BASE_DIGEST}): pyjib cannot tell its own layers; rebuild it instead")
    platform = platform_of_config(image.image.config)
    try:
        old = _open(parse_location(parse_location(name).pinned(digest)), platform, cache, clients)
    except PyjibError as exc:
        raise RebaseError(f"cannot read {spec}'s old base {name}@{digest}, which tells its own layers apart: {exc}") from exc
    if old.digest != digest:
        raise RebaseError(f"{name} is now {old.digest}, not the {digest} {spec} was built on: pyjib cannot tell its own layers")
    lower = [blob.descriptor.digest for blob in image.image.layers[:len(old.image.layers)]]
    if lower != [blob.descriptor.digest for blob in old.image.layers]:
        raise RebaseError(f"{spec}'s lower layers are not those of its recorded base {name}: pyjib cannot tell its own layers")
    return old


def newest_manylinux(own: Image) -> tuple[int, int] | None:
    """The newest glibc any installed wheel's manylinux tag asks for (from each dist-info/WHEEL of the image's layers)."""
    view = MergedFilesystem.read([blob.fetch() for blob in own.layers], keep=lambda path, size: _WHEEL_FILE.match(path) is not None)
    newest: tuple[int, int] | None = None
    for text in (data.decode("utf-8", errors="replace") for data in view.contents.values()):
        for match in _MANYLINUX.finditer(text):
            level = (int(match[1]), int(match[2])) if match[1] else _LEGACY[match[3]]
            newest = max(newest or level, level)
    return newest


def check_compatible(old: Interpreter, new: Interpreter, needed_glibc: tuple[int, int] | None, new_name: str) -> None:
    """Refuse, in one line, a base the image's environment and wheels would not work on."""
    if old.platform != new.platform:
        raise RebaseError(f"{new_name} is for {new.platform}, the image for {old.platform}: rebase onto a base of the same platform")
    if old.minor != new.minor:
        raise RebaseError(f"{new_name} has Python {new.minor}, the image's packages are for {old.minor}: rebuild instead of rebasing")
    if old.path != new.path:
        raise RebaseError(f"{new_name} has its Python at {new.path}, the image's environment points at {old.path}: rebuild instead")
    if needed_glibc is not None and (new.libc != "glibc" or new.libc_version < needed_glibc):
        have = f"{new.libc} {new.libc_version[0]}.{new.libc_version[1]}"
        raise RebaseError(f"{new_name} has {have}, older than the glibc {needed_glibc[0]}.{needed_glibc[1]} the image's wheels need")


def _variables(env: list[str] | None) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in env or [] if "=" in entry)


def merged_config(image: dict[str, object], old_base: dict[str, object], new_base: dict[str, object]) -> dict[str, object]:
    """The container config fields a rebuild on the new base would set: what came from the old base now comes from the new."""
    fields: dict[str, object] = {"Entrypoint": image.get("Entrypoint"), "Cmd": image.get("Cmd")}
    for key in _INHERITED:
        fields[key] = new_base.get(key) if image.get(key) == old_base.get(key) else image.get(key)
    old_env, new_env = _variables(old_base.get("Env")), _variables(new_base.get("Env"))  # type: ignore[arg-type]
    variables = dict(new_env)
    for key, value in _variables(image.get("Env")).items():  # type: ignore[arg-type]
        if key == "PATH" and old_env.get("PATH") and value.endswith(old_env["PATH"]):
            value = value[: len(value) - len(old_env["PATH"])] + new_env.get("PATH", old_env["PATH"])
        elif key in old_env and old_env[key] == value:
            continue  # the old base's, which the new base replaces (or drops)
        variables[key] = value
    fields["Env"] = [f"{key}={value}" for key, value in variables.items()]
    old_labels, labels = dict(old_base.get("Labels") or {}), dict(new_base.get("Labels") or {})  # type: ignore[call-overload]
    for key, value in dict(image.get("Labels") or {}).items():  # type: ignore[call-overload]
        if old_labels.get(key) != value:
            labels[key] = value
    fields["Labels"] = labels or None
    return fields  # None removes the field, as in a build


def rebase_one(image: BaseImage, spec: str, new_spec: str, platform: Platform | None, cache: BlobCache, clients: ClientPool,
               log: Log) -> Image:
    old = _old_base(image, spec, cache, clients)
    new = _open(parse_location(new_spec), platform or platform_of_config(image.image.config), cache, clients)
    own_blobs = image.image.layers[len(old.image.layers):]
    history = [h for h in image.image.config.get("history", []) if not h.get("empty_layer")][len(old.image.layers):]
    diff_ids = image.image.config["rootfs"]["diff_ids"][len(old.image.layers):]
    if len(history) != len(own_blobs) or len(diff_ids) != len(own_blobs):
        raise RebaseError(f"{spec}'s history does not match its layers: pyjib cannot tell its own layers")
    own = Image(image.image.config, own_blobs)
    check_compatible(detect_interpreter(old.image, cache), detect_interpreter(new.image, cache), newest_manylinux(own), new_spec)
    log.info(f"{platform_of_config(image.image.config)}: {len(own_blobs)} own layers from {old.digest[:19]} onto {new.digest[:19]}")
    rebased = new.image
    for blob, diff_id, entry in zip(own_blobs, diff_ids, history, strict=True):
        rebased = rebased.append_blob(blob, diff_id, created_by=entry.get("created_by", ""), comment=entry.get("comment", ""),
                                      created=entry.get("created"))
    rebased = rebased.with_container_config(**merged_config(image.image.container_config, old.image.container_config,
                                                            new.image.container_config))
    if created := image.image.config.get("created"):
        rebased = rebased.with_created(created)
    return rebased.with_annotations({**image.annotations, BASE_NAME: new_spec, BASE_DIGEST: new.digest})


def rebase(spec: str, new_spec: str, target_text: str, *, cache: BlobCache, clients: ClientPool, log: Log) -> Rebased:
    """Every platform rebased (and checked) before anything is delivered; then blobs, manifests and the tag, as a push."""
    session = Session(clients, cache, log)
    source = parse_location(spec)
    platforms, index_annotations = source.platforms(session)
    target = check_target(target_text, "any", len(platforms))
    images = [rebase_one(source.open(p, session), spec, new_spec, p, cache, clients, log) for p in platforms]
    annotations = index_annotations or platform_annotations_of(images[0])
    written = target.write(images, Delivery(index_annotations=annotations, name="rebased"), session)
    return Rebased(written.location, written.digest)


def _open(source: ImageSource, platform: Platform | None, cache: BlobCache, clients: ClientPool) -> BaseImage:
    return source.open(platform, Session(clients, cache))


def platform_annotations_of(image: Image) -> dict[str, str]:
    return {k: v for k, v in image.annotations.items() if not k.startswith("org.opencontainers.image.base.")}
