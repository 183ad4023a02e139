"""memgram: endless context (InfLLM block memory) and exact output languages for Hugging Face transformers.

The public names are loaded lazily, so ``import memgram.grammar`` stays free of torch and transformers.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "BlockMemoryConfig": "memgram.memory.config",
    "UnsupportedModelError": "memgram.memory.errors",
    "BlockMemoryCache": "memgram.runtime.cache",
    "load_default_model": "memgram.runtime.model",
    "Grammar": "memgram.grammar",
    "HOLE": "memgram.grammar",
    "Hole": "memgram.grammar",
    "GrammarError": "memgram.grammar",
    "UnsupportedSchemaError": "memgram.grammar",
    "GrammarLogitsProcessor": "memgram.runtime.constrained",
    "generate_json": "memgram.runtime.constrained",
    "generate_code": "memgram.runtime.constrained",
    "infill": "memgram.runtime.constrained",
    "diffusion_generate": "memgram.runtime.diffusion",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'memgram' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
