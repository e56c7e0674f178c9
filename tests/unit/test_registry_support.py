"""The registry client's helpers: retry timing, TLS files from certs.d, and upload progress on stderr."""

from __future__ import annotations

import io
import re
import ssl
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from pyjib.errors import ConfigError
from pyjib.log import Log
from pyjib.progress import Progress, human_size
from pyjib.registry.retry import RetryPolicy, parse_retry_after, policy_from_environment, timeout_from_environment
from pyjib.registry.tls import find_tls_files, ssl_context
from pyjib.registry.tokens import TokenCache, covers, parse_scope


def test_backoff_is_bounded_full_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0, rand=lambda: 1.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert RetryPolicy(rand=lambda: 0.0).delay(3) == 0.0
    assert RetryPolicy(rand=lambda: 0.0, max_retry_after=30).delay(1, retry_after=120) == 30  # a registry asking too much gets the cap


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now.timestamp) == pytest.approx(30)
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now.timestamp) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_environment_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYJIB_HTTP_RETRIES", "2")
    monkeypatch.setenv("PYJIB_HTTP_TIMEOUT", "7.5")
    assert policy_from_environment().tries == 2 and timeout_from_environment() == 7.5
    monkeypatch.setenv("PYJIB_HTTP_RETRIES", "0")
    with pytest.raises(ConfigError, match="PYJIB_HTTP_RETRIES"):
        policy_from_environment()
    monkeypatch.setenv("PYJIB_HTTP_TIMEOUT", "never")
    with pytest.raises(ConfigError, match="PYJIB_HTTP_TIMEOUT"):
        timeout_from_environment()


def test_scopes_cover_what_they_name() -> None:
    assert parse_scope("repository:127.0.0.1:5000/a:pull,push") == (("repository", "127.0.0.1:5000/a"), frozenset({"pull", "push"}))
    assert covers(["repository:a:pull,push"], ["repository:a:pull"])
    assert not covers(["repository:a:pull"], ["repository:a:pull,push"])
    assert covers(["repository:a:pull,push", "repository:b:pull"], ["repository:b:pull", "repository:a:push"])
    assert not covers(["repository:a:pull,push"], ["repository:b:pull"])


def test_token_cache_forgets_refused_and_expired_tokens() -> None:
    now = [0.0]
    cache = TokenCache(lambda: now[0])
    cache.put(["repository:a:pull"], "T1", 300)
    assert cache.get(["repository:a:pull"]) == "T1"
    cache.forget("T1")
    assert cache.get(["repository:a:pull"]) is None
    cache.put(["repository:a:pull"], "T2", None)  # no expires_in: the spec's 60 s, renewed 10 s early
    now[0] = 49.0
    assert cache.get(["repository:a:pull"]) == "T2"
    now[0] = 51.0
    assert cache.get(["repository:a:pull"]) is None


# --- TLS ----------------------------------------------------------------------------------------------------------------
def test_certs_d_gives_cas_and_client_pairs(tmp_path: Path) -> None:
    roots = [tmp_path / "containers", tmp_path / "docker"]
    (roots[0] / "reg.example:5000").mkdir(parents=True)
    (roots[1] / "reg.example:5000").mkdir(parents=True)
    (roots[0] / "reg.example:5000" / "ca.crt").write_text("ca")
    (roots[1] / "reg.example:5000" / "other.crt").write_text("ca2")
    (roots[1] / "reg.example:5000" / "client.cert").write_text("cert")
    (roots[1] / "reg.example:5000" / "client.key").write_text("key")
    files = find_tls_files("reg.example:5000", (tmp_path / "given.pem",), roots=roots)
    assert files.ca_files == (tmp_path / "given.pem", roots[0] / "reg.example:5000" / "ca.crt", roots[1] / "reg.example:5000" / "other.crt")
    assert files.client_pairs == ((roots[1] / "reg.example:5000" / "client.cert", roots[1] / "reg.example:5000" / "client.key"),)
    assert find_tls_files("reg.example", roots=roots).ca_files == ()  # the port is part of the folder's name


def test_a_client_cert_without_its_key_or_a_bad_ca_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "r.io").mkdir()
    (tmp_path / "r.io" / "client.cert").write_text("cert")
    with pytest.raises(ConfigError, match=r"has no key client\.key"):
        find_tls_files("r.io", roots=[tmp_path])
    (tmp_path / "bad.pem").write_text("not a certificate")
    from pyjib.registry.tls import TlsFiles

    with pytest.raises(ConfigError, match=r"cannot use CA certificate .*bad\.pem"):
        ssl_context(TlsFiles((tmp_path / "bad.pem",)))
    assert isinstance(ssl_context(TlsFiles()), ssl.SSLContext)


# --- progress -----------------------------------------------------------------------------------------------------------
def test_one_line_per_blob_when_not_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(Log(), terminal=False)
    bar = progress.blob("sha256:0123456789ab", 2_500_000)
    bar.update(1_000_000)
    bar.finish("uploaded")
    progress.blob("sha256:ba9876543210", 10).finish("exists")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("uploaded sha256:0123456789ab (2.5 MB)") and lines[1].endswith("exists sha256:ba9876543210 (10 B)")


def test_nothing_when_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    for terminal in (True, False):
        progress = Progress(Log(quiet=True), terminal=terminal)
        bar = progress.blob("sha256:0123456789ab", 100)
        bar.update(50)
        bar.finish("uploaded")
    assert capsys.readouterr() == ("", "")


def test_live_bars_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(Log(), terminal=True)
    first, second = progress.blob("sha256:aaaaaaaaaaaa", 1000), progress.blob("sha256:bbbbbbbbbbbb", 1000)
    first.update(500)
    first.finish("uploaded")
    second.finish("mounted")
    err = capsys.readouterr().err
    plain = re.sub(r"\x1b\[\d*[AJ]", "", err)
    assert "\x1b[" in err  # bars are redrawn in place
    assert "[" + "#" * 24 + "]" in plain or "[" + "." * 24 + "]" in plain
    assert "uploaded sha256:aaaaaaaaaaaa (1.0 kB)" in plain and "mounted sha256:bbbbbbbbbbbb (1.0 kB)" in plain
    assert err.endswith("(1.0 kB)\n")  # no bar left behind once every blob is done


def test_human_sizes() -> None:
    assert [human_size(n) for n in (0, 999, 1000, 19_400_000, 3 * 10**9)] == ["0 B", "999 B", "1.0 kB", "19.4 MB", "3.0 GB"]


def test_progress_stream_is_stderr_not_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    Progress(Log(), stream=io.StringIO(), terminal=False).blob("sha256:cccccccccccc", 1).finish("uploaded")
    assert capsys.readouterr().out == ""
