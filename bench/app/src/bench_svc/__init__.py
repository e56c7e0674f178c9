"""A small inventory service: the app every tool in the benchmark builds."""
