"""How much the registry client reads into memory, and the sizes it reads and sends in.

go-containerregistry caps tokens and error bodies at 64 KiB; manifests here at the 4 MiB that registries accept, as
distribution and the OCI distribution spec's "at least 4 MiB" put it.
"""

from __future__ import annotations

MANIFEST_LIMIT = 4 << 20  # any body read whole that is not a token or an error: manifests, indexes, upload answers
TOKEN_LIMIT = 64 << 10
ERROR_LIMIT = 64 << 10  # of an error answer's body, the rest is not read
CONFIG_LIMIT = 16 << 20  # a config blob, read into memory (image configs, fleet cache records)
DEFAULT_CHUNK_SIZE = 8 << 20  # PATCH size when a registry asks for chunks (at least its OCI-Chunk-Min-Length)
READ_SIZE = 1 << 20  # what is read at a time from a streamed answer or from a file being uploaded


def size_text(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"
