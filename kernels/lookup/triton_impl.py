"""Triton kernel for memory-unit lookup fused with top-k (semantics: kernels/lookup/naive.py).

Two launches, no full score vector in global memory:

1. ``_unit_topk_tile``: one program per tile of ``BLOCK_N`` units computes the tile's scores
   (``sum_g qsum[g] . reprs[n, g]``, fp32 accumulation, the ``Hkv*D`` reduction walked in ``BLOCK_K`` slices)
   in registers and keeps only the tile's best ``k`` as ``(score, index)`` candidates.
2. ``_select_topk``: one program selects the final ``k`` from the ``n_tiles * k`` candidates.

For 64K units (tiles of 256, ``k = 16``) that is 4,096 candidates written instead of 65,536 scores.
Selection is ``k`` rounds of "max, then the lowest index holding it", so ties go to the lower unit index, as in
the reference's stable sort; it works for any ``k`` (rounds are a runtime loop), and stays cheap for the
small ``k`` block memory uses (16-64). Large ``k`` relative to the tile (> BLOCK_N / 4) is better served by the
torch path; the dispatcher does not special-case it because block memory never asks for it.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .._triton import interpreting, next_pow2

_BIG_IDX = tl.constexpr(2 ** 62)


@triton.jit
def _unit_topk_tile(
    QSUM, REPRS, CAND_S, CAND_I,
    srn, srf, N, F, K,
    BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid = tl.program_id(0)
    offs_n = pid.to(tl.int64) * BLOCK_N + tl.arange(0, BLOCK_N)
    n_ok = offs_n < N
    acc = tl.zeros([BLOCK_N], dtype=tl.float32)
    for f0 in range(0, F, BLOCK_K):
        offs_f = f0 + tl.arange(0, BLOCK_K)
        f_ok = offs_f < F
        qv = tl.load(QSUM + offs_f, mask=f_ok, other=0.0).to(tl.float32)
        r = tl.load(REPRS + offs_n[:, None] * srn + offs_f[None, :] * srf,
                    mask=n_ok[:, None] & f_ok[None, :], other=0.0).to(tl.float32)
        acc += tl.sum(r * qv[None, :], axis=1)
    idx = offs_n
    alive = n_ok
    for t in range(0, K):
        best = tl.max(tl.where(alive, acc, float("-inf")), axis=0)
        hit = alive & (acc == best)
        pick = tl.min(tl.where(hit, idx, _BIG_IDX), axis=0)
        tl.store(CAND_S + pid * K + t, best)
        tl.store(CAND_I + pid * K + t, pick)
        alive = alive & (idx != pick)


@triton.jit
def _select_topk(CAND_S, CAND_I, OUT, M, K, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    ok = offs < M
    s = tl.load(CAND_S + offs, mask=ok, other=float("-inf"))
    idx = tl.load(CAND_I + offs, mask=ok, other=_BIG_IDX)
    alive = ok & (idx < _BIG_IDX)
    for t in range(0, K):
        best = tl.max(tl.where(alive, s, float("-inf")), axis=0)
        hit = alive & (s == best)
        pick = tl.min(tl.where(hit, idx, _BIG_IDX), axis=0)
        tl.store(OUT + t, pick)
        alive = alive & (idx != pick)


def lookup_config(n: int, k: int, feat: int) -> dict:
    """Tile of units per program (``BLOCK_N``), reduction slice (``BLOCK_K``) and launch options.

    Tiles of 128-1024 units: enough programs to keep every SM streaming representatives (256 programs at 64K
    units), few enough candidates (``n_tiles * k``) for the single selection program. The ``[BLOCK_N, BLOCK_K]``
    register tile is kept at 8K elements (no spills at 8 warps in an sm_90 compile, bench/kernels_compile.py).
    """
    if interpreting():
        return dict(BLOCK_N=256, BLOCK_K=min(128, max(16, next_pow2(feat))))
    bn = min(1024, max(128, next_pow2(max(1, n // 256))))
    while bn < 4 * k and bn < 4096:
        bn *= 2
    bk = min(max(16, next_pow2(feat)), max(8, 8192 // bn))
    return dict(BLOCK_N=bn, BLOCK_K=bk, num_warps=8, num_stages=3)


def select_config(m: int) -> dict:
    block = max(16, next_pow2(m))
    if interpreting():
        return dict(BLOCK=block)
    return dict(BLOCK=block, num_warps=8 if block >= 2048 else 4)


def unit_topk_triton(qsum: torch.Tensor, reprs: torch.Tensor, k: int) -> torch.Tensor:
    """Triton twin of ``unit_topk_ref``: int64 indices of the ``min(k, N)`` best units, best first."""
    n = reprs.shape[0]
    k = min(int(k), n)
    if k <= 0:
        return torch.zeros(0, dtype=torch.long, device=reprs.device)
    hkv, d = reprs.shape[1], reprs.shape[2]
    feat = hkv * d
    r2 = reprs.reshape(n, feat)            # a view for the usual contiguous store
    q1 = qsum.reshape(feat).contiguous()
    cfg = lookup_config(n, k, feat)
    bn = cfg["BLOCK_N"]
    kt = min(k, bn)
    n_tiles = triton.cdiv(n, bn)
    cand_s = torch.empty(n_tiles * kt, device=reprs.device, dtype=torch.float32)
    cand_i = torch.empty(n_tiles * kt, device=reprs.device, dtype=torch.int64)
    _unit_topk_tile[(n_tiles,)](q1, r2, cand_s, cand_i, r2.stride(0), r2.stride(1), n, feat, kt, **cfg)
    m = n_tiles * kt
    out = torch.empty(k, device=reprs.device, dtype=torch.int64)
    if m > 16384:   # not reached by block memory (k <= 64, N <= ~1M); keep a correct path anyway
        order = torch.sort(cand_s, descending=True, stable=True).indices[:k]
        # candidates are in (tile, rank) order = index order among equal scores, so the stable sort keeps ties right
        return cand_i[order]
    _select_topk[(1,)](cand_s, cand_i, out, m, k, **select_config(m))
    return out
