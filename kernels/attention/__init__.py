"""Multi-segment attention: attention of a query chunk over several K/V segments merged by log-sum-exp.

``naive.py`` reference, ``torch_impl.py`` CPU path, ``triton_impl.py`` GPU kernels (imported lazily).
"""
from .naive import segment_attention_ref, merge_attention, key_mass_ref  # noqa: F401
