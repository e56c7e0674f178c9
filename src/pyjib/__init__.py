"""pyjib: container images of Python projects, built without Docker and pushed straight to a registry."""

__version__ = "0.1.0"
