"""hatch build -t container: pyjib as a hatch builder target."""
