from hatchling.plugin import hookimpl

from .plugin import ContainerBuilder


@hookimpl
def hatch_register_builder() -> type[ContainerBuilder]:
    return ContainerBuilder
