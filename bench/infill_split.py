"""Where a one-shot C++ infilling check goes: automaton build, bisimulation quotient, Earley parse (fast engine).

    python bench/infill_split.py [--n 70] [--seed 0]

Cuts 1, 2 and 3 unbounded holes from the corpus functions of tests/grammar/cpp_corpus (<= 1,000 bytes, the cut of
bench/infill.py with the same seed) and times the three stages of ``api._check_fast`` separately (medians), with
the automaton's size before and after the quotient.

Measured 2026-11-29 (defaults, 68 functions, alternated with the commit before the hole exits were read as one set of
configurations per position): build 3.22 -> 2.20 ms (1 hole), 6.55 -> 5.76 ms (2), 12.12 -> 10.06 ms (3); quotient
0.35-2.1 ms, parse 2.2-2.6 ms, unchanged. The raw edges (11K / 23K / 38K) come almost all from the ~10 hole-state
nodes per hole: lexemes begun in the hole that can end at ~1,000 places of the text after it.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    from infill import cpp_corpus, cut

    from memgram import HOLE
    from memgram.grammar import Grammar
    from memgram.grammar.api import _segments, quotient_if_large
    from memgram.grammar.completion import Pattern
    from memgram.grammar.earley_nb import run_fast
    from memgram.grammar.holes_nb import nfa_arrays_holes

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=70)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    g = Grammar.builtin("cpp")
    g.completable(["int f() {", HOLE, "}"], budget=1000)       # builds the tables and compiles the kernels
    docs = [text for _, text in cpp_corpus(1000)][: a.n]
    rnd = random.Random(a.seed)
    for nh in (1, 2, 3):
        rows = []
        for d in docs:
            r = cut(rnd, d, nh)
            if r is None:
                continue
            pat = Pattern(_segments(r[0])[0])
            t0 = time.perf_counter()
            arr = nfa_arrays_holes(g, pat, frozenset())
            t1 = time.perf_counter()
            q = quotient_if_large(arr)
            t2 = time.perf_counter()
            c, work, _ = run_fast(g.arrays, arrays=q)
            t3 = time.perf_counter()
            rows.append((t1 - t0, t2 - t1, t3 - t2, work, len(arr[0]), len(arr[3]), len(q[0]), len(q[3]), c is not None))
        m = np.median(np.array(rows, float), axis=0)
        print(f"{nh} hole(s), {len(rows)} functions: build {m[0] * 1e3:.2f} ms, quotient {m[1] * 1e3:.2f} ms, parse "
              f"{m[2] * 1e3:.2f} ms (work {m[3]:.0f}); nodes {m[4]:.0f} edges {m[5]:.0f} -> {m[6]:.0f} / {m[7]:.0f}; "
              f"completable {sum(r[8] for r in rows)}/{len(rows)}")


if __name__ == "__main__":
    main()
