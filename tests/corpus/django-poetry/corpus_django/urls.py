"""One view: the versions the service runs on, and whether a development tool leaked into the image."""

import importlib.util

import django
from django.http import HttpRequest, JsonResponse
from django.urls import path


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"django": django.get_version(), "pytest_in_image": importlib.util.find_spec("pytest") is not None})


urlpatterns = [path("health", health)]
