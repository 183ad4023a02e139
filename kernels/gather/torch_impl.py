"""The CPU path of the unit gather (chosen by kernels.gather_units off CUDA): one ``index_select`` straight into the
``[Hkv, k, block, D]`` layout — one copy instead of the reference's two — optionally into a preallocated ``out``."""
from __future__ import annotations

import torch

from .naive import _slot_index


def gather_units_torch(store, slots, idx, *, out=None):
    """The CPU path: one ``index_select`` straight into the ``[Hkv, k, block, D]`` layout (one copy instead of the
    reference's two), optionally into a preallocated ``out [Hkv, k*block, D]``."""
    if isinstance(store, (tuple, list)):
        outs = out if out is not None else (None,) * len(store)
        return type(store)(gather_units_torch(s, slots, idx, out=o) for s, o in zip(store, outs))
    S, Hkv, blk, D = store.shape
    sel = _slot_index(slots, idx, store.device)
    kk = sel.numel()
    if out is None:
        out = torch.empty(Hkv, kk * blk, D, dtype=store.dtype, device=store.device)
    torch.index_select(store.transpose(0, 1), 1, sel, out=out.view(Hkv, kk, blk, D))
    return out
