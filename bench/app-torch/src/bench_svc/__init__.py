"""A torch service: the benchmark's biggest app."""
