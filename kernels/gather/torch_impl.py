"""The CPU path of the unit gather (chosen by kernels.gather_units off CUDA).

Row gather over a flat view: with ``store [S, Hkv, block, D]`` contiguous, ``store.view(S*Hkv, block*D)`` has one
row per (slot, head), and the rows ``slot[j]*Hkv + h`` taken in (h, j) order are exactly the ``[Hkv, k*block, D]``
result — one ``index_select`` of contiguous rows (a memcpy each), no per-unit Python loop, optionally straight
into a preallocated ``out``. Measured on 2 cores for 16 units of 8 heads x 64 x 128 fp32 (8 MB): 0.1-0.2 ms,
against 24-32 ms for the reference (``store[sel].permute(...).reshape``) and 10-16 ms for an ``index_select``
over the head-transposed store (torch's strided gather kernels are slow on CPU). A non-contiguous store falls
back to the latter.
"""
from __future__ import annotations

import torch

from .naive import _slot_index


def gather_units_torch(store, slots, idx, *, out=None):
    """Same contract as ``gather_units_ref`` (tuple in, tuple out); ``out`` is an optional result buffer."""
    if isinstance(store, (tuple, list)):
        outs = out if out is not None else (None,) * len(store)
        return type(store)(gather_units_torch(s, slots, idx, out=o) for s, o in zip(store, outs))
    S, Hkv, blk, D = store.shape
    sel = _slot_index(slots, idx, store.device)
    kk = sel.numel()
    if out is None:
        out = torch.empty(Hkv, kk * blk, D, dtype=store.dtype, device=store.device)
    if kk == 0:
        return out
    if store.is_contiguous() and out.is_contiguous():
        rows = (sel.view(1, kk) * Hkv + torch.arange(Hkv, device=store.device).view(Hkv, 1)).view(-1)
        torch.index_select(store.view(S * Hkv, blk * D), 0, rows, out=out.view(Hkv * kk, blk * D))
    else:
        torch.index_select(store.transpose(0, 1), 1, sel, out=out.view(Hkv, kk, blk, D))
    return out
