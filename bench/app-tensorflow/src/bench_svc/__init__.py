"""A TensorFlow service: the biggest app pyjib builds on this machine."""
