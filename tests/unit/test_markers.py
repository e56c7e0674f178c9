"""Markers are evaluated for the image's interpreter, never for the host running pyjib (an x86_64 machine here)."""

from pyjib.interpreter import Interpreter
from pyjib.markers import image_extras, top_level_requirements
from pyjib.oci.platforms import Platform

ARM = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "arm64"))
AMD = Interpreter("/usr/bin/python3.11", "3.11.2", "glibc", (2, 36), Platform("linux", "amd64"))


def test_markers_are_evaluated_for_the_image_not_the_host() -> None:
    requires = [
        "flask>=3",
        'uvloop; platform_machine == "aarch64"',
        'pywin32; sys_platform == "win32"',
        'tomli; python_version < "3.11"',
        'backport; python_full_version < "3.11.5"',
        'newer; python_full_version >= "3.11.5"',
        'gunicorn; extra == "server"',
    ]
    assert top_level_requirements(requires, [], ARM) == ["backport", "flask>=3", "uvloop"]
    assert "gunicorn" in top_level_requirements(requires, ["Server"], ARM)


def test_self_referencing_extras_are_expanded() -> None:
    requires = ["a", 'b; extra == "web"', 'app[web]; extra == "all"', 'c; extra == "other"']
    extras = image_extras(requires, "app", ("all",), ARM)
    assert extras == ("all", "web")
    assert top_level_requirements(requires, extras, ARM, "app") == ["a", "b"]


# The project's own extras once went by the host: building linux/arm64 on x86_64 dropped the arm extra and took the x86 one.
MACHINE_EXTRAS = ['app[arm]; platform_machine == "aarch64"', 'app[x86]; platform_machine == "x86_64"',
                  'arm-only; extra == "arm"', 'x86-only; extra == "x86"', "common"]


def test_an_extra_gated_on_the_machine_follows_the_image_not_the_host() -> None:
    assert image_extras(MACHINE_EXTRAS, "app", (), ARM) == ("arm",)
    assert top_level_requirements(MACHINE_EXTRAS, image_extras(MACHINE_EXTRAS, "app", (), ARM), ARM, "app") == ["arm-only", "common"]


def test_an_extra_gated_on_the_machine_is_taken_for_its_machine_only() -> None:
    assert image_extras(MACHINE_EXTRAS, "app", (), AMD) == ("x86",)
    assert top_level_requirements(MACHINE_EXTRAS, image_extras(MACHINE_EXTRAS, "App", (), AMD), AMD, "App") == ["common", "x86-only"]


def test_a_chain_of_extras_and_an_unchosen_one() -> None:
    requires = ['app[b]; extra == "a"', 'app[c]; extra == "b"', 'app[d]; extra == "nobody"', 'x; extra == "c"']
    assert image_extras(requires, "app", ("A",), AMD) == ("a", "b", "c")
    assert image_extras(requires, "app", (), AMD) == ()
