"""Serve the Django project with gunicorn on 127.0.0.1:$PORT."""

import os
import sys

from gunicorn.app.wsgiapp import run


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corpus_django.settings")
    sys.argv = ["gunicorn", "--bind", f"127.0.0.1:{os.environ['PORT']}", "--workers", "1", "corpus_django.wsgi:application"]
    run()
