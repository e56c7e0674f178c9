"""The command line: parse options, call the core, print the result on stdout and problems as one line on stderr."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__, api
from .api import Access, PublishRequest, default_cache_dir, publish
from .errors import ConfigError, PyjibError
from .log import Log
from .settings import DEFAULT_BASE, OPTIONS, TRUST_MODES, load_settings, options_from_table


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _argv(text: str) -> Any:
    """An argv option: a JSON list, or a string split like a shell would."""
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"not a JSON list of strings: {exc}") from exc
        return value
    return text


def _absolute(text: str) -> str:
    """A path from the command line, relative to the working folder (the file's paths are relative to the project)."""
    return str(Path(text).absolute())


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line and exit code 2, as for every other kind of bad input.
        command = " ".join(self.prog.split()[1:])  # "pyjib push" -> "push"; the top-level parser has none
        self.exit(2, f"pyjib: error: {message} (see `python -m pyjib {command + ' ' if command else ''}--help`)\n")


_EXAMPLES = """\
examples:
  pyjib push . --to registry.example.com/team/app:1.4.0
  pyjib push . --to ghcr.io/me/app:{git_short_sha} --tags latest --digest-file digest.txt
  pyjib push . --to registry.example.com/team/app --platform linux/amd64 --platform linux/arm64
  pyjib build . --to oci:dist/image        (or docker-archive:dist/app.tar, or docker-daemon:app:dev)
  pyjib build . --from gcr.io/distroless/python3-debian12:nonroot --module app --ports 8080 --to docker-daemon:app:dev

Every option can also live in [tool.pyjib] of pyproject.toml (the command line wins).
"""


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EXAMPLES
    parser.add_argument("project", nargs="?", default=".", help="the project folder (default: .)")
    where = parser.add_argument_group("where from, where to")
    where.add_argument("--from", dest="from_", metavar="IMAGE",
                       help=f"base image: a registry reference, oci:DIR[:TAG] or docker-archive:FILE (default: {DEFAULT_BASE})")
    where.add_argument("--to", metavar="TARGET", help="where the image goes:"
                       " REGISTRY/REPO[:TAG], oci:DIR[:TAG], docker-archive:FILE or docker-daemon:NAME[:TAG]")
    where.add_argument("--tags", action="append", metavar="TAG",
                       help="extra tags (repeatable, or comma-separated; {git_sha}, {git_short_sha}, {git_branch}, {version}, {env:NAME})")
    where.add_argument("--platform", dest="platforms", action="append", metavar="OS/ARCH",
                       help="platform to build for, repeatable for a multi-platform index (default: the base's, or linux/amd64)")
    image = parser.add_argument_group("the image's configuration")
    image.add_argument("--entrypoint", type=_argv, metavar="ARGV", help="entrypoint, as a JSON list or a shell-quoted string "
                       "(default: the project's console script)")
    image.add_argument("--module", metavar="MODULE", help="run the image as python -m MODULE")
    image.add_argument("--args", type=_argv, metavar="ARGV", help="default arguments (the image's Cmd)")
    image.add_argument("--environment", type=_key_value, action="append", metavar="KEY=VALUE", help="an environment variable (repeatable)")
    image.add_argument("--labels", type=_key_value, action="append", metavar="KEY=VALUE", help="a label (repeatable)")
    image.add_argument("--ports", action="append", metavar="PORT[/PROTO]", help="an exposed port (repeatable)")
    image.add_argument("--user", help="user to run as (default: the base's)")
    image.add_argument("--workdir", help="working directory (default: the base's; /app/src for an app folder)")
    image.add_argument("--name", help="an app folder's name for the image's title (default: the folder's name)")
    image.add_argument("--creation-time", metavar="TIME", help="ISO 8601, 'now' or epoch seconds (default: SOURCE_DATE_EPOCH, else the epoch)")
    dependencies = parser.add_argument_group("what gets installed")
    dependencies.add_argument("--extras", action="append", metavar="EXTRA", help="extras of the project to install (repeatable)")
    dependencies.add_argument("--groups", action="append", metavar="GROUP", help="dependency groups to install too (repeatable; default: none)")
    dependencies.add_argument("--lock-file", metavar="FILE", help="install exactly what FILE pins (default: a lock in the project)")
    dependencies.add_argument("--index-url", metavar="URL", help="the package index (default: PIP_INDEX_URL, uv's or pip's configuration)")
    dependencies.add_argument("--extra-index-url", action="append", metavar="URL", help="another package index (repeatable)")
    dependencies.add_argument("--find-links", action="append", metavar="DIR|URL", help="a folder or page of wheels (repeatable)")
    dependencies.add_argument("--constraint", type=_absolute, action="append", metavar="FILE",
                              help="a constraint file, as pip's -c (repeatable; default: PIP_CONSTRAINT, else pip.conf's constraint)")
    dependencies.add_argument("--only-binary", action="store_true", default=None, help="never build a dependency from its sdist")
    dependencies.add_argument("--refresh", action="store_true", help="resolve again, ignoring cached resolutions and the registry's fleet cache")
    layers = parser.add_argument_group("layers")
    layers.add_argument("--compression", choices=("gzip", "zstd"), help="how layers are compressed (default: gzip)")
    layers.add_argument("--bytecode", choices=("auto", "required", "off"), help="precompile .pyc files (default: auto)")
    layers.add_argument("--layer-threshold-mb", type=int, metavar="MB", help="a distribution bigger than this gets its own layer (default: 50)")
    registries = parser.add_argument_group("registries")
    registries.add_argument("--insecure-registries", action="append", metavar="HOST[:PORT]", help="registries allowed over plain HTTP (repeatable)")
    registries.add_argument("--registry-cache", action=argparse.BooleanOptionalAction, default=None,
                            help="keep a fleet cache record in the target repository (default: yes)")
    registries.add_argument("--registry-cache-repository", metavar="REGISTRY/REPO",
                            help="keep fleet cache records in this repository, not the target's (as BuildKit's cache-to)")
    registries.add_argument("--registry-cache-trust", choices=TRUST_MODES,
                            help="read fleet cache records authenticated with PYJIB_CACHE_KEY (key, the default), or any (repository)")
    outputs = parser.add_argument_group("what pyjib writes besides the image")
    outputs.add_argument("--sbom", choices=("spdx", "cyclonedx", "false"), help="the SBOM attached to each image (default: spdx)")
    outputs.add_argument("--provenance", action=argparse.BooleanOptionalAction, default=None,
                         help="attach an unsigned SLSA provenance statement (default: yes)")
    outputs.add_argument("--image-refs", type=Path, metavar="FILE", help="write every pushed REF:TAG@DIGEST to FILE, one a line (as ko does)")
    outputs.add_argument("--write-lock", type=Path, metavar="FILE", help="write what was installed as a pylock.toml to FILE")
    _add_output_options(outputs, registries)

def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pyjib", description="Build container images of Python projects without Docker.")
    parser.add_argument("--version", action="version", version=f"pyjib {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    parser.commands = commands.choices  # type: ignore[attr-defined]
    build = commands.add_parser(
        "build", help="build the image into an OCI layout (oci:DIR), a docker-archive (docker-archive:FILE) or a running engine (docker-daemon:NAME[:TAG])")
    _add_build_options(build)
    push_parser = commands.add_parser("push", help="build the image and push it to a registry")
    _add_build_options(push_parser)
    _add_base_options(commands.add_parser("base", help="make a distroless-like Python base from Debian packages"))
    _add_rebase_options(commands.add_parser("rebase", help="move an image pyjib built onto a new base, rebuilding nothing"))
    sbom = commands.add_parser("sbom", help="print the SBOM attached to an image (a registry reference or oci:DIR[:TAG])")
    sbom.add_argument("image", metavar="IMAGE", help="REGISTRY/REPO[:TAG|@DIGEST] or oci:DIR[:TAG]")
    sbom.add_argument("--platform", metavar="OS/ARCH", help="the platform's SBOM, for a multi-platform image")
    sbom.add_argument("--insecure-registries", action="append", metavar="HOST[:PORT]", help="registries allowed over plain HTTP (repeatable)")
    sbom.add_argument("--ca-cert", action="append", type=Path, metavar="FILE", help="a PEM CA to trust for registries (repeatable)")
    sbom.add_argument("--cache-dir", type=Path, metavar="DIR", help=f"cache folder (default: {default_cache_dir()})")
    skaffold = commands.add_parser("skaffold", help="Skaffold's custom build command: push to $IMAGE when $PUSH_IMAGE is true, "
                                   "else load it into the local engine; $BUILD_CONTEXT, $PLATFORMS")
    skaffold.epilog = "Any other option is passed on to push or build."
    inputs = commands.add_parser("inputs", help="print the files a build reads, as a JSON array (Skaffold's dependencies.command)")
    inputs.add_argument("project", nargs="?", default=".", help="the project folder (default: .)")
    return parser


_Options = argparse.ArgumentParser | argparse._ArgumentGroup  # where add_argument goes: a command, or a group of its help


def _add_output_options(outputs: _Options, registries: _Options) -> None:
    """The options every command that writes an image shares: what it writes besides, and the registry login."""
    outputs.add_argument("--digest-file", type=Path, metavar="FILE", help="also write the image digest to FILE")
    outputs.add_argument("--cache-dir", type=Path, metavar="DIR", help=f"cache folder (default: {default_cache_dir()})")
    outputs.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    registries.add_argument("--username", metavar="USER", help="login for the target registry (with --password-stdin); else PYJIB_USERNAME")
    registries.add_argument("--password-stdin", action="store_true", help="read the password (or token) for --username from stdin")
    registries.add_argument("--ca-cert", action="append", type=Path, metavar="FILE", help="a PEM CA to trust for registries (repeatable)")


def _add_registry_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--insecure-registries", action="append", metavar="HOST[:PORT]", help="registries allowed over plain HTTP (repeatable)")
    _add_output_options(parser, parser)


def _add_rebase_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="an image pyjib built: a registry reference or oci:DIR[:TAG]")
    parser.add_argument("--from", dest="from_", metavar="NEW_BASE", required=True, help="the new base image")
    parser.add_argument("--to", metavar="TARGET", required=True, help="where the rebased image goes: REGISTRY/REPO:TAG or oci:DIR[:TAG]")
    _add_registry_options(parser)


def _add_base_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", nargs="?", default=".", help="folder whose pyproject.toml may hold [tool.pyjib.base] (default: .)")
    parser.add_argument("--to", metavar="TARGET", help="REGISTRY/REPO:TAG, oci:DIR[:TAG] or docker-archive:FILE")
    parser.add_argument("--suite", help="the Debian suite (default: bookworm)")
    parser.add_argument("--python", metavar="X.Y", help="the suite's Python (default: 3.11)")
    parser.add_argument("--package", dest="packages", action="append", metavar="NAME",
                        help="another Debian package, with its dependencies (repeatable)")
    parser.add_argument("--exclude", dest="exclude", action="append", metavar="NAME",
                        help="leave out a default package no other package needs, such as libstdc++6 (repeatable)")
    parser.add_argument("--platform", dest="platforms", action="append", metavar="OS/ARCH",
                        help="linux/amd64 (default) or linux/arm64; repeatable for an index")
    parser.add_argument("--lock", metavar="FILE", help="read the exact packages from FILE, or write them there when it is absent")
    parser.add_argument("--mirror", action="append", metavar="URL", help="a Debian archive (repeatable; default: the host's apt sources)")
    parser.add_argument("--keyring", metavar="FILE", help="OpenPGP keyring the archive signs with (default: Debian's archive keyring)")
    _add_registry_options(parser)


def cli_options(namespace: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line, in [tool.pyjib]'s spelling, checked like the file's."""
    raw: dict[str, Any] = {}
    for name in OPTIONS:
        value = getattr(namespace, name.replace("-", "_") + ("_" if name == "from" else ""), None)
        if value is None:
            continue
        if OPTIONS[name] == "dict":
            value = dict(value)
        elif OPTIONS[name] == "list":
            value = [item.strip() for entry in value for item in entry.split(",") if item.strip()]
        raw[name] = value
    return options_from_table(raw, "command line")


def registry_access(namespace: argparse.Namespace) -> Access:
    """The login and CAs from the command line; the password comes from stdin only, never from argv."""
    password = None
    if namespace.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    if (namespace.username is None) != (password is None):
        raise ConfigError("--username and --password-stdin go together: give both, or neither")
    return Access(namespace.username, password, tuple(namespace.ca_cert or ()))


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments; an unknown flag is reported by the command it was given to, so the help it points at is that command's."""
    parser = make_parser()
    namespace, unknown = parser.parse_known_args(argv)
    if namespace.command == "skaffold":  # its options are push's and build's, checked when it runs them
        namespace.options = unknown
    elif unknown:
        parser.commands[namespace.command].error(f"unrecognized arguments: {' '.join(unknown)}")  # type: ignore[attr-defined]
    return namespace


def run_base(namespace: argparse.Namespace) -> int:
    given = {key: value for key in api.BASE_OPTIONS if (value := getattr(namespace, key, None)) is not None}
    built = api.build_base(Path(namespace.project), given, access=registry_access(namespace), insecure_registries=namespace.insecure_registries or (),
                           cache_dir=namespace.cache_dir, log=Log(quiet=namespace.quiet))
    return _report(namespace, built.location, built.digest)


def _report(namespace: argparse.Namespace, location: str, digest: str) -> int:
    if namespace.digest_file:
        namespace.digest_file.parent.mkdir(parents=True, exist_ok=True)
        namespace.digest_file.write_text(digest + "\n")
    print(location, flush=True)
    return 0


def run_rebase(namespace: argparse.Namespace) -> int:
    done = api.rebase(namespace.image, namespace.from_, namespace.to, access=registry_access(namespace),
                      insecure_registries=namespace.insecure_registries or (), cache_dir=namespace.cache_dir, log=Log(quiet=namespace.quiet))
    return _report(namespace, done.location, done.digest)


def print_sbom(namespace: argparse.Namespace) -> int:
    document = api.read_sbom(namespace.image, namespace.platform, access=Access(ca_certs=tuple(namespace.ca_cert or ())),
                             insecure_registries=namespace.insecure_registries or (), cache_dir=namespace.cache_dir)
    sys.stdout.buffer.write(document + b"\n")
    sys.stdout.flush()
    return 0


def run(argv: Sequence[str]) -> int:
    namespace = parse(argv)
    if namespace.command == "base":
        return run_base(namespace)
    if namespace.command == "rebase":
        return run_rebase(namespace)
    if namespace.command == "sbom":
        return print_sbom(namespace)
    if namespace.command == "skaffold":
        return run([*api.skaffold_argv(os.environ), *namespace.options])
    if namespace.command == "inputs":
        print(json.dumps(api.build_inputs(Path(namespace.project))), flush=True)
        return 0
    settings = load_settings(Path(namespace.project), cli_options(namespace))
    access = registry_access(namespace)
    request = PublishRequest(namespace.command, namespace.cache_dir, Log(quiet=namespace.quiet), access, namespace.refresh, namespace.write_lock)
    published = publish(settings, request)
    if namespace.digest_file:
        namespace.digest_file.parent.mkdir(parents=True, exist_ok=True)
        namespace.digest_file.write_text(published.digest + "\n")
    if namespace.image_refs:
        namespace.image_refs.parent.mkdir(parents=True, exist_ok=True)
        namespace.image_refs.write_text("".join(f"{ref}\n" for ref in published.references))
    print(published.location, flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except PyjibError as exc:
        print(f"pyjib: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a folder that cannot be written, a full disk: the system's words, on one line
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"pyjib: error: {exc.strerror or exc}{where}; check the path and its permissions", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pyjib: interrupted", file=sys.stderr, flush=True)
        # Uploads in flight run in worker threads that the interpreter would join at exit (a stuck one for minutes).
        # Nothing is half published (a manifest goes up only after its blobs), and the next build sweeps what this
        # one leaves in the cache, so the process ends here.
        sys.stdout.flush()
        os._exit(130)
