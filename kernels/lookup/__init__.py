"""Memory-unit lookup: score every unit against a chunk's query summary and keep the top k.

``naive.py`` reference, ``torch_impl.py`` CPU path, ``triton_impl.py`` GPU kernel (imported lazily).
"""
from .naive import unit_topk_ref  # noqa: F401
