"""A small JSON service: POST a quote, get it back validated by pydantic."""
