"""`push --help` shows examples, the default base, and options grouped by what they are about."""

from __future__ import annotations

import argparse

from pyjib.cli import make_parser
from pyjib.settings import DEFAULT_BASE


def _groups(parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    return {group.title or "": {option for a in group._group_actions for option in a.option_strings}
            for group in parser._action_groups}


def test_push_help_groups_options_and_shows_examples_and_defaults() -> None:
    push = make_parser().commands["push"]  # type: ignore[attr-defined]
    groups = _groups(push)
    assert groups["layers"] == {"--compression", "--bytecode", "--layer-threshold-mb"}
    assert {"--registry-cache", "--registry-cache-repository", "--username", "--ca-cert"} <= groups["registries"]
    assert {"--index-url", "--lock-file", "--extras"} <= groups["what gets installed"]
    assert not groups["what gets installed"] & (groups["layers"] | groups["registries"])
    text = push.format_help()
    assert "examples:" in text and "pyjib push . --to" in text
    assert DEFAULT_BASE in " ".join(text.split())


def test_build_and_push_take_the_same_options() -> None:
    commands = make_parser().commands  # type: ignore[attr-defined]
    assert _groups(commands["build"]) == _groups(commands["push"])
