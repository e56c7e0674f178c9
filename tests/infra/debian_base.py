"""A distroless-like Python 3.11 base rootfs built from Debian bookworm packages.

No image registry on the internet is reachable from the test machines, so the
tests cannot pull gcr.io/distroless/python3-debian12. Instead we assemble the
same kind of filesystem from the .deb files that Debian's mirror serves:
``apt-get download`` + ``dpkg-deb -x`` (no maintainer scripts run), then the
few things the maintainer scripts / distroless's bazel rules would have done.

Only the host architecture (amd64) is exercised today; ``arch`` is threaded
through so that ``PKG:arm64`` downloads can be added later (that needs
``dpkg --add-architecture arm64`` and an ``apt-get update``).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

# The minimum for ssl, json, sqlite3, zlib, hashlib, http.client, plus what
# distroless python3-debian12 also ships (certificates, zoneinfo, /etc/services...,
# and its "cc" layer: libgcc-s1, libgomp1, libstdc++6, which numpy, pandas and grpcio need).
PACKAGES: tuple[str, ...] = (
    "python3.11-minimal",
    "libpython3.11-minimal",
    "libpython3.11-stdlib",
    "libc6",
    "zlib1g",
    "libexpat1",
    "libssl3",
    "libsqlite3-0",
    "libgcc-s1",
    "libgomp1",
    "libstdc++6",
    "libffi8",
    "libbz2-1.0",
    "liblzma5",
    "libuuid1",
    "libcrypt1",
    "ca-certificates",
    "tzdata",
    "netbase",
    "media-types",
)

PYTHON = "python3.11"

# Directories merged into /usr, as on a merged-/usr Debian system.
_MERGED_DIRS = ("bin", "sbin", "lib", "lib64")
# Documentation is useless in an image and a large share of its files.
_PRUNED_DIRS = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/lintian")

_PASSWD = "".join(
    [
        "root:x:0:0:root:/root:/sbin/nologin\n",
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n",
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    ]
)
_GROUP = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"

_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def base_config(arch: str = "amd64") -> dict[str, Any]:
    """OCI image config of the base, like distroless python3-debian12:nonroot.

    No "created" field: the image must be reproducible. Returns a fresh dict.
    """
    config: dict[str, Any] = {
        "architecture": arch,
        "os": "linux",
        "config": {
            "Env": [_PATH_ENV, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "LANG=C.UTF-8"],
            "Entrypoint": [f"/usr/bin/{PYTHON}"],
            "User": "65532",
            "WorkingDir": "/home/nonroot",
        },
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }
    if arch == "arm64":
        config["variant"] = "v8"  # what distroless' arm64 images declare
    return config


#: amd64 config; prefer ``base_config()`` which returns a fresh copy.
BASE_CONFIG = base_config("amd64")


@functools.cache
def host_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------------- download


def download_packages(download_dir: pathlib.Path, arch: str = "amd64", packages: Sequence[str] = PACKAGES) -> list[pathlib.Path]:
    """Return the .deb files of ``packages``, downloading only those not cached yet.

    The exact file names come from ``apt-get download --print-uris`` (local, no
    network), so a cache never serves a version other than apt's candidate.
    """
    download_dir.mkdir(parents=True, exist_ok=True)
    specs = [_apt_spec(p, arch) for p in packages]
    with _locked(download_dir):  # two test processes may share one cache
        names = _candidate_filenames(specs)
        missing = [spec for spec, name in zip(specs, names, strict=True) if not (download_dir / name).is_file()]
        if missing:
            _apt(["apt-get", "download", *missing], cwd=download_dir)
        debs = [download_dir / name for name in names]
    absent = [d.name for d in debs if not d.is_file()]
    if absent:
        raise RuntimeError(f"apt-get download did not produce {absent} in {download_dir}")
    return debs


# Architecture: all packages have no PKG:ARCH candidate; the one .deb serves every architecture.
_ARCH_INDEPENDENT = frozenset({"ca-certificates", "tzdata", "netbase", "media-types"})


def _apt_spec(package: str, arch: str) -> str:
    # Plain names for the host architecture; "PKG:ARCH" needs a foreign architecture in dpkg.
    return package if arch == host_arch() or package in _ARCH_INDEPENDENT else f"{package}:{arch}"


def _candidate_filenames(specs: Sequence[str]) -> list[str]:
    """File names apt would download for ``specs``, in the order of ``specs``."""
    out = _apt(["apt-get", "download", "--print-uris", *specs]).stdout
    # Lines: 'URI' FILENAME SIZE HASH -- in apt's order, not ours.
    by_package = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].startswith("'"):
            by_package[fields[1].split("_", 1)[0]] = fields[1]
    try:
        return [by_package[spec.split(":", 1)[0]] for spec in specs]
    except KeyError as exc:
        raise RuntimeError(f"apt-get download --print-uris gave no file for {exc}:\n{out}") from None


def _apt(cmd: list[str], cwd: pathlib.Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run an apt command; on stale or missing package lists, ``apt-get update`` once and retry."""
    proc = _run_capture(cmd, cwd)
    if proc.returncode != 0 and _lists_look_stale(proc.stderr):
        update = _run_capture(["apt-get", "update"], None)
        if update.returncode != 0:
            raise RuntimeError(f"apt-get update failed ({update.returncode}):\n{update.stderr}")
        proc = _run_capture(cmd, cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def _lists_look_stale(stderr: str) -> bool:
    # No lists yet -> "Unable to locate package"; lists older than the mirror -> 404 on fetch.
    return any(s in stderr for s in ("Unable to locate package", "404", "Failed to fetch"))


def _run_capture(cmd: list[str], cwd: pathlib.Path | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C")
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)


@contextlib.contextmanager
def _locked(directory: pathlib.Path) -> Iterator[None]:
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def package_versions(debs: Sequence[pathlib.Path]) -> dict[str, str]:
    """Package name -> Debian version of each .deb (e.g. libpython3.11-minimal -> 3.11.2-6+deb12u9)."""
    fields = (_parse_control(_control_text(deb)) for deb in debs)
    return {f["Package"]: f["Version"] for f in fields}


def _control_text(deb: pathlib.Path) -> str:
    # Without field names dpkg-deb prints the whole control file ("Name: value" lines).
    text = subprocess.run(["dpkg-deb", "-f", str(deb)], check=True, capture_output=True, text=True).stdout
    return text if text.endswith("\n") else text + "\n"


def _parse_control(text: str) -> dict[str, str]:
    result = {}
    for line in text.splitlines():
        if line and not line[0].isspace() and ":" in line:  # continuation lines start with a space
            key, value = line.split(":", 1)
            result[key] = value.strip()
    return result


# --------------------------------------------------------------------------- rootfs


def build_rootfs(dest: pathlib.Path, arch: str = "amd64", download_dir: pathlib.Path | None = None,
                 packages: Sequence[str] = PACKAGES) -> None:
    """Build the base rootfs into ``dest`` (which must not exist or be empty). Needs root (chroot, chown).

    A foreign ``arch`` downloads ``PKG:ARCH`` but the stdlib precompile step runs the
    image's interpreter, so it would also need qemu-user/binfmt (or a matching host python3.11).

    ``download_dir`` caches the .deb files between runs (a temporary directory otherwise).
    ``packages`` defaults to PACKAGES; the tests also build a base without libstdc++6.
    Deterministic for the same .deb files: sorted iteration, no timestamps written,
    every mtime set to 0.
    """
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    if download_dir is None:
        with _temporary_dir(dest.parent) as tmp:
            _build(dest, arch, tmp, packages)
    else:
        _build(dest, arch, download_dir, packages)


@contextlib.contextmanager
def _temporary_dir(near: pathlib.Path) -> Iterator[pathlib.Path]:
    with tempfile.TemporaryDirectory(prefix="debs-", dir=near) as tmp:
        yield pathlib.Path(tmp)


def _build(dest: pathlib.Path, arch: str, download_dir: pathlib.Path, packages: Sequence[str]) -> None:
    debs = sorted(download_packages(download_dir, arch, packages))
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    _merge_usr(dest)
    _write_dpkg_status(dest, debs)
    _python_symlinks(dest)
    _users(dest)
    _ca_bundle(dest)
    _ensure_dir(dest / "tmp", 0o1777)
    _prune(dest)
    if arch == host_arch():  # precompiling runs the image's own interpreter; a foreign one cannot run here (no qemu)
        precompile_stdlib(dest)
    _zero_mtimes(dest)


def _merge_usr(dest: pathlib.Path) -> None:
    """Move /bin, /sbin, /lib, /lib64 into /usr and leave ``bin -> usr/bin`` symlinks."""
    for name in _MERGED_DIRS:
        top = dest / name
        if top.is_symlink():
            continue
        if top.is_dir():
            _move_tree(top, dest / "usr" / name)
            top.rmdir()
            top.symlink_to(f"usr/{name}")
        elif name != "lib64":  # lib64 exists only on some architectures
            (dest / "usr" / name).mkdir(parents=True, exist_ok=True)
            top.symlink_to(f"usr/{name}")


def _move_tree(src: pathlib.Path, dst: pathlib.Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        if entry.is_dir() and not entry.is_symlink() and target.is_dir() and not target.is_symlink():
            _move_tree(entry, target)
            entry.rmdir()
        elif target.exists() or target.is_symlink():
            raise RuntimeError(f"merged /usr conflict: both /{entry.relative_to(src.parent)} and {target}")
        else:
            entry.rename(target)


def _write_dpkg_status(dest: pathlib.Path, debs: Sequence[pathlib.Path]) -> None:
    """One control file per package in /var/lib/dpkg/status.d, as distroless images carry.

    Scanners read them, and pyjib reads the Python version from them.
    """
    status_dir = dest / "var/lib/dpkg/status.d"
    status_dir.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        control = _control_text(deb)
        (status_dir / _parse_control(control)["Package"]).write_text(control)


def _python_symlinks(dest: pathlib.Path) -> None:
    for alias in ("python3", "python"):
        link = dest / "usr/bin" / alias
        if not (link.exists() or link.is_symlink()):
            link.symlink_to(PYTHON)


def _users(dest: pathlib.Path) -> None:
    etc = dest / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(_PASSWD)
    (etc / "group").write_text(_GROUP)
    home = dest / "home/nonroot"
    _ensure_dir(home.parent, 0o755)
    # 0755 rather than distroless' 0700: still usable as WorkingDir if a layer writer drops the owner.
    _ensure_dir(home, 0o755)
    os.chown(home, 65532, 65532)


def _ca_bundle(dest: pathlib.Path) -> None:
    """What update-ca-certificates (a postinst step dpkg-deb -x skips) would produce."""
    certs = sorted((dest / "usr/share/ca-certificates").rglob("*.crt"))
    if not certs:
        raise RuntimeError("no certificates under /usr/share/ca-certificates")
    parts = []
    for cert in certs:
        text = cert.read_text()
        parts.append(text if text.endswith("\n") else text + "\n")
    bundle = dest / "etc/ssl/certs/ca-certificates.crt"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_text("".join(parts))
    bundle.chmod(0o644)
    # OpenSSL's compiled-in defaults; Debian's openssl package (not libssl3) ships these links.
    # They make verification work even when an image drops SSL_CERT_FILE from its Env.
    ssl_dir = dest / "usr/lib/ssl"
    ssl_dir.mkdir(parents=True, exist_ok=True)
    (ssl_dir / "cert.pem").symlink_to("/etc/ssl/certs/ca-certificates.crt")
    (ssl_dir / "certs").symlink_to("/etc/ssl/certs")


def _prune(dest: pathlib.Path) -> None:
    for rel in _PRUNED_DIRS:
        shutil.rmtree(dest / rel, ignore_errors=True)


def precompile_stdlib(dest: pathlib.Path) -> None:
    """Byte-compile the stdlib with the image's own interpreter (chroot).

    Unchecked-hash .pyc files are reproducible and never re-validated; they cut an
    import-heavy start from 0.31 s to 0.08 s. The image's interpreter must be
    runnable here (same architecture, root for chroot).
    One worker (-j1): -j0 needs multiprocessing semaphores, i.e. /dev/shm, which the
    chroot lacks; the ~550 stdlib modules take under a second anyway.
    -B: otherwise the interpreter first writes *timestamp* pycs for the modules it
    imports itself (re, enum, encodings...), and compileall, seeing them up to date,
    keeps them; they then go stale when the mtimes are zeroed. -f for the same reason.
    """
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    cmd = [
        chroot, str(dest), f"/usr/bin/{PYTHON}", "-B", "-m", "compileall",
        "-q", "-f", "--invalidation-mode", "unchecked-hash", "-j1", f"/usr/lib/{PYTHON}",
    ]  # fmt: skip
    # A clean environment: the host's PYTHON* variables must not leak into the image's interpreter.
    env = {"PATH": "/usr/bin", "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"precompiling the stdlib failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")


def _zero_mtimes(dest: pathlib.Path) -> None:
    """Package mtimes vary with the .deb; ours vary with the clock. Pin them all to 0."""
    for root, dirs, files in os.walk(dest):
        for name in dirs + files:
            os.utime(os.path.join(root, name), (0, 0), follow_symlinks=False)
    os.utime(dest, (0, 0))


def _ensure_dir(path: pathlib.Path, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
