"""Long-context probes: pass-key retrieval prompts and a runner comparing memory modes through one code path."""
from __future__ import annotations

import random
import resource
import time
from dataclasses import asdict, dataclass

import torch

INTRO = ("There is an important piece of information hidden inside a lot of irrelevant text. Find it and memorize it. "
         "I will quiz you about the important information there.\n\n")
FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "
QUESTION = "\n\nWhat is the pass key? The pass key is"


def passkey_prompt(tok, length: int, depth: float, seed: int = 0):
    """Token ids ``[1, ~length]`` of a haystack with a 5-digit pass key at relative ``depth``; returns (ids, key)."""
    rng = random.Random(f"{seed}-{length}-{depth}")
    key = str(rng.randint(10000, 99999))
    needle = f"The pass key is {key}. Remember it. {key} is the pass key. "
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    head, q, nd, fill = enc(INTRO), enc(QUESTION), enc(needle), enc(FILLER)
    n_fill = max(1, (length - len(head) - len(q) - len(nd)) // len(fill))
    at = min(n_fill, max(0, round(depth * n_fill)))
    ids = head + fill * at + nd + fill * (n_fill - at) + q
    return torch.tensor([ids]), key


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS counter of this process (Linux), so each measurement has its own peak.

    Garbage from earlier measurements is collected and returned to the OS first, so it does not count.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def fix_malloc_mmap_threshold(nbytes: int) -> bool:
    """Memory measurements without the C allocator's caching (glibc only): allocations of ``nbytes`` or more are
    mapped on their own and unmapped when freed, and free memory at the top of the heap above ``nbytes`` goes back to
    the OS. By default glibc raises its mmap threshold as large blocks are freed (up to 32 MiB), so later
    activations land in the heap and stay resident after they are freed, and peak RSS carries freed memory that
    varies from run to run (README, "Pass-key evaluation", has the measurements and commands). The price is a page
    fault on every fresh buffer, so take timings without it. Returns False where ``mallopt`` is unavailable."""
    import ctypes

    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(nbytes))) and bool(libc.mallopt(M_TRIM_THRESHOLD, int(nbytes)))
    except (OSError, AttributeError):
        return False


def peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class PasskeyRecord:
    length: int
    depth: float
    mode: str
    correct: bool
    answer: str
    key: str
    seconds: float
    tokens: int
    tokens_per_s: float
    peak_rss_mb: float
    unit_mb: float


def run_passkey(model, tok, length: int, depth: float, mode: str, config=None, seed: int = 0, max_new_tokens: int = 8
                ) -> PasskeyRecord:
    """Answer one pass-key prompt with the given memory mode; returns a record (correct, time, memory)."""
    from .eval_runner import generate_answer

    ids, key = passkey_prompt(tok, length, depth, seed)
    reset_peak_rss()
    answer, dt, stats = generate_answer(model, tok, ids[0].tolist(), mode, config, max_new_tokens)
    n = ids.shape[1]
    return PasskeyRecord(length=n, depth=depth, mode=mode, correct=key in answer, answer=answer.strip(),
                         key=key, seconds=dt, tokens=n, tokens_per_s=n / dt,
                         peak_rss_mb=peak_rss_mb(), unit_mb=stats["units"] / 2**20)


def record_dict(r: PasskeyRecord) -> dict:
    return asdict(r)
