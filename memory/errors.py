"""Errors of the block-memory layer."""


class UnsupportedModelError(ValueError):
    """The model (type, rope type or attention layout) is not supported by block memory; the message says which are."""
