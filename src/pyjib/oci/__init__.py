"""The image model of the OCI image spec: content digests, descriptors, media types, platforms, and images, indexes and
artifacts as values built up step by step. It imports nothing of pyjib but the errors: no transport, no tar writer."""
