"""Bases of your own from Debian packages: the archive, its signatures, dependency resolution, .deb extraction, the rootfs."""
