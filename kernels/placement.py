"""Per-layer device placement for models split over several devices (``device_map="auto"``, accelerate).

With a split model every decoder layer runs on its own device; block memory must keep that layer's sinks,
window, memory-unit slot cache, representatives and position tensors on the *same* device, and launch its
kernels there (the dispatch functions in ``kernels`` do the launch part: ``torch.cuda.device(tensor.device)``).

What ``memory/`` should do (proposal; memory/ is not edited here):

1. Allocate a layer's device-side state lazily from the first ``key_states`` it receives
   (``device = key_states.device``), exactly as transformers' own cache layers do; that is always the layer's
   execution device, including accelerate CPU-offload where weights live on CPU but run on a GPU.
2. Optionally pre-check against the model's ``hf_device_map`` with ``layer_devices`` below (useful to
   pre-allocate slot caches before the first forward, and to report the split in the CLI).
3. Keep CPU copies of units in pinned memory and move them with ``to_device(..., non_blocking=True)``
   to the layer's device; never move a unit between GPUs directly.

>>> m = {"model.embed_tokens": 0, "model.layers.0": 0, "model.layers.1": 1, "model.norm": 1, "lm_head": 1}
>>> [str(d) for d in layer_devices(m, 2)]
['cuda:0', 'cuda:1']
"""
from __future__ import annotations

import re
from typing import Mapping

import torch

_LAYER_RE = re.compile(r"^(?P<prefix>(?:.*\.)?layers)\.(?P<idx>\d+)(?:\.|$)")


def as_device(spec) -> torch.device:
    """A device-map value (``0``, ``"cuda:1"``, ``"cpu"``, ``"disk"``, ``"mps"``, ``torch.device``) -> ``torch.device``.
    ``"disk"`` (accelerate disk offload) counts as ``cpu``: that is where its weights are staged."""
    if isinstance(spec, torch.device):
        return spec
    if isinstance(spec, int):
        return torch.device("cuda", spec)
    s = str(spec)
    if s == "disk":
        return torch.device("cpu")
    if s.isdigit():
        return torch.device("cuda", int(s))
    return torch.device(s)


def _layers_prefix(device_map: Mapping) -> str:
    for name in device_map:
        m = _LAYER_RE.match(name)
        if m:
            return m.group("prefix")
    return "model.layers"


def layer_device(device_map: Mapping, layer_idx: int, *, prefix: str | None = None) -> torch.device:
    """Device of decoder layer ``layer_idx`` under an accelerate ``hf_device_map``: the entry for the longest module
    name that is the layer or one of its ancestors (``""`` maps the whole model)."""
    prefix = prefix or _layers_prefix(device_map)
    name = f"{prefix}.{layer_idx}"
    best, best_len = None, -1
    for key, dev in device_map.items():
        if key == "" or name == key or name.startswith(key + "."):
            if len(key) > best_len:
                best, best_len = dev, len(key)
    if best is None:
        # A finer map: the layer's submodules are listed individually; the attention module decides.
        for key, dev in device_map.items():
            if key.startswith(name + ".") and ".self_attn" in key[len(name):]:
                return as_device(dev)
        raise KeyError(f"no device for {name!r} in the device map (keys: {sorted(device_map)[:6]}...)")
    return as_device(best)


def layer_devices(device_map: Mapping, n_layers: int, *, prefix: str | None = None) -> list[torch.device]:
    """``[layer_device(device_map, i) for i in range(n_layers)]``."""
    prefix = prefix or _layers_prefix(device_map)
    return [layer_device(device_map, i, prefix=prefix) for i in range(n_layers)]


def model_layer_devices(model, n_layers: int | None = None) -> list[torch.device]:
    """Per-layer devices of a (possibly split) transformers model: from ``model.hf_device_map`` when accelerate set
    one, else every layer on the device of the model's first parameter."""
    if n_layers is None:
        n_layers = int(getattr(model.config, "num_hidden_layers"))
    dmap = getattr(model, "hf_device_map", None)
    if dmap:
        return layer_devices(dmap, n_layers)
    dev = next(model.parameters()).device
    return [dev] * n_layers


def to_device(x, device, *, non_blocking: bool = False):
    """Move a tensor or a (nested) tuple/list of tensors to ``device``; ``None`` passes through; no copy when
    already there."""
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return type(x)(to_device(t, device, non_blocking=non_blocking) for t in x)
    return x if x.device == torch.device(device) else x.to(device, non_blocking=non_blocking)
