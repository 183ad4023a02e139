"""Rotary position embedding: exact inverse of the model's own rotation, and re-rotation at small positions.

transformers applies RoPE before the cache sees keys, so keys arrive rotated at absolute positions. Block memory
stores them unrotated and re-rotates at attention time (local window at true relative distances, memory at one fixed
distance). Both directions use the model's own rotary module (``model.model.rotary_emb``), so every rope type whose
rotation is ``x * cos + rotate_half(x) * sin`` — default, linear, dynamic, llama3, yarn — is handled, including the
``attention_scaling`` factor folded into cos/sin (the inverse divides by ``cos^2 + sin^2``).
Re-rotation angles come from a table computed once at small positions ``0 .. max_position``; they are never computed
from the absolute positions of a long sequence.
"""
from __future__ import annotations

import torch

from .errors import UnsupportedModelError

SUPPORTED_ROPE_TYPES = ("default", "linear", "dynamic", "llama3", "yarn")


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rotation(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """``x [..., L, D]`` rotated by ``cos/sin [L, D]`` (broadcast over leading dims), in float32."""
    x = x.float()
    return x * cos + rotate_half(x) * sin


def invert_rotation(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Exact inverse of :func:`apply_rotation` for the same ``cos/sin`` (also when they carry a scaling factor)."""
    x = x.float()
    cos = cos.float()
    sin = sin.float()
    return (x * cos - rotate_half(x) * sin) / (cos * cos + sin * sin)


def check_rope_type(config) -> str:
    params = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if isinstance(params, dict) and params and not ("rope_type" in params or "type" in params):
        # per-layer-type dict (e.g. {"full_attention": {...}}) -> check each
        kinds = {p.get("rope_type", p.get("type", "default")) for p in params.values() if isinstance(p, dict)}
    else:
        kinds = {params.get("rope_type", params.get("type", "default")) if isinstance(params, dict) else "default"}
    for kind in kinds:
        if kind not in SUPPORTED_ROPE_TYPES:
            raise UnsupportedModelError(
                f"rope type {kind!r} is not supported by block memory; supported: {', '.join(SUPPORTED_ROPE_TYPES)}"
            )
    return next(iter(kinds)) if kinds else "default"


class RopeTable:
    """cos/sin of the model's rotary module at positions ``0 .. max_position`` (float32), built lazily and grown."""

    def __init__(self, rotary, head_dim: int, device, max_position: int = 4096):
        self.rotary = rotary
        self.head_dim = head_dim
        self.device = torch.device(device)
        self.cos = self.sin = None
        self._build(max_position)

    @torch.no_grad()
    def _build(self, n: int) -> None:
        pos = torch.arange(n, device=self.device).unsqueeze(0)
        dummy = torch.zeros(1, 1, self.head_dim, dtype=torch.float32, device=self.device)
        cos, sin = self.rotary(dummy, pos)
        self.cos, self.sin = cos[0].float(), sin[0].float()

    def at(self, positions: torch.Tensor):
        """cos/sin ``[L, D]`` at integer ``positions [L]`` (grown if a position is beyond the table)."""
        need = int(positions.max().item()) + 1 if positions.numel() else 0
        if need > self.cos.shape[0]:
            self._build(max(need, 2 * self.cos.shape[0]))
        positions = positions.to(self.cos.device)
        return self.cos[positions], self.sin[positions]

    def _reach(self, need: int) -> None:
        if need > self.cos.shape[0]:
            self._build(max(need, 2 * self.cos.shape[0]))

    def rotate(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """``x [..., L, D]`` rotated at integer ``positions [L]``."""
        cos, sin = self.at(positions)
        return apply_rotation(x, cos.to(x.device), sin.to(x.device))

    def rotate_range(self, x: torch.Tensor, start: int) -> torch.Tensor:
        """``x [..., L, D]`` rotated at the contiguous positions ``start .. start+L`` (table slice, no gather)."""
        L = x.shape[-2]
        self._reach(start + L)
        return apply_rotation(x, self.cos[start : start + L].to(x.device), self.sin[start : start + L].to(x.device))

    def rotate_at(self, x: torch.Tensor, position: int) -> torch.Tensor:
        """Every row of ``x [..., L, D]`` rotated at the same ``position``."""
        self._reach(position + 1)
        return apply_rotation(x, self.cos[position].to(x.device), self.sin[position].to(x.device))
