"""Memory the matcher's caches (walks: "pieces"; finished masks) hold after cold masks: C++ functions and JSON schemas.

    python bench/mask_memory.py [--files 8] [--tokens 150] [--schemas 100]

Follows the first ``--tokens`` tokens of ``--files`` functions of tests/grammar/cpp_corpus with one index of the
shipped C++ grammar, and the valid instance (64 tokens) of each schema of bench/mask_latency.py with its own index;
reports the pieces cached and the bytes their arrays hold (a slice's shared blocks are not counted: they belong to
the token table).

Measured 2026-11-28 (defaults; the same script at the previous commit, where every piece kept a 6 KB mask): C++
13,402 pieces, 82.3 MB -> 0.9 MB; JSON 4,120 pieces, 25.3 MB -> 2.0 MB. ``GrammarIndex.MAX_PIECES`` (50,000) full
masks would have been 300 MB per index.

Also the finished-mask cache (``GrammarIndex._masks``). Measured 2026-11-29, the same script against the commit
before masks were kept as ids: C++ 645 masks 4.0 -> 3.7 MB; JSON 1,989 masks 12.2 -> 1.7 MB (6,144 -> 873 B each).

And the walks kept for every acceptable set (``GrammarIndex.precompute_roots``, walks below events). Measured
2026-11-29: JSON 42.8 MB for the 100 indexes (2,048 tokens per configuration and 128,000 per index at most; 130 MB
before those caps and int32), C++ 0.8 MB (640 root walks, 932 below events). Session 16 (the walks below events made
with the index for the composed masks, and their tables): JSON 50.6 MB, C++ 1.4 MB (640 root walks, 1,309 below
events).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def held(ix):
    """(bytes held by the pieces' own arrays, number of pieces)."""
    blocks = {id(sl.upto) for sl in ix.table._slices.values() if sl is not None}
    seen, total = set(), 0
    for p in ix._pieces.values():
        for a in p[:-1]:
            if isinstance(a, np.ndarray) and id(a) not in seen and not (a.base is not None and id(a.base) in blocks):
                seen.add(id(a))
                total += a.nbytes
    return total, len(ix._pieces)


def held_shared(ix):
    """(bytes held by the walks kept for every acceptable set: root walks made with the index, walks below events;
    their event groups' node bytes included), (root walks, walks below events)."""
    total = ix._pool.nbytes + ix._xpool.nbytes + sum(a.nbytes for a in (ix._rt_ev_node, ix._rt_ev_cfg))  # the lists
    total += ix._wt.nbytes + ix._grp.nbytes
    subs = [r for r in ix._subs.values() if r]
    for _, _, _, groups in subs:
        total += sum(len(g[1]) for g in groups)
    for groups in ix._rt_groups:
        total += sum(len(g[1]) for g in groups or ())
    return total, (sum(r is not None for r in ix._rt_span), len(subs))


def held_masks(ix):
    """(bytes held by the finished-mask cache, number of masks): kept as (kind, array) or, before, as a copy."""
    arrs = [v[1] if isinstance(v, tuple) else v for v in ix._masks.values()]
    return sum(a.nbytes for a in arrs), len(arrs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=150)
    ap.add_argument("--schemas", type=int, default=100)
    a = ap.parse_args(argv)
    import mask_latency as ML

    import memgram.grammar.matcher as MM
    from memgram.grammar import Grammar
    from memgram.runtime.vocab import token_table

    tok = ML.default_tokenizer()
    table = token_table(tok)
    ix = MM.grammar_index(Grammar.builtin("cpp"), table)
    for f in sorted((ROOT / "tests" / "grammar" / "cpp_corpus").glob("*.cpp"))[:a.files]:
        m = MM.Matcher(ix)
        for t in tok.encode(f.read_text(), add_special_tokens=False)[:a.tokens]:
            m.mask()
            if not m.advance(t):
                raise SystemExit(f"{f.name}: token refused")
    b, n = held(ix)
    print(f"cpp:  {n} pieces, {b / 1e6:.1f} MB held ({b / max(n, 1):.0f} B per piece)")
    b, n = held_masks(ix)
    print(f"cpp:  {n} finished masks, {b / 1e6:.1f} MB held ({b / max(n, 1):.0f} B per mask)")
    b, (r, s) = held_shared(ix)
    print(f"cpp:  walks for every acceptable set: {r} root, {s} below events, {b / 1e6:.1f} MB held")
    total = count = m_total = m_count = s_total = 0
    for c in ML.build_cases(a.schemas, 0):
        if c["valid"] is None:
            continue
        ix = MM.grammar_index(Grammar.from_json_schema(c["schema"]), table)
        m = MM.Matcher(ix)
        for t in tok.encode(c["valid"], add_special_tokens=False)[:64]:
            m.mask()
            m.advance(t)
        b, n = held(ix)
        total, count = total + b, count + n
        b, n = held_masks(ix)
        m_total, m_count = m_total + b, m_count + n
        s_total += held_shared(ix)[0]
    print(f"json: {count} pieces, {total / 1e6:.1f} MB held ({total / max(count, 1):.0f} B per piece)")
    print(f"json: {m_count} finished masks, {m_total / 1e6:.1f} MB held ({m_total / max(m_count, 1):.0f} B per mask)")
    print(f"json: walks for every acceptable set: {s_total / 1e6:.1f} MB held")


if __name__ == "__main__":
    main()
