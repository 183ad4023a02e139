"""Plain torch reference for multi-segment attention (the semantics every fast path must match).

A *segment* is one K/V tensor pair seen by a chunk of queries with one mask rule. Block memory attends to
two segments per chunk — the global one (sinks + retrieved memory units, no mask) and the local one (window +
the chunk itself, causal) — and merges them with one joint softmax. Merging partial results by their
log-sum-exp is exact: ``softmax([s1, s2]) @ [v1; v2] = w1 * o1 + w2 * o2`` with ``w_i = exp(lse_i - lse)``.

Shapes: ``q [B, H, Lq, D]``, ``k, v [B, Hkv, Lk, D]`` with ``H % Hkv == 0`` (grouped-query attention: query head
``h`` reads KV head ``h // (H // Hkv)``; K/V are never materialised per query head).
"""
from __future__ import annotations

import torch


def _visible(q_pos, k_pos, window, key_mask, B, Lq, Lk, device):
    """Boolean [B, 1, Lq, Lk] visibility, or None when everything is visible."""
    vis = None
    if q_pos is not None:
        d = q_pos.view(-1, 1).to(device) - k_pos.view(1, -1).to(device)
        vis = d >= 0
        if window is not None:
            vis = vis & (d < window)
        vis = vis.view(1, 1, Lq, Lk)
    if key_mask is not None:
        km = key_mask.view(B, 1, 1, Lk).to(device)
        vis = km if vis is None else (vis & km)
    return vis


def _scores(q, k, scale):
    B, H, Lq, D = q.shape
    Hkv = k.shape[1]
    g = H // Hkv
    qg = q.float().reshape(B, Hkv, g * Lq, D)
    s = torch.matmul(qg, k.float().transpose(-1, -2)) * scale  # [B, Hkv, g*Lq, Lk]
    return s.view(B, H, Lq, k.shape[2])


def segment_attention_ref(q, k, v, scale, *, q_pos=None, k_pos=None, window=None, key_mask=None):
    """Attention of ``q`` over one segment.

    Key ``j`` is visible to query ``i`` iff ``key_mask[b, j]`` (when given) and, when positions are given
    (``q_pos [Lq]``, ``k_pos [Lk]`` integer tensors), ``0 <= q_pos[i] - k_pos[j] < window`` (``window=None``: no
    lower bound). Returns ``(o [B, H, Lq, D] float32, lse [B, H, Lq] float32)``; ``o`` is normalised within the
    segment; rows that see no key get ``o = 0`` and ``lse = -inf``.

    >>> q = torch.randn(1, 4, 3, 8); k = torch.randn(1, 2, 5, 8); v = torch.randn(1, 2, 5, 8)
    >>> o, lse = segment_attention_ref(q, k, v, 8 ** -0.5)
    >>> o.shape, lse.shape
    (torch.Size([1, 4, 3, 8]), torch.Size([1, 4, 3]))
    """
    B, H, Lq, D = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    if Lk == 0:
        return q.new_zeros(B, H, Lq, v.shape[-1], dtype=torch.float32), q.new_full((B, H, Lq), float("-inf"), dtype=torch.float32)
    s = _scores(q, k, scale)
    vis = _visible(q_pos, k_pos, window, key_mask, B, Lq, Lk, q.device)
    if vis is not None:
        s = s.masked_fill(~vis, float("-inf"))
    lse = torch.logsumexp(s, dim=-1)  # [B, H, Lq]
    safe = torch.where(torch.isfinite(lse), lse, torch.zeros_like(lse))
    p = torch.exp(s - safe.unsqueeze(-1))
    g = H // Hkv
    o = torch.matmul(p.view(B, Hkv, g * Lq, Lk), v.float()).view(B, H, Lq, v.shape[-1])
    return o, lse


def merge_attention(parts):
    """Merge ``[(o_i, lse_i), ...]`` of disjoint segments into the joint-softmax result ``(o, lse)``."""
    if len(parts) == 1:
        return parts[0]
    lses = torch.stack([p[1] for p in parts], 0)
    lse = torch.logsumexp(lses, dim=0)
    safe = torch.where(torch.isfinite(lse), lse, torch.zeros_like(lse))
    o = 0
    for oi, li in parts:
        w = torch.exp(li - safe)
        w = torch.where(torch.isfinite(li), w, torch.zeros_like(w))
        o = o + oi * w.unsqueeze(-1)
    return o, lse


def key_mass_ref(q, k, scale, lse, *, q_pos=None, k_pos=None, window=None, key_mask=None, q_mask=None):
    """Attention mass each key received: ``mass[b, g, j] = sum_{h in group g} sum_i exp(s_hij - lse_hi)``.

    ``lse`` is the *final* log-sum-exp of each query over all segments, so the mass is the key's share of the joint
    softmax. ``q_mask [B, Lq]`` excludes queries (padding). Returns float32 ``[B, Hkv, Lk]``.
    """
    B, H, Lq, D = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    s = _scores(q, k, scale)
    vis = _visible(q_pos, k_pos, window, key_mask, B, Lq, Lk, q.device)
    if vis is not None:
        s = s.masked_fill(~vis, float("-inf"))
    safe = torch.where(torch.isfinite(lse), lse, torch.full_like(lse, float("inf")))
    p = torch.exp(s - safe.unsqueeze(-1))  # [B, H, Lq, Lk]
    if q_mask is not None:
        p = p * q_mask.view(B, 1, Lq, 1).to(p.dtype)
    return p.view(B, Hkv, H // Hkv, Lq, Lk).sum(dim=(2, 3))


def segment_attention_mass_ref(q, k, v, scale, *, q_pos=None, k_pos=None, window=None, key_mask=None, lse_other=None,
                               q_mask=None):
    """``segment_attention_ref`` and ``key_mass_ref`` of the same segment in one call: ``(o, lse, mass)``.

    ``lse_other [B, H, Lq]`` is the log-sum-exp of the queries over the *other* segments of the joint softmax
    (``None``: there are none), so that ``mass`` is each key's share of the joint softmax, with the final
    ``lse = logaddexp(lse, lse_other)``. ``o`` and ``lse`` are the segment's own (merge them as usual).
    """
    o, lse = segment_attention_ref(q, k, v, scale, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask)
    total = lse if lse_other is None else torch.logaddexp(lse, lse_other.float())
    mass = key_mass_ref(q, k, scale, total, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask, q_mask=q_mask)
    return o, lse, mass
