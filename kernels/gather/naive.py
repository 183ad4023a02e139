"""Plain torch reference for gathering cached memory units into one contiguous K/V buffer.

The device cache of a layer holds resident units in *slots*: ``store [S, Hkv, block, D]`` (one tensor for keys,
one for values). ``slots [N_units]`` maps a unit id to its slot (the cache's table; only resident units are
looked up — a missing unit must be loaded before the gather, the op does not check). ``idx [k]`` are the unit ids
chosen by the lookup. The result is ``[Hkv, k * block, D]``: unit ``idx[j]`` occupies rows ``j*block ..
(j+1)*block - 1`` of every KV head, in the order of ``idx`` — the layout ``segment_attention`` reads as one segment.
"""
from __future__ import annotations

import torch


def _slot_index(slots, idx, device):
    idx = idx.to(device=device, dtype=torch.long).view(-1)
    if slots is None:
        return idx
    return slots.to(device=device, dtype=torch.long).view(-1).index_select(0, idx)


def gather_units_ref(store, slots, idx):
    """``store [S, Hkv, block, D]`` (or a tuple of such, e.g. ``(k_store, v_store)``), ``slots [N] | None``,
    ``idx [k]`` -> ``[Hkv, k*block, D]`` (or a tuple). ``slots=None``: ``idx`` are slot numbers already.

    >>> store = torch.arange(3 * 1 * 2 * 1.).view(3, 1, 2, 1)
    >>> gather_units_ref(store, torch.tensor([2, 0, 1]), torch.tensor([0, 2]))[0, :, 0].tolist()
    [4.0, 5.0, 2.0, 3.0]
    """
    if isinstance(store, (tuple, list)):
        return type(store)(gather_units_ref(s, slots, idx) for s in store)
    S, Hkv, blk, D = store.shape
    sel = _slot_index(slots, idx, store.device)
    return store[sel].permute(1, 0, 2, 3).reshape(Hkv, sel.numel() * blk, D)

