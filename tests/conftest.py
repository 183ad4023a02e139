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


def pytest_configure(config):
    """``MEMGRAM_REQUIRE_TEST_DEPS=1`` (set by ``make test``, whose set-up installs them): the optional test
    dependencies must import, so that the tests that skip without them (Triton interpreter tests, jsonschema
    agreement) cannot be skipped silently by a broken install."""
    if os.environ.get("MEMGRAM_REQUIRE_TEST_DEPS") != "1":
        return
    import importlib
    import importlib.util

    missing = []
    for name in ("jsonschema", "lark", "hypothesis"):
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - any import failure is a broken set-up here
            missing.append(f"{name} ({type(e).__name__}: {e})")
    # triton only located, not imported: it reads TRITON_INTERPRET when first imported, which tests/kernels/conftest.py
    # sets later (importing it here made the interpreter tests fail)
    if importlib.util.find_spec("triton") is None:
        missing.append("triton (not installed)")
    if missing:
        raise pytest.UsageError("MEMGRAM_REQUIRE_TEST_DEPS=1 but these do not import: " + "; ".join(missing))


@pytest.fixture(scope="session")
def default_model():
    """The embedded SmolLM2-135M-Instruct (tests using it are marked ``model``)."""
    import memgram

    return memgram.load_default_model(verbose=False)
