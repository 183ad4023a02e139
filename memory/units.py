"""Storage of memory units: every unit on the offload device, a bounded LRU cache of units on the compute device."""
from __future__ import annotations

from collections import OrderedDict

import torch

from .. import kernels

PAGE_UNITS = 64  # units per offload page when pages are pinned (the least a page holds otherwise)
# Unpinned CPU pages are at least this large, so that the C allocator maps each one on its own (glibc maps requests
# above its dynamic threshold, at most 32 MiB) and the kernel commits it page by page as units are written. Smaller
# long-lived pages land in the heap between the freed activations of each chunk and fragment it: peak RSS minus unit
# bytes from 8K to 32K tokens was +10.2% with 64-unit pages (bench/out/passkey_linear.json) and is -6.7% with these
# (bench/out/passkey_block_repr16.json; medians of 5 prompts).
LAZY_PAGE_BYTES = 32 << 20


class UnitStore:
    """Memory units of one layer and one sequence.

    ``keys/values [N, Hkv, block, D]`` live on ``offload_device`` (pinned CPU memory when the compute device is CUDA);
    ``reprs [N, Hkv, D]`` (one representative vector per KV head) live on the compute device, since every chunk scores
    all of them. ``fetch(idx)`` returns the requested units from a device-resident slot cache of ``capacity`` units,
    loading misses from the offload store and evicting the least recently used unit that the request does not need.
    On a CPU-only machine both devices are the CPU and the same code path (copies and accounting) runs.
    """

    def __init__(self, n_kv_heads: int, block_size: int, head_dim: int, dtype, device, offload_device, capacity: int):
        self.h, self.block, self.d = n_kv_heads, block_size, head_dim
        self.dtype = dtype
        self.device = torch.device(device)
        self.offload_device = torch.device(offload_device)
        self.pin = self.device.type == "cuda" and self.offload_device.type == "cpu"
        self.capacity = int(capacity)
        self.n = 0
        # offload storage in fixed-size pages: growing never copies, so memory rises only by the units themselves
        # (unpinned CPU pages: see LAZY_PAGE_BYTES)
        unit_bytes = n_kv_heads * block_size * head_dim * torch.empty(0, dtype=dtype).element_size()
        lazy = self.offload_device.type == "cpu" and not self.pin
        self.page = max(PAGE_UNITS, -(-LAZY_PAGE_BYTES // unit_bytes)) if lazy else PAGE_UNITS
        self._kp: list[torch.Tensor] = []
        self._vp: list[torch.Tensor] = []
        self._reprs = torch.empty(16, n_kv_heads, head_dim, dtype=torch.float32, device=self.device)
        self._slot_k = torch.empty(self.capacity, n_kv_heads, block_size, head_dim, dtype=dtype, device=self.device)
        self._slot_v = torch.empty_like(self._slot_k)
        self._slot_of: OrderedDict[int, int] = OrderedDict()  # unit -> slot, in LRU order (oldest first)
        self._free = list(range(self.capacity - 1, -1, -1))
        self.hits = self.misses = 0

    # -- storage ---------------------------------------------------------------------------------------------
    def _grow(self, need: int) -> None:
        while len(self._kp) * self.page < need:
            shape = (self.page, self.h, self.block, self.d)
            self._kp.append(torch.empty(shape, dtype=self.dtype, device=self.offload_device, pin_memory=self.pin))
            self._vp.append(torch.empty(shape, dtype=self.dtype, device=self.offload_device, pin_memory=self.pin))

    def _unit(self, u: int):
        p, o = divmod(u, self.page)
        return self._kp[p][o], self._vp[p][o]

    def add(self, keys: torch.Tensor, values: torch.Tensor, reprs: torch.Tensor) -> None:
        """Append units: ``keys/values [M, Hkv, block, D]`` (unrotated), ``reprs [M, Hkv, D]``."""
        m = keys.shape[0]
        if m == 0:
            return
        self._grow(self.n + m)
        i = 0
        while i < m:  # one copy per page touched, not per unit
            p, o = divmod(self.n + i, self.page)
            take = min(m - i, self.page - o)
            self._kp[p][o : o + take].copy_(keys[i : i + take], non_blocking=self.pin)
            self._vp[p][o : o + take].copy_(values[i : i + take], non_blocking=self.pin)
            i += take
        if self.n + m > self._reprs.shape[0]:
            grown = torch.empty(max(self.n + m, 2 * self._reprs.shape[0]), self.h, self.d, dtype=torch.float32, device=self.device)
            grown[: self.n] = self._reprs[: self.n]
            self._reprs = grown
        self._reprs[self.n : self.n + m] = reprs.float().to(self.device)
        self.n += m

    @property
    def reprs(self) -> torch.Tensor:
        """Representatives of all stored units, ``[N, Hkv, D]`` float32 on the compute device."""
        return self._reprs[: self.n]

    # -- device cache ----------------------------------------------------------------------------------------
    def fetch(self, idx: torch.Tensor):
        """Keys and values of units ``idx`` as ``[Hkv, len(idx) * block, D]`` tensors on the compute device."""
        ids = [int(i) for i in idx.tolist()]
        if len(ids) > self.capacity:
            raise ValueError(f"{len(ids)} units requested at once but the device cache holds {self.capacity}")
        wanted = set(ids)
        slots = []
        for u in ids:
            s = self._slot_of.get(u)
            if s is not None:
                self._slot_of.move_to_end(u)
                self.hits += 1
            else:
                self.misses += 1
                if self._free:
                    s = self._free.pop()
                else:  # evict the least recently used unit not needed by this request
                    victim = next(x for x in self._slot_of if x not in wanted)
                    s = self._slot_of.pop(victim)
                k, v = self._unit(u)
                self._slot_k[s].copy_(k, non_blocking=self.pin)
                self._slot_v[s].copy_(v, non_blocking=self.pin)
                self._slot_of[u] = s
            slots.append(s)
        sl = torch.tensor(slots, dtype=torch.long, device=self.device)
        return kernels.gather_units((self._slot_k, self._slot_v), None, sl)

    @property
    def resident_units(self) -> list[int]:
        return list(self._slot_of)

    def nbytes(self) -> int:
        """Bytes held by stored units (keys + values on the offload device, representatives)."""
        per_unit = 2 * self.h * self.block * self.d * torch.empty(0, dtype=self.dtype).element_size()
        return self.n * per_unit + self.reprs.numel() * 4

    def device_nbytes(self) -> int:
        return 2 * self._slot_k.numel() * self._slot_k.element_size()
