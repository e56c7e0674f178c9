"""A click CLI built by uv's own build backend."""

import importlib.metadata

import click


@click.command()
@click.version_option(importlib.metadata.version("corpus-uvbuild"), message="%(prog)s %(version)s")
def main() -> None:
    click.echo("corpus-uvbuild")
