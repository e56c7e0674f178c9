"""A workspace member that prints what its sibling says."""

import httpx
from corpus_ws_core import GREETING


def main() -> None:
    print(f"{GREETING.text} (httpx {httpx.__version__})")
