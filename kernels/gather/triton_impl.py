"""Triton kernel gathering cached memory units into one contiguous ``[Hkv, k*block, D]`` buffer
(semantics: kernels/gather/naive.py).

One program copies one ``(unit j, KV head h, row tile)`` piece: it reads the unit's slot (``slots[idx[j]]``, on
the device, so no host sync and no per-unit Python loop) and moves ``BLOCK_R x D`` elements. Keys and values are
gathered by the same launch shape, one launch each.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .._triton import next_pow2


@triton.jit
def _gather_kernel(
    STORE, SLOTS, IDX, OUT,
    ss0, ss1, ss2, ss3,
    so0, so1, so2,
    BLK, D,
    HAS_SLOTS: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_D: tl.constexpr,
):
    j = tl.program_id(0)
    h = tl.program_id(1)
    rt = tl.program_id(2)
    u = tl.load(IDX + j)
    if HAS_SLOTS:
        slot = tl.load(SLOTS + u)
    else:
        slot = u
    rows = rt * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.arange(0, BLOCK_D)
    m = (rows < BLK)[:, None] & (cols < D)[None, :]
    src = STORE + slot.to(tl.int64) * ss0 + h * ss1 + rows[:, None] * ss2 + cols[None, :] * ss3
    x = tl.load(src, mask=m)
    dst = OUT + h * so0 + (j * BLK + rows)[:, None] * so1 + cols[None, :] * so2
    tl.store(dst, x, mask=m)


def gather_config(blk: int, D: int) -> dict:
    """``BLOCK_R`` rows of one unit per program (about 4K elements), the whole head dim per row."""
    bd = max(16, next_pow2(D))
    br = max(1, min(next_pow2(blk), max(1, 4096 // bd)))
    return dict(BLOCK_R=br, BLOCK_D=bd)


def gather_units_triton(store, slots, idx, *, out=None):
    """Triton twin of ``gather_units_ref`` (also accepts a preallocated ``out``)."""
    if isinstance(store, (tuple, list)):
        outs = out if out is not None else (None,) * len(store)
        return type(store)(gather_units_triton(s, slots, idx, out=o) for s, o in zip(store, outs))
    S, Hkv, blk, D = store.shape
    idx = idx.to(device=store.device, dtype=torch.int64).contiguous().view(-1)
    kk = idx.numel()
    if out is None:
        out = torch.empty(Hkv, kk * blk, D, dtype=store.dtype, device=store.device)
    if kk == 0 or blk == 0:
        return out
    has_slots = slots is not None
    sl = slots.to(device=store.device, dtype=torch.int64).contiguous().view(-1) if has_slots else idx
    cfg = gather_config(blk, D)
    grid = (kk, Hkv, triton.cdiv(blk, cfg["BLOCK_R"]))
    _gather_kernel[grid](store, sl, idx, out, *store.stride(), *out.stride(), blk, D, HAS_SLOTS=has_slots, **cfg)
    return out
