"""The registered attention function and mask function that connect block memory to transformers.

``AttentionInterface.register("memgram_block", ...)`` routes every attention layer of a model to
:func:`block_memory_attention`. When the layer's cache is a :class:`~memgram.runtime.cache.BlockMemoryCache`, the cache
has put its layer object into the attention kwargs during ``cache.update`` (transformers >= 5.24 passes the kwargs
dict to ``update``), and block memory computes the attention. Otherwise (no cache, or another cache) the function
falls back to SDPA with an ordinary causal mask, so a model switched to ``memgram_block`` keeps working as before.

The registered *mask* function does not build a 4D mask: it hands the 2D padding mask through, wrapped in
:class:`PaddingInfo` (block memory needs to know which tokens are padding; it builds its own masks).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

ATTN_NAME = "memgram_block"


@dataclass
class PaddingInfo:
    """2D padding mask ``[B, kv_len]`` (True = real token) or None, and what SDPA's mask builder needs for fallback."""

    mask2d: torch.Tensor | None
    mask_kwargs: dict = field(default_factory=dict, repr=False)

    def real_tokens(self, batch: int, q_len: int, device) -> torch.Tensor:
        if self.mask2d is None:
            return torch.ones(batch, q_len, dtype=torch.bool, device=device)
        m = self.mask2d.to(device=device, dtype=torch.bool)
        if m.shape[-1] < q_len:
            raise ValueError(f"attention_mask covers {m.shape[-1]} positions but {q_len} new tokens were given")
        return m[:, -q_len:]

    def sdpa_mask(self):
        from transformers.masking_utils import sdpa_mask

        return sdpa_mask(**self.mask_kwargs)


def padding_mask_passthrough(batch_size, q_length, kv_length, q_offset=0, kv_offset=0, mask_function=None,
                             attention_mask=None, **kwargs):
    kw = dict(batch_size=batch_size, q_length=q_length, kv_length=kv_length, q_offset=q_offset, kv_offset=kv_offset,
              mask_function=mask_function, attention_mask=attention_mask)
    for name in ("allow_is_causal_skip", "device", "use_vmap"):
        if name in kwargs:
            kw[name] = kwargs[name]
    return PaddingInfo(attention_mask, kw)


def block_memory_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    layer = kwargs.get("memgram_layer")
    if layer is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        mask = attention_mask.sdpa_mask() if isinstance(attention_mask, PaddingInfo) else attention_mask
        return sdpa_attention_forward(module, query, key, value, mask, scaling=scaling, dropout=dropout, **kwargs)
    if scaling is None:
        scaling = module.head_dim ** -0.5
    pad = attention_mask if isinstance(attention_mask, PaddingInfo) else PaddingInfo(None)
    return layer.attend(query, pad, scaling), None


_registered = False


def register() -> str:
    """Register the attention and mask functions with transformers (idempotent); returns the implementation name."""
    global _registered
    if not _registered:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface

        AttentionInterface.register(ATTN_NAME, block_memory_attention)
        AttentionMaskInterface.register(ATTN_NAME, padding_mask_passthrough)
        _registered = True
    return ATTN_NAME
