import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

try:  # property tests: no per-example deadline (shared 2-core machines are noisy); fixed seeds on CI
    from hypothesis import settings

    settings.register_profile("memgram", deadline=None, print_blob=True)
    settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
    settings.load_profile("ci" if os.environ.get("CI") else "memgram")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(scope="session")
def default_model():
    """The embedded SmolLM2-135M-Instruct (tests using it are marked ``model``)."""
    import memgram

    return memgram.load_default_model(verbose=False)
