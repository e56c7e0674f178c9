"""The workspace's shared library: not published on any index, so only the workspace can provide it."""

import attrs


@attrs.frozen
class Greeting:
    text: str


GREETING = Greeting("hello from the workspace core")
