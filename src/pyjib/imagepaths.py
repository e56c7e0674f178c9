"""Where pyjib puts things in the image: everything under one folder, /app, that the base may already own."""

from __future__ import annotations

APP_ROOT = "/app"
PREFIX = f"{APP_ROOT}/venv"  # the virtual environment: dependencies, the project, console scripts
