import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def default_model():
    """The embedded SmolLM2-135M-Instruct (tests using it are marked ``model``)."""
    import memgram

    return memgram.load_default_model(verbose=False)
