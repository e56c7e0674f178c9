"""A small web service: one page from a template, one static file, and a JSON health check."""
