"""The CPU path of multi-segment attention (chosen by kernels.segment_attention / kernels.key_mass off CUDA).

``segment_attention_torch`` runs PyTorch's CPU flash-attention kernel
(``aten._scaled_dot_product_flash_attention_for_cpu``, the op behind ``scaled_dot_product_attention`` on CPU, which
also returns the log-sum-exp) on fp32 copies of the inputs, with grouped-query attention folded into the row axis
(``q [B, Hkv, G*Lq, D]`` against ``k [B, Hkv, Lk, D]``: K/V are not repeated per query head) and the visibility
rule of the reference as an additive mask. It never materialises the ``[B, H, Lq, Lk]`` scores, and measured
2-8x faster than the reference on 2 CPU cores (bench/kernels.py). fp16/bf16 inputs are up-cast first: on CPU the
fp32 kernel is faster than the bf16 one and matches the reference's fp32 arithmetic. Rows that see no key get
``o = 0, lse = -inf`` as in the reference (the aten op would report ``lse = 0`` for them).

``key_mass_torch`` is the reference's arithmetic done in place on one fp32 score buffer (half the memory, ~2x
faster). It is a second pass over Q.K by necessity: the mass uses each query's *final* log-sum-exp over all
segments.
"""
from __future__ import annotations

import torch

from .naive import _visible, segment_attention_ref

_FLASH_CPU = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)


def segment_attention_torch(q, k, v, scale, *, q_pos=None, k_pos=None, window=None, key_mask=None):
    """Same contract as ``segment_attention_ref``; CPU flash attention when available, else the reference."""
    B, H, Lq, D = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    if _FLASH_CPU is None or q.device.type != "cpu" or Lk == 0 or Lq == 0 or B == 0 or H % Hkv:
        return segment_attention_ref(q, k, v, scale, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask)
    g = H // Hkv
    DV = v.shape[-1]
    vis = _visible(q_pos, k_pos, window, key_mask, B, Lq, Lk, q.device)  # [B|1, 1, Lq|1, Lk] or None
    if vis is not None:
        vis = vis.expand(vis.shape[0], 1, Lq, Lk)
    qg = q.float().reshape(B, Hkv, g * Lq, D)
    kf, vf = k.float(), v.float()
    mask = None
    if vis is not None:
        b0 = vis.shape[0]
        rep = vis.view(b0, 1, 1, Lq, Lk).expand(b0, 1, g, Lq, Lk).reshape(b0, 1, g * Lq, Lk)
        mask = torch.zeros(rep.shape, dtype=torch.float32).masked_fill_(~rep, float("-inf"))
    o, lse = _FLASH_CPU(qg, kf, vf, attn_mask=mask, scale=float(scale))
    o = o.reshape(B, H, Lq, DV).float()
    lse = lse.reshape(B, H, Lq).float()
    if vis is not None:
        seen = vis.any(-1).expand(B, H, Lq)
        if not bool(seen.all()):
            lse = lse.masked_fill(~seen, float("-inf"))
            o = o.masked_fill(~seen.unsqueeze(-1), 0.0)
    return o, lse


def key_mass_torch(q, k, scale, lse, *, q_pos=None, k_pos=None, window=None, key_mask=None, q_mask=None):
    """Same contract and result as ``key_mass_ref``, computed in place on one fp32 buffer."""
    B, H, Lq, D = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    g = H // Hkv
    if Lk == 0 or Lq == 0:
        return torch.zeros(B, Hkv, Lk, device=q.device, dtype=torch.float32)
    vis = _visible(q_pos, k_pos, window, key_mask, B, Lq, Lk, q.device)
    s = torch.matmul(q.float().reshape(B, Hkv, g * Lq, D), k.float().transpose(-1, -2)).view(B, H, Lq, Lk)
    lse = lse.float()
    safe = torch.where(torch.isfinite(lse), lse, torch.full_like(lse, float("inf")))
    s.mul_(scale).sub_(safe.unsqueeze(-1))
    if vis is not None:
        s.masked_fill_(~vis, float("-inf"))
    s.exp_()
    if q_mask is not None:
        s.mul_(q_mask.view(B, 1, Lq, 1).to(s.dtype))
    return s.view(B, Hkv, g * Lq, Lk).sum(2)
