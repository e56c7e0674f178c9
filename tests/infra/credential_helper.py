"""A fake `docker-credential-NAME` on PATH, speaking the credential helper protocol (server on stdin, JSON on stdout).

install_helper() writes an executable script into a folder the test puts first on PATH. It answers from a JSON
store, logs every server it was asked for, and can be made to fail (exit 1) like a locked keychain.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

_SCRIPT = '''#!{python}
import json, sys
STORE = {store!r}
LOG = {log!r}
FAIL = {fail!r}
command = sys.argv[1] if len(sys.argv) > 1 else ""
server = sys.stdin.read().strip()
with open(LOG, "a") as log:
    log.write(command + " " + server + "\\n")
if command != "get":
    print("unsupported command " + command)
    sys.exit(1)
if FAIL:
    print("the keychain is locked (test helper told to fail)")
    sys.exit(1)
entries = json.load(open(STORE))
if server not in entries:
    print("credentials not found in native keychain")
    sys.exit(1)
username, secret = entries[server]
print(json.dumps({{"ServerURL": server, "Username": username, "Secret": secret}}))
'''


def install_helper(bin_dir: Path, name: str, entries: dict[str, tuple[str, str]], *, fail: bool = False) -> Path:
    """Write docker-credential-NAME into bin_dir; returns the log file listing `COMMAND SERVER` per call."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    store, log = bin_dir / f"{name}-store.json", bin_dir / f"{name}-calls.log"
    store.write_text(json.dumps(entries))
    log.write_text("")
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(_SCRIPT.format(python=sys.executable, store=str(store), log=str(log), fail=fail))
    script.chmod(0o755)
    return log


def path_with(bin_dir: Path) -> str:
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
