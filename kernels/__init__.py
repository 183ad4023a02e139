"""memgram.kernels: one dispatch point per op; Triton on CUDA, the best CPU path otherwise.

Ops: ``segment_attention`` / ``merge_attention`` / ``key_mass`` (multi-segment attention) and ``unit_topk``
(memory-unit lookup). Each op folder holds ``naive.py`` (plain torch reference) beside its kernels.
"""
from .attention.naive import merge_attention
from .attention.naive import segment_attention_ref as segment_attention
from .attention.naive import key_mass_ref as key_mass
from .lookup.naive import unit_topk_ref as unit_topk

__all__ = ["segment_attention", "merge_attention", "key_mass", "unit_topk"]
