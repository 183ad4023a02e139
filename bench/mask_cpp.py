"""Cold token masks of the shipped C++ grammar (what fill-in-the-middle and `generate_code` pay per token).

    python bench/mask_cpp.py [--files 8] [--tokens 150] [--json out.json]

Follows the first ``--tokens`` tokens (embedded tokenizer) of the first ``--files`` functions of
tests/grammar/cpp_corpus with one matcher of ``Grammar.builtin("cpp")`` (index built once, not timed), timing every
``mask()`` call, and reports p50/p90 and the time spent building Earley item sets (each lexeme that can end inside a
token steps the parser; C++ steps cascade through the expression precedence levels). Since session 17 the item sets
are built in numba (grammar/chart_nb.py): the time reported is that of every parser step asked for, made or found.

Session 17, same command alternated with cb52a33 (bench/out/mask_cpp_cb52a33.json, through PYTHONPATH): masks in total
6.76 -> 2.28 s, the loop with advance() 9.42 -> 2.59 s, p50 3.69 -> 0.01 ms, p90 14.6 -> 9.2 ms, item sets built
147,816 -> 26,120. Equal item sets are now found again, so the states after each statement of a block (lark writes
repetitions left-recursively) are the same nodes, and more than half of the masks are finished masks met again.

Measured 2026-11-28, 8 files x 150 tokens (881 masks), the same run alternated: p50 12.8 ms before the parser shared
the predicted part of its item sets (cafbf8c), 3.2 ms after (a8fb89b); item-set builds 32.8 s -> 9.4 s in total.
Session 11, three alternated runs each, 020a106 vs the cyclic GC paused inside the matcher's calls: masks in total
17.4-18.6 s -> 4.8-6.6 s, the whole loop with advance() (where the deferred collections now run) 17.5-18.7 s ->
5.6-7.5 s, p50 4.4-4.8 -> 3.0-4.4 ms, p90 21-22 -> 13-18 ms; item sets 14.9-16.0 s -> 2.9-4.0 s (the collector's
passes over the parser's long-lived item sets had been timed inside them).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=150)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    import memgram.grammar.matcher as MM
    from mask_latency import default_tokenizer
    from memgram.grammar import Grammar

    tok = default_tokenizer()
    build = [0.0, 0]
    orig = MM.GrammarIndex.step

    def timed_step(self, nid, q):      # parser steps (item sets built by grammar/chart_nb.py where new)
        n0 = int(self.parser.cnt[0])
        t0 = time.perf_counter()
        try:
            return orig(self, nid, q)
        finally:
            build[0] += time.perf_counter() - t0
            build[1] += int(self.parser.cnt[0]) - n0

    m0 = Grammar.builtin("cpp").matcher(tok)
    MM.GrammarIndex.step = timed_step
    lat = []
    files = sorted((ROOT / "tests" / "grammar" / "cpp_corpus").glob("*.cpp"))[: a.files]
    t_all = time.perf_counter()
    for f in files:
        m = m0.copy()
        m.reset()
        for t in tok.encode(f.read_text(), add_special_tokens=False)[: a.tokens]:
            t0 = time.perf_counter()
            m.mask()
            lat.append((time.perf_counter() - t0) * 1e3)
            if not m.advance(t):
                raise SystemExit(f"{f.name}: token {t} refused (the corpus must be accepted)")
    wall = time.perf_counter() - t_all
    lat.sort()
    res = {"files": len(files), "masks": len(lat), "mask_ms_p50": statistics.median(lat),
           "mask_ms_p90": lat[int(0.9 * (len(lat) - 1))], "mask_s_total": sum(lat) / 1e3, "wall_s": wall,
           "item_set_builds": build[1], "build_s": build[0]}
    print(f"{res['masks']} masks: p50 {res['mask_ms_p50']:.2f} ms, p90 {res['mask_ms_p90']:.2f} ms, "
          f"total {res['mask_s_total']:.2f} s (loop with advance() {wall:.2f} s); "
          f"{build[1]} item sets built in {build[0]:.2f} s")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
