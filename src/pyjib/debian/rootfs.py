"""The base's filesystem from unpacked packages, plus what their maintainer scripts and distroless' rules would have added.

No maintainer script runs. The tree is written under a folder of ours (never through a symlink a package made), with
merged /usr (/bin, /sbin, /lib* are links into /usr), and the modes and owners the layer must keep are returned, since
the layer writer normalises every other entry.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from pathlib import Path, PurePosixPath

from ..layer import Ownership
from .deb import Deb, DebError

MERGED_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# Documentation is a large share of the files and no use in an image; each package's copyright file stays (licences).
_PRUNED = ("usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/lintian/", "usr/share/doc-base/")
NONROOT_UID = 65532
PASSWD = ("root:x:0:0:root:/root:/sbin/nologin\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
          f"nonroot:x:{NONROOT_UID}:{NONROOT_UID}:nonroot:/home/nonroot:/sbin/nologin\n")
GROUP = f"root:x:0:\nnobody:x:65534:\nnonroot:x:{NONROOT_UID}:\n"
NSSWITCH = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"


def image_path(name: str, what: str) -> str | None:
    """A data.tar member's path in the image (merged /usr applied), None for the root itself; refuses escapes."""
    parts = [p for p in PurePosixPath(name.lstrip("/")).parts if p != "."]
    if ".." in parts:
        raise DebError(f"{what} has a file outside the image's root: {name!r}")
    if not parts:
        return None
    if parts[0] in MERGED_DIRS:
        parts = ["usr", *parts]
    return "/".join(parts)


def _merged_link(name: str) -> bool:
    """/bin -> usr/bin and its kind, which Debian 13's base-files ships itself; merge_usr makes them for every suite."""
    parts = [p for p in PurePosixPath(name.lstrip("/")).parts if p != "."]
    return len(parts) == 1 and parts[0] in MERGED_DIRS


def _pruned(path: str) -> bool:
    return path.startswith(_PRUNED) and not (path.startswith("usr/share/doc/") and path.endswith("/copyright"))


def _parent(root: Path, path: str, what: str) -> Path:
    """The real folder path's parent (made when missing); a parent that is a symlink or a file is refused."""
    directory = root
    for part in PurePosixPath(path).parts[:-1]:
        directory = directory / part
        if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
            raise DebError(f"{what} puts /{path} under /{directory.relative_to(root)}, which is no folder here")
        directory.mkdir(mode=0o755, exist_ok=True)
    return directory / PurePosixPath(path).name


def _clear(target: Path) -> None:
    if target.is_symlink() or target.is_file():
        target.unlink()


def _special(member: tarfile.TarInfo) -> Ownership | None:
    """The mode and owner to keep when they differ from what the layer writer would give (0755 folders, 0644/0755 files, root)."""
    mode = member.mode & 0o7777
    usual = mode == 0o755 if member.isdir() else mode in (0o644, 0o755)
    if usual and member.uid == 0 and member.gid == 0:
        return None
    return Ownership(mode, member.uid, member.gid)


def unpack(root: Path, deb: Deb, what: str, ownership: dict[str, Ownership]) -> None:
    """Write a package's files into root, as `dpkg-deb -x` would, with merged /usr."""
    for member, body in deb.files():
        path = image_path(member.name, what)
        if path is None or _pruned(path) or (member.issym() and _merged_link(member.name)):
            continue
        target = _parent(root, path, what)
        ownership.pop(path, None)
        if member.isdir():
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                raise DebError(f"{what} has the folder /{path} where another package put a file")
            target.mkdir(mode=0o755, exist_ok=True)
        elif member.issym():
            _clear(target)
            target.symlink_to(member.linkname)
        elif member.islnk():
            linked = image_path(member.linkname, what)
            if linked is None or not (root / linked).is_file():
                raise DebError(f"{what} hard-links /{path} to {member.linkname!r}, which it does not hold")
            _clear(target)
            shutil.copyfile(root / linked, target)
            target.chmod(0o755 if member.mode & 0o111 else 0o644)
        elif member.isreg():
            _clear(target)
            target.write_bytes(body or b"")
            target.chmod(0o755 if member.mode & 0o111 else 0o644)
        else:
            continue  # device nodes and FIFOs: no library or interpreter package ships them
        if (kept := _special(member)) is not None and not member.issym():
            ownership[path] = kept


def merge_usr(root: Path) -> None:
    """/bin, /sbin, /lib and (where the architecture has it) /lib64 as links into /usr, as on Debian 12 systems."""
    for name in MERGED_DIRS:
        if name in ("bin", "sbin", "lib") or (root / "usr" / name).is_dir():
            (root / "usr" / name).mkdir(parents=True, exist_ok=True)
            (root / name).symlink_to(f"usr/{name}")


def ca_bundle(root: Path) -> bool:
    """What update-ca-certificates (ca-certificates' postinst) makes: the certificates in sorted order, in one PEM file."""
    certificates = sorted((root / "usr/share/ca-certificates").rglob("*.crt"))
    if not certificates:
        return False
    texts = [c.read_text() for c in certificates]
    bundle = root / CA_BUNDLE
    bundle.parent.mkdir(parents=True, exist_ok=True)
    bundle.write_text("".join(t if t.endswith("\n") else t + "\n" for t in texts))
    # OpenSSL's compiled-in default paths, which Debian's openssl package (left out: it is a command) links to the bundle.
    ssl = root / "usr/lib/ssl"
    ssl.mkdir(parents=True, exist_ok=True)
    for name, target in (("cert.pem", f"/{CA_BUNDLE}"), ("certs", "/etc/ssl/certs")):
        if not (ssl / name).is_symlink() and not (ssl / name).exists():
            (ssl / name).symlink_to(target)
    return True


def accounts(root: Path, ownership: dict[str, Ownership]) -> None:
    """root, nobody and nonroot (65532, home /home/nonroot 0700), and a /tmp anyone may write, as distroless has them."""
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(PASSWD)
    (etc / "group").write_text(GROUP)
    if not (etc / "nsswitch.conf").exists():
        (etc / "nsswitch.conf").write_text(NSSWITCH)
    for path, mode, uid in (("tmp", 0o1777, 0), ("home", 0o755, 0), ("home/nonroot", 0o700, NONROOT_UID), ("root", 0o700, 0)):
        (root / path).mkdir(parents=True, exist_ok=True)
        if mode != 0o755:
            ownership[path] = Ownership(mode, uid, uid)


def python_links(root: Path, python: str) -> None:
    """python3 and python name the suite's python3.X, as python3-minimal (left out: it pulls in more) would have."""
    binary = root / "usr/bin" / f"python{python}"
    if not binary.is_file():
        raise DebError(f"the packages hold no /usr/bin/python{python}")
    for alias in ("python3", "python"):
        link = root / "usr/bin" / alias
        if not link.is_symlink() and not link.exists():
            link.symlink_to(f"python{python}")


def status_files(root: Path, debs: list[tuple[str, Deb]]) -> None:
    """/var/lib/dpkg/status.d/PACKAGE holds each package's control file, where distroless puts them for scanners."""
    directory = root / "var/lib/dpkg/status.d"
    directory.mkdir(parents=True, exist_ok=True)
    for name, deb in debs:
        (directory / name).write_text(deb.control_text)


def has_shell(root: Path) -> bool:
    sh = root / "usr/bin/sh"
    return sh.is_symlink() or sh.exists()


def assemble(root: Path, debs: list[tuple[str, Deb]], python: str) -> dict[str, Ownership]:
    """Build the whole tree into the empty folder root; returns the paths whose mode or owner the layer must keep."""
    ownership: dict[str, Ownership] = {}
    for name, deb in sorted(debs, key=lambda item: item[0]):
        unpack(root, deb, f"package {name}", ownership)
    merge_usr(root)
    accounts(root, ownership)
    ca_bundle(root)
    python_links(root, python)
    status_files(root, debs)
    for path in list(ownership):  # a file a later package replaced by a symlink keeps no mode
        if stat.S_ISLNK(os.lstat(root / path).st_mode):
            del ownership[path]
    return ownership
