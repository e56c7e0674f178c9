"""A TensorFlow service: the benchmark's next biggest app after torch."""
