"""pyjib's benchmark against its peers: run it with `python3 bench/run.py` from the repository root (see bench/README.md)."""
