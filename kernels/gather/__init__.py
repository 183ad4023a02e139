"""Gather of cached memory units into one contiguous K/V segment."""
from .naive import gather_units_ref  # noqa: F401
