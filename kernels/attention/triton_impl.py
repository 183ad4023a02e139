"""Triton kernels for multi-segment attention (semantics: kernels/attention/naive.py).

``segment_attention_triton`` — one launch per segment, returns ``(o, lse)`` like the reference; segments are then
merged by log-sum-exp (``merge_attention``). Inside a segment the softmax is online (running max / running sum
over key tiles), the scores never reach global memory.

Grouped-query attention: one program handles a tile of the *group's* rows — the ``G = H // Hkv`` query heads of a
KV head stacked over the chunk (row ``r`` is head ``r // Lq`` of the group, query ``r % Lq``), so every K/V tile
is loaded once per group and never repeated per query head.

Masks: positions (``q_pos``, ``k_pos``, optional ``window``) and ``key_mask`` exactly as the reference. A key tile
that no row of the program can see (decided from the tile's min/max key position) is skipped without loading
K/V: with sorted positions this halves the work of the causal chunk-on-itself segment.

``key_mass_triton`` — the per-key attention mass needs the *final* log-sum-exp of every query over all segments,
which exists only after the last segment has been merged; it is therefore a second pass over Q·K (documented
choice; it reads Q and K once more but never V, and writes only ``[B, Hkv, Lk]``). It is deterministic: one
program owns a key tile and loops over all rows of its group, no atomics.

Precision: scores, softmax and accumulators in fp32; P is cast to V's dtype for the P·V product (fp16/bf16 inputs,
the usual flash-attention trade-off); fp32 inputs use IEEE fp32 dots (no TF32). Under ``TRITON_INTERPRET=1`` the
interpreter's bf16 ``tl.dot`` returns garbage (numpy has no bf16; measured with triton 3.9), so the kernels take
a ``DOT_F32`` switch that up-casts dot operands to fp32; it is set only when interpreting.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from .._triton import interpreting, next_pow2

LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453
_BIG = tl.constexpr(2 ** 30)  # int32 sentinel: positions are int32 inside the kernels


@triton.jit
def _seg_attn_fwd(
    Q, K, V, O, LSE, QPOS, KPOS, KMASK,
    sqb, sqh, sqm, sqd,
    skb, skh, skn, skd,
    svb, svh, svn, svd,
    sob, soh, som, sod,
    slb, slh, slm,
    skmb, skmn,
    HKV, G, LQ, LK, D, DV, qk_scale, window,
    HAS_POS: tl.constexpr, HAS_WINDOW: tl.constexpr, HAS_KMASK: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_DV: tl.constexpr,
    DOT_F32: tl.constexpr, IEEE: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_bh = tl.program_id(1)
    b = pid_bh // HKV
    kvh = pid_bh % HKV

    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < G * LQ
    hq = kvh * G + rows // LQ          # query head of each row
    iq = rows % LQ                     # query index of each row
    offs_d = tl.arange(0, BLOCK_D)
    offs_dv = tl.arange(0, BLOCK_DV)
    d_ok = offs_d < D
    dv_ok = offs_dv < DV

    q_ptrs = Q + b * sqb + hq[:, None] * sqh + iq[:, None] * sqm + offs_d[None, :] * sqd
    q = tl.load(q_ptrs, mask=row_ok[:, None] & d_ok[None, :], other=0.0)
    if DOT_F32:
        q = q.to(tl.float32)

    if HAS_POS:
        qp = tl.load(QPOS + iq, mask=row_ok, other=0)
        qp_max = tl.max(tl.where(row_ok, qp, -_BIG), axis=0)
        qp_min = tl.min(tl.where(row_ok, qp, _BIG), axis=0)

    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_DV], dtype=tl.float32)

    k_base = K + b * skb + kvh * skh
    v_base = V + b * svb + kvh * svh
    for start in range(0, LK, BLOCK_N):
        offs_n = start + tl.arange(0, BLOCK_N)
        n_ok = offs_n < LK
        run = True
        if HAS_POS:
            kp = tl.load(KPOS + offs_n, mask=n_ok, other=0)
            kp_min = tl.min(tl.where(n_ok, kp, _BIG), axis=0)
            run = kp_min <= qp_max
            if HAS_WINDOW:
                kp_max = tl.max(tl.where(n_ok, kp, -_BIG), axis=0)
                run = run & (qp_min - kp_max < window)
        if run:
            k = tl.load(k_base + offs_n[None, :] * skn + offs_d[:, None] * skd,
                        mask=n_ok[None, :] & d_ok[:, None], other=0.0)
            if DOT_F32:
                k = k.to(tl.float32)
            if IEEE:
                s = tl.dot(q, k, input_precision="ieee")
            else:
                s = tl.dot(q, k)
            s = s * qk_scale                                   # log2 domain
            vis = n_ok[None, :]
            if HAS_POS:
                dist = qp[:, None] - kp[None, :]
                vis = vis & (dist >= 0)
                if HAS_WINDOW:
                    vis = vis & (dist < window)
            if HAS_KMASK:
                km = tl.load(KMASK + b * skmb + offs_n * skmn, mask=n_ok, other=0)
                vis = vis & (km != 0)[None, :]
            s = tl.where(vis, s, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(s, axis=1))
            m_use = tl.where(m_new == float("-inf"), 0.0, m_new)
            alpha = tl.exp2(m_i - m_use)
            p = tl.exp2(s - m_use[:, None])
            l_i = l_i * alpha + tl.sum(p, axis=1)
            v = tl.load(v_base + offs_n[:, None] * svn + offs_dv[None, :] * svd,
                        mask=n_ok[:, None] & dv_ok[None, :], other=0.0)
            if DOT_F32:
                v = v.to(tl.float32)
                pv = p
            else:
                pv = p.to(v.dtype)
            if IEEE:
                acc = acc * alpha[:, None] + tl.dot(pv, v, input_precision="ieee")
            else:
                acc = acc * alpha[:, None] + tl.dot(pv, v)
            m_i = m_new

    seen = l_i > 0
    l_safe = tl.where(seen, l_i, 1.0)
    o = acc / l_safe[:, None]
    lse = tl.where(seen, (m_i + tl.log2(l_safe)) * 0.6931471805599453, float("-inf"))
    o_ptrs = O + b * sob + hq[:, None] * soh + iq[:, None] * som + offs_dv[None, :] * sod
    tl.store(o_ptrs, o, mask=row_ok[:, None] & dv_ok[None, :])
    tl.store(LSE + b * slb + hq * slh + iq * slm, lse, mask=row_ok)


@triton.jit
def _key_mass_kernel(
    Q, K, LSE, MASS, QPOS, KPOS, KMASK, QMASK,
    sqb, sqh, sqm, sqd,
    skb, skh, skn, skd,
    slb, slh, slm,
    smb, smh, smn,
    skmb, skmn, sqmb, sqmm,
    HKV, G, LQ, LK, D, qk_scale, window,
    HAS_POS: tl.constexpr, HAS_WINDOW: tl.constexpr, HAS_KMASK: tl.constexpr, HAS_QMASK: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
    DOT_F32: tl.constexpr, IEEE: tl.constexpr,
):
    pid_n = tl.program_id(0)
    pid_bh = tl.program_id(1)
    b = pid_bh // HKV
    kvh = pid_bh % HKV

    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    n_ok = offs_n < LK
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < D
    k = tl.load(K + b * skb + kvh * skh + offs_n[None, :] * skn + offs_d[:, None] * skd,
                mask=n_ok[None, :] & d_ok[:, None], other=0.0)
    if DOT_F32:
        k = k.to(tl.float32)
    vis_n = n_ok
    if HAS_KMASK:
        km = tl.load(KMASK + b * skmb + offs_n * skmn, mask=n_ok, other=0)
        vis_n = vis_n & (km != 0)
    if HAS_POS:
        kp = tl.load(KPOS + offs_n, mask=n_ok, other=0)
        kp_min = tl.min(tl.where(n_ok, kp, _BIG), axis=0)
        kp_max = tl.max(tl.where(n_ok, kp, -_BIG), axis=0)

    mass = tl.zeros([BLOCK_N], dtype=tl.float32)
    for start in range(0, G * LQ, BLOCK_M):
        rows = start + tl.arange(0, BLOCK_M)
        row_ok = rows < G * LQ
        hq = kvh * G + rows // LQ
        iq = rows % LQ
        run = True
        if HAS_POS:
            qp = tl.load(QPOS + iq, mask=row_ok, other=0)
            qp_max = tl.max(tl.where(row_ok, qp, -_BIG), axis=0)
            run = kp_min <= qp_max
            if HAS_WINDOW:
                qp_min = tl.min(tl.where(row_ok, qp, _BIG), axis=0)
                run = run & (qp_min - kp_max < window)
        if run:
            q = tl.load(Q + b * sqb + hq[:, None] * sqh + iq[:, None] * sqm + offs_d[None, :] * sqd,
                        mask=row_ok[:, None] & d_ok[None, :], other=0.0)
            if DOT_F32:
                q = q.to(tl.float32)
            if IEEE:
                s = tl.dot(q, k, input_precision="ieee")
            else:
                s = tl.dot(q, k)
            s = s * qk_scale
            lse = tl.load(LSE + b * slb + hq * slh + iq * slm, mask=row_ok, other=float("-inf"))
            lse2 = lse * 1.4426950408889634
            ok = row_ok & (lse2 != float("-inf"))
            if HAS_QMASK:
                qm = tl.load(QMASK + b * sqmb + iq * sqmm, mask=row_ok, other=0)
                ok = ok & (qm != 0)
            vis = ok[:, None] & vis_n[None, :]
            if HAS_POS:
                dist = qp[:, None] - kp[None, :]
                vis = vis & (dist >= 0)
                if HAS_WINDOW:
                    vis = vis & (dist < window)
            lse_use = tl.where(ok, lse2, 0.0)
            p = tl.where(vis, tl.exp2(s - lse_use[:, None]), 0.0)
            mass += tl.sum(p, axis=0)
    tl.store(MASS + b * smb + kvh * smh + offs_n * smn, mass, mask=n_ok)


def attn_config(D: int, DV: int, fp32: bool = False) -> dict:
    """Tile sizes and launch options of the attention kernel for head dims ``D`` (keys) and ``DV`` (values).

    fp16/bf16: 64x64 tiles, 4 warps, 2 stages for head dims 64 and 128 — the fastest of 12 configurations timed on an
    H200 (``bench/kernels_tune.py``, bench/out/kernels_tune.json): one block-memory chunk's two segments took 241 us
    at head dim 128 (32/8 heads) vs 422 us with the earlier 64x32 / 8-warp guess, and 137 us at head dim 64 (9/3
    heads, the embedded model) vs 143 us. At head dim 128 with 4 warps ptxas spills (~0.8-1 KB of stack per thread,
    bench/kernels_compile.py), yet the 8-warp tiles without spills timed 2x slower. fp32 inputs (IEEE dots): 32x32
    tiles, 4 warps (8 for head dim 128), not timed on a GPU.
    """
    bd = max(16, next_pow2(D))
    bdv = max(16, next_pow2(DV))
    if interpreting():
        # The interpreter runs each program in numpy: big tiles = few programs = fast tests.
        return dict(BLOCK_M=64, BLOCK_N=64, BLOCK_D=bd, BLOCK_DV=bdv)
    wide = max(bd, bdv)
    if fp32:
        return dict(BLOCK_M=32, BLOCK_N=32, BLOCK_D=bd, BLOCK_DV=bdv, num_warps=4 if wide <= 64 else 8, num_stages=2)
    return dict(BLOCK_M=64, BLOCK_N=64, BLOCK_D=bd, BLOCK_DV=bdv, num_warps=4 if wide <= 128 else 8, num_stages=2)


def mass_config(D: int, fp32: bool = False) -> dict:
    """Tiles of the key-mass kernel (a key tile per program, query rows looped); see ``attn_config``.

    fp16/bf16, timed on an H200 (bench/out/kernels_tune.json, local segment of one chunk): head dim 64 (9/3 heads):
    128x64 tiles, 8 warps, 3 stages, 43 us (was 64x64 / 4 warps: 129 us); head dim 128 (32/8 heads): 64x128, 4 warps,
    151 us (was 32x64 / 8 warps: 268 us).
    """
    bd = max(16, next_pow2(D))
    if interpreting():
        return dict(BLOCK_M=64, BLOCK_N=64, BLOCK_D=bd)
    if fp32:
        return dict(BLOCK_M=32, BLOCK_N=32, BLOCK_D=bd, num_warps=4, num_stages=2)
    if bd <= 64:
        return dict(BLOCK_M=128, BLOCK_N=64, BLOCK_D=bd, num_warps=8, num_stages=3)
    return dict(BLOCK_M=64, BLOCK_N=128, BLOCK_D=bd, num_warps=4 if bd <= 128 else 8, num_stages=2)


def _pos_args(q_pos, k_pos, window, device):
    has_pos = q_pos is not None
    if has_pos:
        if k_pos is None:
            raise ValueError("q_pos given without k_pos")
        # int32 positions halve the registers of the [BLOCK_M, BLOCK_N] distance tile; block memory passes
        # positions relative to its anchor (small), |pos| < 2**30 is required.
        q_pos = q_pos.to(device=device, dtype=torch.int32).contiguous().view(-1)
        k_pos = k_pos.to(device=device, dtype=torch.int32).contiguous().view(-1)
    has_window = has_pos and window is not None
    return has_pos, has_window, q_pos, k_pos, int(window) if has_window else 0


def segment_attention_triton(q, k, v, scale, *, q_pos=None, k_pos=None, window=None, key_mask=None):
    """Triton twin of ``segment_attention_ref`` (same arguments, same results up to dtype tolerance)."""
    B, H, Lq, D = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    DV = v.shape[-1]
    if H % Hkv:
        raise ValueError(f"query heads {H} not a multiple of KV heads {Hkv}")
    G = H // Hkv
    if Lk == 0 or Lq == 0 or B == 0:
        return (torch.zeros(B, H, Lq, DV, device=q.device, dtype=torch.float32),
                torch.full((B, H, Lq), float("-inf"), device=q.device, dtype=torch.float32))
    # the grid covers every (head, query) row and the kernel stores each one: no memset needed
    o = torch.empty(B, H, Lq, DV, device=q.device, dtype=torch.float32)
    lse = torch.empty(B, H, Lq, device=q.device, dtype=torch.float32)
    has_pos, has_window, qp, kp, win = _pos_args(q_pos, k_pos, window, q.device)
    has_km = key_mask is not None
    km = key_mask.to(device=q.device, dtype=torch.int8).reshape(B, Lk) if has_km else None
    cfg = attn_config(D, DV, fp32=torch.float32 in (q.dtype, k.dtype, v.dtype))
    dot_f32 = interpreting() and torch.bfloat16 in (q.dtype, k.dtype, v.dtype)
    ieee = q.dtype == torch.float32 or k.dtype == torch.float32
    dummy = o
    grid = (triton.cdiv(G * Lq, cfg["BLOCK_M"]), B * Hkv)
    _seg_attn_fwd[grid](
        q, k, v, o, lse,
        qp if has_pos else dummy, kp if has_pos else dummy, km if has_km else dummy,
        *q.stride(), *k.stride(), *v.stride(), *o.stride(), *lse.stride(),
        *(km.stride() if has_km else (0, 0)),
        Hkv, G, Lq, Lk, D, DV, float(scale) * LOG2E, win,
        HAS_POS=has_pos, HAS_WINDOW=has_window, HAS_KMASK=has_km, DOT_F32=dot_f32, IEEE=ieee, **cfg,
    )
    return o, lse


def key_mass_triton(q, k, scale, lse, *, q_pos=None, k_pos=None, window=None, key_mask=None, q_mask=None):
    """Triton twin of ``key_mass_ref``: float32 ``[B, Hkv, Lk]``."""
    B, H, Lq, D = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    G = H // Hkv
    if Lk == 0 or Lq == 0 or B == 0:
        return torch.zeros(B, Hkv, Lk, device=q.device, dtype=torch.float32)
    mass = torch.empty(B, Hkv, Lk, device=q.device, dtype=torch.float32)  # every key stored by its program
    has_pos, has_window, qp, kp, win = _pos_args(q_pos, k_pos, window, q.device)
    has_km = key_mask is not None
    km = key_mask.to(device=q.device, dtype=torch.int8).reshape(B, Lk) if has_km else None
    has_qm = q_mask is not None
    qm = q_mask.to(device=q.device, dtype=torch.int8).reshape(B, Lq) if has_qm else None
    lse = lse.to(device=q.device, dtype=torch.float32)
    cfg = mass_config(D, fp32=torch.float32 in (q.dtype, k.dtype))
    dot_f32 = interpreting() and torch.bfloat16 in (q.dtype, k.dtype)
    ieee = q.dtype == torch.float32 or k.dtype == torch.float32
    dummy = mass
    grid = (triton.cdiv(Lk, cfg["BLOCK_N"]), B * Hkv)
    _key_mass_kernel[grid](
        q, k, lse, mass,
        qp if has_pos else dummy, kp if has_pos else dummy, km if has_km else dummy, qm if has_qm else dummy,
        *q.stride(), *k.stride(), *lse.stride(), *mass.stride(),
        *(km.stride() if has_km else (0, 0)), *(qm.stride() if has_qm else (0, 0)),
        Hkv, G, Lq, Lk, D, float(scale) * LOG2E, win,
        HAS_POS=has_pos, HAS_WINDOW=has_window, HAS_KMASK=has_km, HAS_QMASK=has_qm, DOT_F32=dot_f32, IEEE=ieee,
        **cfg,
    )
    return mass
