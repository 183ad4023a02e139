"""Memory-unit lookup: score every unit against a chunk's query summary and keep the top k."""
from .naive import unit_topk_ref  # noqa: F401
