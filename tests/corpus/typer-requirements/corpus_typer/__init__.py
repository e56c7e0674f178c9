"""A typer and rich CLI that prints its version and the versions it runs on."""

import importlib.metadata

import typer
from rich.console import Console

__version__ = "1.0.0"

app = typer.Typer()


@app.command()
def main(version: bool = typer.Option(False, "--version")) -> None:
    if version:
        Console().print(f"corpus-typer {__version__} rich {importlib.metadata.version('rich')} typer {importlib.metadata.version('typer')}")
