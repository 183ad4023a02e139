"""Time ``Grammar.complete`` (shortest filling, plain-Python engine) on C++ with one hole cut from each corpus function.

    python bench/complete_cpp.py [--files 12] [--seed 1] [--gc-off]

Holes are cut as in bench/infill.py (``cut``, one span of up to 24 bytes at token boundaries). ``--gc-off`` disables
Python's cyclic garbage collector for the whole run (for comparison with the pause ``Grammar.complete`` applies to
itself).

Measured 2026-11-29 (defaults; two rounds of: the same script with the package at ffcbc04^, before the pause, then
at HEAD, then ``--gc-off``): 17.6 / 18.6 s in total before, 13.9 / 11.8 s with the pause, 16.1 / 13.3 s with the
collector off for the whole run (this machine's noise is of that order; a first ad-hoc timing gave 12.3 / 9.3 /
8.6 s).
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gc-off", action="store_true")
    a = ap.parse_args(argv)
    from infill import cpp_corpus, cut

    from memgram.grammar import Grammar

    g = Grammar.builtin("cpp")
    if a.gc_off:
        gc.disable()
    rnd = random.Random(a.seed)
    times = []
    for name, text in cpp_corpus()[:a.files]:
        r = cut(rnd, text, 1)
        if r is None:
            continue
        t0 = time.perf_counter()
        if g.complete(r[0]) is None:
            raise SystemExit(f"{name}: no completion (the cut text is one)")
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f"{len(times)} completions: total {sum(times):.2f} s, median {times[len(times) // 2] * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
