"""memgram.kernels: one dispatch point per op; Triton on CUDA, the best CPU path otherwise.

Ops: ``segment_attention`` / ``merge_attention`` / ``key_mass`` (multi-segment attention), ``unit_topk``
(memory-unit lookup) and ``gather_units`` (cached units -> one contiguous K/V segment). Each op folder holds
``naive.py`` (the plain torch reference that defines the semantics), ``triton_impl.py`` (the GPU kernels) and,
where it pays, ``torch_impl.py`` (the CPU path).

Dispatch rule (``MEMGRAM_KERNELS`` environment variable, read at every call):

- ``auto`` (default): the Triton kernel when the input tensors are on CUDA and triton is installed; otherwise the
  CPU path (``torch_impl``), which is never slower than the reference (bench/kernels.py shows the numbers).
- ``triton``: always the Triton kernel; on CPU tensors this needs ``TRITON_INTERPRET=1`` (how the tests run the
  kernels), and raises a clear error otherwise.
- ``torch``: always the CPU/torch path (on CUDA tensors the torch paths fall back to the reference arithmetic).

``merge_attention`` is elementwise over ``[B, H, Lq, D]``; it has no kernel (the torch ops are memory-bound and at
that size a launch or two either way does not matter) and is the reference on every device.

Triton launches happen under ``torch.cuda.device(tensor.device)``, so a layer placed on ``cuda:1`` by
``device_map="auto"`` runs its kernels on ``cuda:1``; inputs on mixed devices raise a ``ValueError``
(see ``kernels.placement`` for the per-layer device helpers).
"""
from __future__ import annotations

import torch

from ._triton import check_same_device, device_guard, use_triton
from .attention.naive import merge_attention, segment_attention_ref, key_mass_ref, segment_attention_mass_ref
from .attention.torch_impl import key_mass_torch, segment_attention_mass_torch, segment_attention_torch
from .gather.naive import gather_units_ref
from .gather.torch_impl import gather_units_torch
from .lookup.naive import unit_topk_ref
from .lookup.torch_impl import unit_topk_torch


def segment_attention(q, k, v, scale, *, q_pos=None, k_pos=None, window=None, key_mask=None):
    """Attention of ``q [B, H, Lq, D]`` over one K/V segment ``[B, Hkv, Lk, D]`` -> ``(o fp32, lse fp32)``.

    Semantics and arguments: ``kernels.attention.naive.segment_attention_ref``.
    """
    if use_triton(q):
        check_same_device(q, k, v, key_mask)
        from .attention.triton_impl import segment_attention_triton
        with device_guard(q):
            return segment_attention_triton(q, k, v, scale, q_pos=q_pos, k_pos=k_pos, window=window,
                                            key_mask=key_mask)
    return segment_attention_torch(q, k, v, scale, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask)


def key_mass(q, k, scale, lse, *, q_pos=None, k_pos=None, window=None, key_mask=None, q_mask=None):
    """Attention mass each key received under the final ``lse`` -> fp32 ``[B, Hkv, Lk]`` (see ``key_mass_ref``)."""
    if use_triton(q):
        check_same_device(q, k, lse, key_mask, q_mask)
        from .attention.triton_impl import key_mass_triton
        with device_guard(q):
            return key_mass_triton(q, k, scale, lse, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask,
                                   q_mask=q_mask)
    return key_mass_torch(q, k, scale, lse, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask,
                          q_mask=q_mask)


def segment_attention_with_mass(q, k, v, scale, *, q_pos=None, k_pos=None, window=None, key_mask=None,
                                lse_other=None, q_mask=None):
    """``segment_attention`` + ``key_mass`` of one segment, the other segments' log-sum-exp given:
    ``(o, lse, mass)`` (see ``segment_attention_mass_ref``). Triton: the two kernels; CPU: one fused score pass."""
    if use_triton(q):
        o, lse = segment_attention(q, k, v, scale, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask)
        total = lse if lse_other is None else torch.logaddexp(lse, lse_other.float())
        mass = key_mass(q, k, scale, total, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask,
                        q_mask=q_mask)
        return o, lse, mass
    return segment_attention_mass_torch(q, k, v, scale, q_pos=q_pos, k_pos=k_pos, window=window, key_mask=key_mask,
                                        lse_other=lse_other, q_mask=q_mask)


def unit_topk(qsum, reprs, k):
    """Indices (int64) of the ``min(k, N)`` best memory units, best first, ties to the lower index
    (see ``kernels.lookup.naive.unit_topk_ref``)."""
    if use_triton(reprs):
        check_same_device(qsum, reprs)
        from .lookup.triton_impl import unit_topk_triton
        with device_guard(reprs):
            return unit_topk_triton(qsum, reprs, k)
    return unit_topk_torch(qsum, reprs, k)


def gather_units(store, slots, idx, *, out=None):
    """Cached units ``store[slots[idx]]`` -> contiguous ``[Hkv, k*block, D]`` (a tuple for a tuple of stores);
    see ``kernels.gather.naive.gather_units_ref``. ``out`` (optional) is a preallocated result buffer."""
    first = store[0] if isinstance(store, (tuple, list)) else store
    if use_triton(first):
        check_same_device(*(store if isinstance(store, (tuple, list)) else (store,)), slots, idx)
        from .gather.triton_impl import gather_units_triton
        with device_guard(first):
            return gather_units_triton(store, slots, idx, out=out)
    return gather_units_torch(store, slots, idx, out=out)


__all__ = ["segment_attention", "merge_attention", "key_mass", "segment_attention_with_mass", "unit_topk", "gather_units",
           "segment_attention_ref", "key_mass_ref", "segment_attention_mass_ref", "unit_topk_ref", "gather_units_ref"]
