"""``BlockMemoryCache``: a transformers ``Cache`` whose layers are block memories (InfLLM) — endless context in
``model.generate()``.

>>> import memgram                                                   # doctest: +SKIP
>>> model, tok = memgram.load_default_model()                        # doctest: +SKIP
>>> cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig())   # doctest: +SKIP
>>> out = model.generate(ids, cache=cache, max_new_tokens=16)    # doctest: +SKIP
"""
from __future__ import annotations

import copy
import weakref
from dataclasses import replace

import torch
from transformers.cache_utils import Cache, CacheLayerMixin

from ..memory.config import BlockMemoryConfig
from ..memory.context import LayerContext
from ..memory.errors import UnsupportedModelError
from ..memory.rope import RopeTable, check_rope_type, invert_rotation
from .attention import PaddingInfo, register

SUPPORTED_MODEL_TYPES = ("llama", "mistral", "qwen2", "qwen3")


def _decoder(model):
    base = getattr(model, "model", None) or getattr(model, "base_model", None)
    if base is None or not hasattr(base, "rotary_emb"):
        raise UnsupportedModelError("block memory needs a decoder with a shared rotary embedding (model.model.rotary_emb)")
    return base


class BlockMemoryLayer(CacheLayerMixin):
    """One attention layer: a :class:`~memgram.memory.context.LayerContext` per sequence of the batch."""

    is_sliding = False
    is_compileable = False
    is_croppable = False

    def __init__(self, cache: "BlockMemoryCache", layer_idx: int):
        super().__init__()
        # a weak reference: the cache owns its layers, so a strong one back would make a reference cycle, and a
        # finished cache (GBs of units) would wait for the cyclic garbage collector instead of being freed at once
        self._cache = weakref.ref(cache)
        self.layer_idx = layer_idx
        self.n_fed = 0  # token positions fed (padding included), what generate() slices input ids by
        self.rows: list[LayerContext] = []
        self._pending = None

    @property
    def cache(self) -> "BlockMemoryCache":
        cache = self._cache()
        if cache is None:
            raise RuntimeError("this BlockMemoryLayer's BlockMemoryCache no longer exists")
        return cache

    def __deepcopy__(self, memo):
        # a copy made as part of a copy of the whole cache belongs to that copy (the weak reference would otherwise
        # still point at the original)
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        owner = self._cache()
        for k, v in self.__dict__.items():
            if k == "_cache":
                new._cache = weakref.ref(memo[id(owner)]) if owner is not None and id(owner) in memo else v
            else:
                setattr(new, k, copy.deepcopy(v, memo))
        return new

    # -- CacheLayerMixin ------------------------------------------------------------------------------------
    def lazy_initialization(self, key_states, value_states):
        self.device = key_states.device
        self.dtype = key_states.dtype
        self.is_initialized = True

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        attn_kwargs = kwargs.get("kwargs")
        if attn_kwargs is None:
            raise RuntimeError("BlockMemoryCache needs transformers >= 5.24 (attention kwargs passed to Cache.update)")
        position_ids = attn_kwargs.get("position_ids")
        B, _, L, _ = key_states.shape
        if position_ids is None:
            position_ids = torch.arange(self.n_fed, self.n_fed + L, device=key_states.device).unsqueeze(0)
        cos, sin = self.cache._cos_sin(position_ids, key_states)
        k = invert_rotation(key_states, cos.unsqueeze(1), sin.unsqueeze(1))
        self._pending = (k, value_states, cos, sin)
        self.n_fed += L
        attn_kwargs["memgram_layer"] = self
        return key_states, value_states

    def get_seq_length(self) -> int:
        return self.n_fed

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.n_fed + query_length, 0

    def get_max_length(self) -> int:
        return -1

    def reset(self) -> None:
        self.rows = []
        self.n_fed = 0
        self._pending = None

    def reorder_cache(self, beam_idx):
        raise NotImplementedError("BlockMemoryCache does not support beam search (reorder_cache); use greedy or sampling")

    def crop(self, tokens_to_remove):
        raise NotImplementedError("BlockMemoryCache cannot be cropped (assisted/speculative decoding is not supported)")

    def batch_repeat_interleave(self, repeats: int):
        if self.n_fed:
            raise NotImplementedError("BlockMemoryCache cannot be expanded after prefill (num_return_sequences > 1)")

    def batch_select_indices(self, indices):
        self.rows = [self.rows[int(i)] for i in indices]

    # -- attention ------------------------------------------------------------------------------------------
    def _contexts(self, batch: int):
        if not self.rows:
            mc = self.cache.model_config
            self.rows = [
                LayerContext(self.cache.config, mc["n_heads"], mc["n_kv_heads"], mc["head_dim"], self.dtype, self.device,
                             self.cache.rope)
                for _ in range(batch)
            ]
        elif len(self.rows) != batch:
            raise ValueError(f"batch size changed from {len(self.rows)} to {batch} within one BlockMemoryCache")
        return self.rows

    def attend(self, query: torch.Tensor, pad: PaddingInfo, scaling: float) -> torch.Tensor:
        """``query [B, H, L, D]`` rotated at absolute positions -> output ``[B, L, H, D]``."""
        k, v, cos, sin = self._pending
        self._pending = None
        q = invert_rotation(query, cos.unsqueeze(1), sin.unsqueeze(1))
        B, H, L, D = query.shape
        real = pad.real_tokens(B, L, query.device)
        out = torch.zeros(B, L, H, D, dtype=query.dtype, device=query.device)
        for b, ctx in enumerate(self._contexts(B)):
            if bool(real[b].all()):
                kb, vb, qb, idx = k[b], v[b], q[b], None
            else:
                idx = real[b].nonzero().squeeze(-1)
                if idx.numel() == 0:
                    continue
                kb, vb, qb = k[b][:, idx], v[b][:, idx], q[b][:, idx]
            start = ctx.n
            ctx.append(kb, vb)
            o = ctx.attend(qb, scaling, start).transpose(0, 1).to(query.dtype)  # [Lb, H, D]
            if idx is None:
                out[b] = o
            else:
                out[b, idx] = o
        return out


def _check_cache_keyword(model) -> None:
    """memgram passes its cache as ``cache=`` (transformers >= 5.24). Older 5.x name it ``past_key_values`` and take
    ``cache=`` silently into ``**kwargs``: the model would then run without any cache (seen with 5.17), so refuse."""
    import inspect

    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):  # pragma: no cover - a forward without a signature: nothing to check
        return
    if "cache" not in params and "past_key_values" in params:
        import transformers

        raise UnsupportedModelError(
            f"this model's forward() takes its cache as `past_key_values` (transformers {transformers.__version__}); "
            "memgram needs transformers >= 5.24, whose models take `cache=`: pip install 'transformers>=5.24,<6'")


class BlockMemoryCache(Cache):
    """A transformers ``Cache`` that gives a decoder-only model InfLLM block memory.

    Creating it registers memgram's attention function and switches ``model`` to it (the function falls back to
    SDPA for any other cache, so the model keeps working without block memory). It also sets
    ``model.generation_config.prefill_chunk_size`` to ``config.prefill_chunk`` (if unset) so that ``generate()`` feeds
    long prompts in pieces and activations stay bounded.

    Works with greedy decoding and sampling, ``TextStreamer``, ``logits_processor``, batches with left padding
    (padding never enters the memory), and streaming: keep passing the same cache with the whole conversation as
    ``input_ids``; only the new tokens are computed.
    """

    def __init__(self, model, config: BlockMemoryConfig | None = None, **overrides):
        cfg = config or BlockMemoryConfig()
        if overrides:
            cfg = BlockMemoryConfig(**{**cfg.to_dict(), **overrides})
        cfg = cfg.validate()
        mcfg = model.config
        if cfg.memory_positions == "true" and cfg.max_distance is None:
            trained = getattr(mcfg, "max_position_embeddings", None) or 2 * cfg.n_local + cfg.exec_chunk
            cfg = replace(cfg, max_distance=max(cfg.n_local + cfg.exec_chunk, trained - cfg.exec_chunk))
        self.config = cfg
        mtype = getattr(mcfg, "model_type", None)
        if mtype not in SUPPORTED_MODEL_TYPES:
            raise UnsupportedModelError(
                f"model type {mtype!r} is not supported by block memory; supported: {', '.join(SUPPORTED_MODEL_TYPES)}"
            )
        check_rope_type(mcfg)
        _check_cache_keyword(model)
        decoder = _decoder(model)
        n_heads = mcfg.num_attention_heads
        n_kv = getattr(mcfg, "num_key_value_heads", None) or n_heads
        head_dim = getattr(mcfg, "head_dim", None) or mcfg.hidden_size // n_heads
        self.model_config = {"n_heads": n_heads, "n_kv_heads": n_kv, "head_dim": head_dim}
        device = next(model.parameters()).device
        self.rope = RopeTable(decoder.rotary_emb, head_dim, device)
        self._rotary = decoder.rotary_emb
        self._cs_key = None
        name = register()
        if getattr(mcfg, "_attn_implementation", None) != name:
            model.set_attn_implementation(name)
        gc = getattr(model, "generation_config", None)
        if gc is not None and cfg.prefill_chunk and getattr(gc, "prefill_chunk_size", None) is None:
            gc.prefill_chunk_size = cfg.prefill_chunk
        super().__init__(layers=[BlockMemoryLayer(self, i) for i in range(mcfg.num_hidden_layers)])

    def _cos_sin(self, position_ids: torch.Tensor, like: torch.Tensor):
        """cos/sin the model used for this forward (same module, positions, dtype), computed once for all layers.

        Reused only while the *values* of ``position_ids`` are the same: a later forward's fresh position tensor can
        land at the freed address of an earlier one with the same shape and version counter, so an identity key
        (address, shape, version) would hand it the earlier forward's angles (run-to-run differences in plain
        ``model(...)`` calls past 8K tokens until this was fixed; see test_cos_sin_follow_position_values).
        """
        prev = self._cs_key
        if (prev is None or prev[1:] != (like.dtype, like.shape[0]) or prev[0].shape != position_ids.shape
                or prev[0].device != position_ids.device or not torch.equal(prev[0], position_ids)):
            with torch.no_grad():
                cos, sin = self._rotary(like, position_ids)
            if cos.shape[0] != like.shape[0]:
                cos, sin = cos.expand(like.shape[0], -1, -1), sin.expand(like.shape[0], -1, -1)
            self._cs, self._cs_key = (cos, sin), (position_ids.detach().clone(), like.dtype, like.shape[0])
        return self._cs

    def memory_stats(self) -> dict:
        """Bytes held, summed over layers and sequences: ``units``, ``device_cache``, ``local``, ``sinks``; unit counts
        and device-cache hits/misses."""
        tot = {"units": 0, "device_cache": 0, "local": 0, "sinks": 0, "n_units": 0, "cache_hits": 0, "cache_misses": 0}
        for layer in self.layers:
            for ctx in layer.rows:
                for k, v in ctx.nbytes().items():
                    tot[k] += v
                if ctx.units is not None:
                    tot["n_units"] += ctx.units.n
                    tot["cache_hits"] += ctx.units.hits
                    tot["cache_misses"] += ctx.units.misses
        return tot
