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

``segment_attention_mass_torch`` avoids that second pass when the other segments are done first (block memory
computes the small global segment before the local one): one Q.K product, the mask applied only to the columns some
query cannot see (the chunk's causal tail), one exp, then ``P.V`` and the mass as a matrix-vector product with the
per-query weights ``exp(m - lse_total)``. ``python bench/passkey.py --lengths 8192,32768 --depths 0.5 --mode block``
on 2 quiet CPU cores: 8.75 / 8.83 s per 1K tokens with flash attention + ``key_mass`` (bench/out/passkey_quiet.json),
7.66 / 7.73 with this path (bench/out/passkey_linear.json).
"""
from __future__ import annotations

import torch

from .naive import _visible, segment_attention_mass_ref, segment_attention_ref

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


def segment_attention_mass_torch(q, k, v, scale, *, q_pos=None, k_pos=None, window=None, key_mask=None,
                                 lse_other=None, q_mask=None):
    """Same contract and result as ``segment_attention_mass_ref``: one score pass for output and key mass."""
    B, H, Lq, D = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    if Lk == 0 or Lq == 0 or B == 0 or H % Hkv:
        return segment_attention_mass_ref(q, k, v, scale, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask,
                                          lse_other=lse_other, q_mask=q_mask)
    g = H // Hkv
    DV = v.shape[-1]
    s = torch.matmul((q.float() * scale).reshape(B, Hkv, g * Lq, D), k.float().transpose(-1, -2)).view(B, H, Lq, Lk)
    vis = _visible(q_pos, k_pos, window, key_mask, B, Lq, Lk, q.device)  # [B|1, 1, Lq, Lk] or None
    if vis is not None:
        hidden = ~vis
        cols = hidden.reshape(-1, Lk).any(0).nonzero()
        if cols.numel():  # mask only from the first column some query cannot see (the causal tail, usually)
            c = int(cols[0])
            s[..., c:].masked_fill_(hidden[..., c:], float("-inf"))
    m = s.amax(-1, keepdim=True)                                     # [B, H, Lq, 1]
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))       # rows that see nothing: exp gives 0 below
    s.sub_(m).exp_()                                                 # e = exp(s - m), in place
    z = s.sum(-1, keepdim=True)
    lse = (m + z.log()).squeeze(-1)                                  # -inf where nothing is visible
    seen = z > 0
    o = torch.matmul(s.view(B, Hkv, g * Lq, Lk), v.float()).view(B, H, Lq, DV)
    o = torch.where(seen, o / torch.where(seen, z, torch.ones_like(z)), torch.zeros_like(o))
    total = lse if lse_other is None else torch.logaddexp(lse, lse_other.float())
    w = torch.exp(m.squeeze(-1) - total)                             # e * w = exp(s - total)
    w = torch.where(torch.isfinite(total), w, torch.zeros_like(w))
    if q_mask is not None:
        w = w * q_mask.view(B, 1, Lq).to(w.dtype)
    mass = torch.matmul(w.reshape(B, Hkv, 1, g * Lq), s.view(B, Hkv, g * Lq, Lk)).view(B, Hkv, Lk)
    return o, lse, mass
