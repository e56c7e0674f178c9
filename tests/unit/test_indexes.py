"""Index settings: where they come from, and credentials kept out of messages, logs and cache keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyjib.indexes import IndexConfig, credentials_for, index_config, redact, redact_text, without_credentials

TOKEN_URL = "https://ci:s3cr%2Ft@pypi.corp.example:8443/simple"


@pytest.mark.parametrize(("url", "shown"), [
    (TOKEN_URL, "https://ci:***@pypi.corp.example:8443/simple"),
    ("https://glpat-abc123@gitlab.example/api/v4/simple", "https://***@gitlab.example/api/v4/simple"),  # a token as the user
    ("https://ci:@pypi.corp.example/simple", "https://ci:***@pypi.corp.example/simple"),  # an empty password is still one
    ("https://pypi.org/simple?x=1#frag", "https://pypi.org/simple?x=1#frag"),
    ("/srv/wheels", "/srv/wheels"),
])
def test_redact_hides_the_password_or_token_and_keeps_where_it_points(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_without_credentials_drops_user_and_password_and_keeps_the_rest() -> None:
    assert without_credentials(TOKEN_URL) == "https://pypi.corp.example:8443/simple"
    assert without_credentials("https://a:b@c@host.example/simple") == "https://host.example/simple"  # the last @ ends them
    assert without_credentials("https://pypi.org/simple") == "https://pypi.org/simple"


def test_redact_text_hides_each_configured_password_as_written_and_decoded() -> None:
    config = IndexConfig(TOKEN_URL, ("https://bot:other-pass@mirror.example/simple",))
    text = (f"uv failed to fetch {TOKEN_URL}/flask/: 401; retried with s3cr%2Ft then s3cr/t; "
            "https://bot:other-pass@mirror.example/simple/x.whl")
    cleaned = redact_text(text, config)
    assert "s3cr" not in cleaned and "other-pass" not in cleaned
    assert cleaned == ("uv failed to fetch https://ci:***@pypi.corp.example:8443/simple/flask/: 401; retried with *** then ***; "
                       "https://bot:***@mirror.example/simple/x.whl")


def test_cache_identity_is_the_same_for_another_job_token_and_differs_for_another_index() -> None:
    one = IndexConfig("https://ci:job-1@pypi.corp.example/simple", find_links=("/srv/wheels",), uv_env={"UV_INDEX": "https://u:t1@x.example/s"})
    two = IndexConfig("https://ci:job-2@pypi.corp.example/simple", find_links=("/srv/wheels",), uv_env={"UV_INDEX": "https://u:t2@x.example/s"})
    assert one.cache_identity() == two.cache_identity()
    assert "job-1" not in repr(one.cache_identity()) and "t1" not in repr(one.cache_identity())
    assert IndexConfig("https://ci:job-1@pypi.corp.example/other").cache_identity() != one.cache_identity()


def test_credentials_come_from_a_configured_index_on_the_same_host_and_port_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))
    config = IndexConfig(TOKEN_URL)
    assert credentials_for("https://pypi.corp.example:8443/files/x.whl", config) == ("ci", "s3cr/t")


def test_credentials_for_another_host_come_from_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine files.example login reader password from-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    config = IndexConfig(TOKEN_URL)
    assert credentials_for("https://files.example/x.whl", config) == ("reader", "from-netrc")
    assert credentials_for("https://pypi.corp.example/x.whl", config) is None  # same host, other port, and no netrc entry
    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))
    assert credentials_for("https://files.example/x.whl", config) is None


def test_options_win_over_pip_variables_which_win_over_pip_conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("UV_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no uv.toml of this machine's user
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://conf.example/simple\n[install]\nextra-index-url = https://a.example/s\n  https://b.example/s\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    project = tmp_path / "project"
    project.mkdir()

    from_conf = index_config(project, None, (), ())
    assert (from_conf.index_url, from_conf.extra_index_urls, from_conf.best_match) == ("https://conf.example/simple",
                                                                                       ("https://a.example/s", "https://b.example/s"), True)
    assert from_conf.source == str(conf)

    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example/simple")
    from_env = index_config(project, None, (), ())
    assert (from_env.index_url, from_env.source) == ("https://env.example/simple", "PIP_INDEX_URL/PIP_EXTRA_INDEX_URL")

    from_options = index_config(project, "https://option.example/simple", (), ())
    assert (from_options.index_url, from_options.best_match, from_options.source) == ("https://option.example/simple", False,
                                                                                     "pyjib's index options")


def test_child_processes_get_the_settings_as_uv_variables_not_on_argv() -> None:
    config = IndexConfig(TOKEN_URL, ("https://mirror.example/simple",), ("/srv/wheels",), best_match=True)
    assert config.uv_environment() == {"UV_INDEX_URL": TOKEN_URL, "UV_EXTRA_INDEX_URL": "https://mirror.example/simple",
                                       "UV_FIND_LINKS": "/srv/wheels", "UV_INDEX_STRATEGY": "unsafe-best-match"}


def test_a_runners_own_uv_folders_and_download_settings_leave_the_identity_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two CI runners with their own UV_CACHE_DIR (setup-uv gives each job one) share fleet cache records; a variable
    that changes what uv resolves still changes the identity."""
    for name in [k for k in os.environ if k.startswith("UV_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "runner-1"))
    first = index_config(tmp_path, None, (), ()).cache_identity()
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "runner-2"))
    monkeypatch.setenv("UV_CONCURRENT_DOWNLOADS", "4")
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "pythons"))
    monkeypatch.setenv("UV_HTTP_TIMEOUT", "120")
    assert index_config(tmp_path, None, (), ()).cache_identity() == first
    monkeypatch.setenv("UV_EXCLUDE_NEWER", "2026-01-01T00:00:00Z")
    assert index_config(tmp_path, None, (), ()).cache_identity() != first
