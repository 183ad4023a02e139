"""Configuration of block memory (InfLLM-style context memory)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

MODES = ("block", "window", "full")
MEMORY_POSITIONS = ("fixed", "ordered", "true", "unit")


@dataclass
class BlockMemoryConfig:
    """Settings of the per-layer context memory.

    Each query chunk (``exec_chunk`` queries) attends, with one joint softmax, to
      * the ``n_init`` sink tokens (the first real tokens of the sequence, once they left the window),
      * the ``topk`` memory units (``block_size`` tokens each) whose representative keys score highest for the chunk,
      * the local window: the ``n_local`` tokens before the chunk, and the chunk itself causally.
    Tokens that leave the window are cut into memory units; each unit keeps one representative vector per KV head, the
    mean of its ``repr_topk`` keys that received the most attention while they were in the window.

    ``mode`` selects the same code path with other memories, so that evaluations compare like with like:
      * ``"block"``: the above (InfLLM);
      * ``"window"``: sinks + sliding window only (StreamingLLM): evicted tokens are dropped;
      * ``"full"``: nothing is evicted; plain causal attention at true positions.

    ``memory_positions`` says where the sinks and retrieved units sit for the rotary embedding:
      * ``"fixed"`` (InfLLM): every sink and memory key at one distance, ``n_local``, from every query (their order is
        lost: the model sees the unit's tokens as simultaneous);
      * ``"ordered"``: sinks, then the retrieved units in their original order, laid out contiguously just before the
        local window, each token at its distance in that compressed text (at most ``n_init + topk * block_size`` beyond
        the window, so within the trained length whenever the window is);
      * ``"true"``: every sink and unit key at its true distance from the query, capped at ``max_distance``
        (``None``: the model's trained context minus ``exec_chunk``, resolved by ``BlockMemoryCache``; keys farther
        back than the cap, measured from the chunk's first query, all sit at the cap). Within the trained length this
        is sparse attention at true positions (with every unit retrieved: full attention exactly); beyond it the far
        keys share one distance, as in "fixed" but at the cap;
      * ``"unit"``: as "fixed", but each retrieved unit (and the sink block) keeps the order of its own tokens: token j
        of a unit of ``block_size`` at distance ``n_local + block_size - 1 - j`` (the last one where "fixed" puts them
        all), so that text copied from one unit keeps its order (the digits of a pass key).

    ``tail_lookup``: in block mode the last query of every forward call forms a chunk of its own, so the position
    that predicts the next token retrieves units with its own query, as every decoding step does (InfLLM lets it
    share the mean query of its whole ``exec_chunk``).

    Memory units live on ``offload_device`` (CPU RAM; pinned when the compute device is CUDA); at most
    ``max_cached_blocks`` units per layer and sequence are resident on the compute device (LRU).

    >>> BlockMemoryConfig(n_local=256, block_size=32, topk=4, exec_chunk=256).validate().mode
    'block'
    """

    # Measured on the embedded 8K-trained model (bench/out/passkey_block_default.json): pass key 8K 4/5, 16K 4/5,
    # 32K 5/5, linear cost. As accurate as InfLLM's published 8K-Llama setting (n_init 128, n_local 4096, block 128:
    # 16K 4/5, bench/out/passkey_block_infllm_published.json) and ~1.35x faster; README "Pass-key evaluation" lists
    # the other settings measured.
    n_init: int = 64
    n_local: int = 2048
    block_size: int = 64
    topk: int = 16
    repr_topk: int = 4
    exec_chunk: int = 512
    max_cached_blocks: int | None = None  # default: 2 * topk
    mode: str = "block"
    offload_device: str = "cpu"
    prefill_chunk: int | None = 2048  # generate(): prompt fed in pieces of this many tokens (None: leave as is)
    memory_positions: str = "fixed"  # "fixed" (InfLLM), "ordered", "true" or "unit"; see the class docstring
    max_distance: int | None = None  # memory_positions="true": cap on a memory key's distance (None: from the model)
    tail_lookup: bool = False  # block mode: the last query of each forward call retrieves units on its own

    def validate(self) -> "BlockMemoryConfig":
        def bad(msg):
            raise ValueError(f"BlockMemoryConfig: {msg}")

        if self.mode not in MODES:
            bad(f"mode must be one of {MODES}, got {self.mode!r}")
        for name in ("n_local", "block_size", "exec_chunk"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                bad(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.n_init, int) or self.n_init < 0:
            bad(f"n_init must be an integer >= 0, got {self.n_init!r}")
        if self.n_local < self.exec_chunk:
            bad(f"n_local ({self.n_local}) must be >= exec_chunk ({self.exec_chunk}): a chunk's queries must fit in the "
                "window they are part of; lower exec_chunk or raise n_local")
        if self.mode == "block":
            if not isinstance(self.topk, int) or self.topk < 1:
                bad(f"topk must be >= 1 in block mode (got {self.topk!r}); use mode='window' for no retrieval")
            if not isinstance(self.repr_topk, int) or not 1 <= self.repr_topk <= self.block_size:
                bad(f"repr_topk must be in [1, block_size={self.block_size}], got {self.repr_topk!r}")
            if self.max_cached_blocks is not None and self.max_cached_blocks < self.topk:
                bad(f"max_cached_blocks ({self.max_cached_blocks}) must be >= topk ({self.topk}): the units of one "
                    "chunk must fit in the device cache together")
        if self.memory_positions not in MEMORY_POSITIONS:
            bad(f"memory_positions must be one of {MEMORY_POSITIONS}, got {self.memory_positions!r}")
        if self.max_distance is not None and (not isinstance(self.max_distance, int) or self.max_distance < 1):
            bad(f"max_distance must be a positive integer or None, got {self.max_distance!r}")
        if self.prefill_chunk is not None and (not isinstance(self.prefill_chunk, int) or self.prefill_chunk < 1):
            bad(f"prefill_chunk must be a positive integer or None, got {self.prefill_chunk!r}")
        return self

    @property
    def cached_blocks(self) -> int:
        return self.max_cached_blocks if self.max_cached_blocks is not None else 2 * self.topk

    @property
    def global_distance(self) -> int:
        """The one relative position at which every query sees every sink and memory-unit key."""
        return self.n_local

    def to_dict(self) -> dict:
        return asdict(self)
