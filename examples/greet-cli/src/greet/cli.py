import importlib.metadata
from importlib.resources import files

import click


@click.command()
@click.option("--name", default="world", help="who to greet")
def main(name: str) -> None:
    greeting = files("greet").joinpath("greetings.txt").read_text().strip()
    version = importlib.metadata.version("greet-cli")
    click.echo(f"{greeting}, {name}! (greet-cli {version}, click {importlib.metadata.version('click')})")
