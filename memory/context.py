"""Per-layer, per-sequence context memory: sink tokens, local window, memory units (InfLLM semantics).

Timeline of a token at absolute position ``p`` (counting real tokens of the sequence, padding excluded):

1. appended to the local buffer (key stored unrotated, plus a copy rotated at ``p - anchor`` for local attention);
2. while it is inside the window it accumulates, per KV head, the softmax mass it receives from every query chunk;
3. when it leaves the window (``p < chunk_start - n_local``): if ``p < n_init`` it becomes a sink; otherwise, in block
   mode, once ``block_size`` consecutive tokens have left the window they are cut into a memory unit whose
   representative (per KV head) is the mean of its ``repr_topk`` keys with the highest accumulated mass. Tokens that
   left the window but do not fill a block yet (the remainder, fewer than ``block_size``) stay in the local segment,
   at their true distance, until they do: every token is attended to at all times. In window mode they are dropped.

Attention of a chunk of queries ``[c0, c1)``: one joint softmax over
  * the *global* segment — sinks + the ``topk`` units that score highest against the chunk — with every key at one
    fixed distance (``n_local``) from every query (InfLLM; see ``BlockMemoryConfig.memory_positions`` for the
    others), and
  * the *local* segment — positions ``[max(0, c0 - n_local), c1)`` plus the remainder before them — at true
    relative distances, causal.
Rotation angles come from positions relative to an ``anchor`` that follows the window, so they stay below
``n_local + 2 * exec_chunk + block_size`` however long the sequence is (in full mode the anchor stays 0: true
positions).
"""
from __future__ import annotations

import math

import torch

from .. import kernels
from .config import BlockMemoryConfig
from .rope import RopeTable
from .units import UnitStore


class LayerContext:
    """Context memory of one attention layer for one sequence."""

    def __init__(self, cfg: BlockMemoryConfig, n_heads: int, n_kv_heads: int, head_dim: int, dtype, device, rope: RopeTable):
        self.cfg = cfg
        self.H, self.h, self.d = n_heads, n_kv_heads, head_dim
        self.groups = n_heads // n_kv_heads
        self.dtype, self.device = dtype, torch.device(device)
        self.rope = rope
        self.full = cfg.mode == "full"
        if cfg.memory_positions == "true" and cfg.max_distance is None:
            raise ValueError("memory_positions='true' needs max_distance (BlockMemoryCache sets it from the model)")
        self.n = 0  # tokens appended so far
        # local buffer, indexed by absolute position - buf_start
        self.buf_start = 0
        self._cap = 0
        self.k = self.v = self.k_rot = self.mass = None
        self.anchor = 0
        # sinks
        self.sink_k = torch.empty(n_kv_heads, 0, head_dim, dtype=dtype, device=self.device)
        self.sink_v = torch.empty_like(self.sink_k)
        self.n_sink = 0
        # first position not yet turned into a sink / unit / dropped
        self.evicted_to = 0
        self.units = (
            UnitStore(n_kv_heads, cfg.block_size, head_dim, dtype, device, cfg.offload_device, cfg.cached_blocks)
            if cfg.mode == "block" else None
        )
        self.dropped = 0  # tokens dropped (window mode)
        self.last_retrieved: torch.Tensor | None = None

    # ------------------------------------------------------------------------------------------------ buffer
    def _ensure(self, extra: int) -> None:
        keep = min(self.evicted_to, self.n) if not self.full else 0
        used = self.n - self.buf_start
        if self.k is not None and used + extra <= self._cap:
            return
        # compact: drop slots before `keep`, then grow if needed
        live = self.n - keep
        cap = max(self._cap, 64)
        while live + extra > cap:
            cap *= 2
        if not self.full:
            cap = max(cap, self.cfg.n_local + 2 * self.cfg.exec_chunk + 2 * self.cfg.block_size)
        new = lambda *shape, dt=self.dtype: torch.empty(*shape, dtype=dt, device=self.device)  # noqa: E731
        k, v, kr = new(self.h, cap, self.d), new(self.h, cap, self.d), new(self.h, cap, self.d, dt=torch.float32)
        m = torch.zeros(self.h, cap, dtype=torch.float32, device=self.device)
        if self.k is not None and live:
            a = keep - self.buf_start
            k[:, :live] = self.k[:, a : a + live]
            v[:, :live] = self.v[:, a : a + live]
            kr[:, :live] = self.k_rot[:, a : a + live]
            m[:, :live] = self.mass[:, a : a + live]
        self.k, self.v, self.k_rot, self.mass = k, v, kr, m
        self._cap, self.buf_start = cap, keep

    def _slice(self, lo: int, hi: int) -> slice:
        return slice(lo - self.buf_start, hi - self.buf_start)

    def append(self, k: torch.Tensor, v: torch.Tensor) -> None:
        """Append tokens: unrotated ``k`` and ``v`` of shape ``[Hkv, L, D]``."""
        L = k.shape[1]
        if L == 0:
            return
        self._ensure(L)
        sl = self._slice(self.n, self.n + L)
        self.k[:, sl] = k.to(self.dtype)
        self.v[:, sl] = v.to(self.dtype)
        self.k_rot[:, sl] = self.rope.rotate_range(k, self.n - self.anchor)
        self.mass[:, sl] = 0
        self.n += L

    # ------------------------------------------------------------------------------------------------ eviction
    def _evict(self, e: int) -> None:
        """Every token at a position < e leaves the window."""
        cfg = self.cfg
        if e <= self.evicted_to:
            return
        # sinks: the first n_init tokens
        s_hi = min(e, cfg.n_init)
        if self.evicted_to < s_hi:
            sl = self._slice(self.evicted_to, s_hi)
            self.sink_k = torch.cat([self.sink_k, self.k[:, sl]], 1)
            self.sink_v = torch.cat([self.sink_v, self.v[:, sl]], 1)
            self.n_sink = self.sink_k.shape[1]
            self.evicted_to = s_hi
        if e <= self.evicted_to:
            return
        if self.units is None:  # window mode: drop
            self.dropped += e - self.evicted_to
            self.evicted_to = e
            return
        B = cfg.block_size
        m = (e - self.evicted_to) // B
        if m == 0:
            return
        lo, hi = self.evicted_to, self.evicted_to + m * B
        sl = self._slice(lo, hi)
        keys = self.k[:, sl].reshape(self.h, m, B, self.d).transpose(0, 1)  # [m, Hkv, B, D]
        vals = self.v[:, sl].reshape(self.h, m, B, self.d).transpose(0, 1)
        mass = self.mass[:, sl].reshape(self.h, m, B).transpose(0, 1)  # [m, Hkv, B]
        self.units.add(keys.contiguous(), vals.contiguous(), representatives(keys, mass, cfg.repr_topk))
        self.evicted_to = hi

    # ------------------------------------------------------------------------------------------------ attention
    def _rebase(self, lo: int) -> None:
        """Move the rotation anchor to ``lo`` and re-rotate the buffered keys from there."""
        self.anchor = lo
        sl = self._slice(lo, self.n)
        self.k_rot[:, sl] = self.rope.rotate_range(self.k[:, sl], 0)

    def attend(self, q: torch.Tensor, scale: float, start: int) -> torch.Tensor:
        """Attention output for unrotated queries ``q [H, Lq, D]`` at positions ``start .. start+Lq`` (already appended).

        Returns ``[H, Lq, D]`` float32.
        """
        Lq = q.shape[1]
        out = torch.empty(self.H, Lq, self.d, dtype=torch.float32, device=q.device)
        step = self.cfg.exec_chunk
        bounds = [(a, min(Lq, a + step)) for a in range(0, Lq, step)]
        if self.cfg.tail_lookup and self.units is not None and Lq > 1 and bounds[-1][1] - bounds[-1][0] > 1:
            a, b = bounds.pop()  # the last query retrieves on its own (see BlockMemoryConfig.tail_lookup)
            bounds += [(a, b - 1), (b - 1, b)]
        for a, b in bounds:
            out[:, a:b] = self._attend_chunk(q[:, a:b], scale, start + a, start + b)
        return out

    def _attend_chunk(self, q: torch.Tensor, scale: float, c0: int, c1: int) -> torch.Tensor:
        cfg = self.cfg
        if self.full:
            vs = 0
        else:
            e = c0 - cfg.n_local
            if e > 0:
                self._evict(e)
            # the local segment starts where eviction stopped: at the remainder (tokens past the window that do not
            # fill a unit yet), or at the window start when there is none
            vs = self.evicted_to
            if c1 - self.anchor > cfg.n_local + 2 * cfg.exec_chunk:
                self._rebase(vs)
        dev = q.device
        # global segment first (sinks + retrieved units): the local segment's key mass needs its log-sum-exp
        parts = []
        have_units = self.units is not None and self.units.n > 0
        if self.n_sink or have_units:
            q_g = self.rope.rotate_at(q, cfg.global_distance)
            gk, gv = [self.sink_k], [self.sink_v]
            if have_units:
                qsum = q_g.mean(dim=1).view(self.h, self.groups, self.d).sum(1)
                idx = kernels.unit_topk(qsum, self.units.reprs, cfg.topk)
                if cfg.memory_positions == "ordered":
                    idx = torch.sort(idx).values  # original order of the units
                self.last_retrieved = idx
                uk, uv = self.units.fetch(idx)
                gk.append(uk)
                gv.append(uv)
            k_g = torch.cat(gk, 1)
            v_g = torch.cat(gv, 1).unsqueeze(0)
            if cfg.memory_positions == "ordered":
                # sinks + units laid out contiguously just before the window start ``vs``: key j of the G global
                # keys at position j, queries at their distance from ``vs`` plus G
                G = k_g.shape[1]
                k_g = self.rope.rotate_range(k_g, 0).unsqueeze(0)
                q_g = self.rope.rotate_range(q, c0 - vs + G)
            elif cfg.memory_positions == "true":
                # a frame where the chunk's first query sits at D = max_distance: key at true position p at
                # max(0, p - c0 + D), i.e. at its true distance unless that is beyond D
                D = cfg.max_distance
                pos = [torch.arange(self.n_sink, device=dev)]
                if have_units:
                    B = cfg.block_size
                    pos.append((cfg.n_init + idx.to(dev).view(-1, 1) * B + torch.arange(B, device=dev)).view(-1))
                pos = (torch.cat(pos) + (D - c0)).clamp_(min=0)
                k_g = self.rope.rotate(k_g, pos).unsqueeze(0)
                q_g = self.rope.rotate_range(q, D)
            elif cfg.memory_positions == "unit":
                # each unit (and the sink block) keeps the order of its own tokens: its last token at the one
                # distance of "fixed", token j of a unit of B at global_distance + B - 1 - j
                B, S = cfg.block_size, self.n_sink
                L = max(B, S)
                pos = [torch.arange(L - S, L, device=dev)]
                if have_units:
                    pos.append(torch.arange(L - B, L, device=dev).repeat(idx.numel()))
                k_g = self.rope.rotate(k_g, torch.cat(pos)).unsqueeze(0)
                q_g = self.rope.rotate_at(q, cfg.global_distance + L - 1)
            else:
                k_g = self.rope.rotate_at(k_g, 0).unsqueeze(0)  # position 0 (applies any rope scaling factor)
            parts.append(kernels.segment_attention(q_g.unsqueeze(0), k_g, v_g, scale))
        # local segment (true relative distances, causal)
        sl = self._slice(vs, c1)
        k_loc = self.k_rot[:, sl].unsqueeze(0)
        v_loc = self.v[:, sl].unsqueeze(0)
        # int32: what the kernels take (positions relative to the anchor stay small)
        q_pos = torch.arange(c0 - self.anchor, c1 - self.anchor, device=dev, dtype=torch.int32)
        k_pos = torch.arange(vs - self.anchor, c1 - self.anchor, device=dev, dtype=torch.int32)
        q_loc = self.rope.rotate_range(q, c0 - self.anchor).unsqueeze(0)
        if self.units is not None:  # block mode: the attention mass of each window key, from the same scores
            o_l, lse_l, mass = kernels.segment_attention_with_mass(q_loc, k_loc, v_loc, scale, q_pos=q_pos, k_pos=k_pos,
                                                                   lse_other=parts[0][1] if parts else None)
            self.mass[:, sl] += mass[0]
        else:
            o_l, lse_l = kernels.segment_attention(q_loc, k_loc, v_loc, scale, q_pos=q_pos, k_pos=k_pos)
        parts.append((o_l, lse_l))
        o, lse = kernels.merge_attention(parts)
        return o[0]

    # ------------------------------------------------------------------------------------------------ accounting
    def nbytes(self) -> dict:
        el = torch.empty(0, dtype=self.dtype).element_size()
        local = 0 if self.k is None else self._cap * self.h * self.d * (2 * el + 4) + self._cap * self.h * 4
        return {
            "units": self.units.nbytes() if self.units is not None else 0,
            "device_cache": self.units.device_nbytes() if self.units is not None else 0,
            "local": local,
            "sinks": 2 * self.sink_k.numel() * el,
        }


def representatives(keys: torch.Tensor, mass: torch.Tensor, r: int) -> torch.Tensor:
    """Representative vector per unit and KV head: mean of the ``r`` keys with the highest attention mass.

    ``keys [M, Hkv, B, D]``, ``mass [M, Hkv, B]`` -> ``[M, Hkv, D]`` float32. Ties go to the earlier token.
    """
    order = torch.sort(mass, dim=-1, descending=True, stable=True).indices[..., :r]  # [M, Hkv, r]
    picked = torch.gather(keys.float(), 2, order.unsqueeze(-1).expand(*order.shape, keys.shape[-1]))
    return picked.mean(dim=2)
