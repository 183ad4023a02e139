"""Grammar-constrained decoding for masked-diffusion LLMs (LLaDA, Dream, DiffuCoder conventions).

The generated region is a row of positions; each is fixed (given text), masked, or committed
(a token the sampler placed).  Every step the model scores all positions at once; the sampler
proposes (position, token) pairs by confidence and commits some of them.  With a grammar, a
proposal is committed only if the partial output stays *completable within the remaining masks*:
each run of ``k`` masked positions becomes a bounded hole ``Hole(max_bytes=k * L)`` (``L`` = the
longest token in bytes, since ``k`` masks hold at most ``k`` tokens), and EOS follows "everything
after the first EOS is EOS" (a run of masks that may still turn into EOS may be empty).

>>> import torch
>>> from memgram.grammar import Grammar
>>> from memgram.runtime.diffusion import ToyVocab, RandomLogits, diffusion_generate
>>> g = Grammar.from_lark('start: "(" start ")" | "x"')
>>> voc = ToyVocab(["(", ")", "x", "((", "))"])
>>> r = diffusion_generate(RandomLogits(len(voc), seed=0), voc, "", grammar=g, gen_length=8, steps=8,
...                        refusal_budget=10_000)
>>> g.accepts(r.text), r.fallback
(True, False)

Checks go through the grammar engine (``Grammar.completable``, fast engine); answers are memoised
per partial output (the checker is never asked the same question twice) and a refused
(position, token) stays refused for the rest of the generation (committing more tokens only
shrinks the set of completions), so its logit is ``-inf`` from then on.
"""
from __future__ import annotations

import heapq
import math
import string
import time
from dataclasses import dataclass, field

import torch

from ..grammar import Hole
from ..grammar.api import UndecidedError

__all__ = ["diffusion_generate", "DiffusionResult", "DiffusionAdapter", "ToyVocab", "RandomLogits",
           "TinyMaskedLM", "train_tiny_mlm", "vocab_info", "Checker"]

FIXED, MASK, TOKEN, EOS = 0, 1, 2, 3


# --------------------------------------------------------------------------------------------
# vocabularies
# --------------------------------------------------------------------------------------------
class ToyVocab:
    """A small vocabulary of byte strings for tests and benchmarks (no torch, no transformers).

    Ids: the given tokens in order, then ``<eos>`` and ``<mask>``. ``encode`` is greedy longest
    match (every character of the text must be covered by some token)."""

    def __init__(self, tokens, eos="<eos>", mask="<mask>"):
        toks = [t.encode("utf-8") if isinstance(t, str) else bytes(t) for t in tokens]
        if len(set(toks)) != len(toks):
            raise ValueError("duplicate tokens")
        if any(not t for t in toks):
            raise ValueError("empty token")
        self.tokens = toks
        self.eos_token_id = len(toks)
        self.mask_token_id = len(toks) + 1
        self.names = [t.decode("utf-8", "replace") for t in toks] + [eos, mask]
        self._maxlen = max(len(t) for t in toks)
        self._index = {t: i for i, t in enumerate(toks)}

    def __len__(self):
        return len(self.tokens) + 2

    @property
    def token_bytes(self):
        return self.tokens + [b"", b""]

    @property
    def special(self):
        return [False] * len(self.tokens) + [True, True]

    def encode(self, text):
        b = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        out, i = [], 0
        while i < len(b):
            for n in range(min(self._maxlen, len(b) - i), 0, -1):
                j = self._index.get(b[i:i + n])
                if j is not None:
                    out.append(j)
                    i += n
                    break
            else:
                raise ValueError(f"no token covers byte {i} of {text!r}")
        return out

    def decode(self, ids):
        return b"".join(self.tokens[i] for i in ids if i < len(self.tokens)).decode("utf-8", "replace")


@dataclass
class VocabInfo:
    token_bytes: list          # bytes per id ("" for special ids)
    usable: list               # bool per id: may be proposed as a text token
    eos_ids: list
    mask_id: int
    maxlen: int                # longest usable token in bytes
    encode: object
    decode: object


def vocab_info(tok, mask_id=None, eos_id=None) -> VocabInfo:
    """Token id → bytes and the special ids of a :class:`ToyVocab` or a Hugging Face tokenizer
    (byte-level BPE / SentencePiece through :func:`memgram.runtime.vocab.token_table`)."""
    if isinstance(tok, ToyVocab):
        tb, special = tok.token_bytes, tok.special
        eos = [tok.eos_token_id] if eos_id is None else [eos_id]
        mid = tok.mask_token_id if mask_id is None else mask_id
        enc, dec = tok.encode, tok.decode
    else:
        from .vocab import token_table

        table = token_table(tok, eos_ids=None if eos_id is None else [eos_id])
        tb, special = table.token_bytes, table.special.tolist()
        eos = [int(e) for e in table.eos_ids]
        mid = mask_id if mask_id is not None else getattr(tok, "mask_token_id", None)
        if mid is None:
            raise ValueError("the tokenizer has no mask token: pass mask_id=")

        def enc(text, _t=tok):
            return list(_t.encode(text, add_special_tokens=False))

        def dec(ids, _t=tok):
            return _t.decode(ids, skip_special_tokens=True)
    usable = [(not s) and len(b) > 0 for b, s in zip(tb, special)]
    for e in eos:
        if e < len(usable):
            usable[e] = False
    if mid < len(usable):
        usable[mid] = False
    maxlen = max((len(b) for b, u in zip(tb, usable) if u), default=1)
    return VocabInfo(list(tb), usable, eos, int(mid), maxlen, enc, dec)


# --------------------------------------------------------------------------------------------
# model adapters
# --------------------------------------------------------------------------------------------
class DiffusionAdapter:
    """Wrap a model ``input_ids [B, L] -> logits [B, L, V]`` (a tensor, a tuple whose first
    element is the logits, or an object with ``.logits``) in one of the two logit conventions.

    ``"llada"``: the logits at position ``i`` score the token at ``i``.
    ``"dream"`` (Dream, DiffuCoder): the logits at ``i`` score the token at ``i + 1`` (AR-style
    shift); the adapter shifts them back (position 0 reuses row 0)."""

    def __init__(self, model, convention: str = "llada"):
        if convention not in ("llada", "dream"):
            raise ValueError("convention must be 'llada' or 'dream'")
        self.model = model
        self.convention = convention

    @property
    def default_remasking(self):
        return "low_confidence" if self.convention == "llada" else "entropy"

    @torch.no_grad()
    def __call__(self, input_ids):
        out = self.model(input_ids)
        if hasattr(out, "logits"):
            out = out.logits
        elif isinstance(out, (tuple, list)):
            out = out[0]
        out = out.float()
        if self.convention == "dream":
            out = torch.cat([out[:, :1], out[:, :-1]], dim=1)
        return out


# --------------------------------------------------------------------------------------------
# completability checks
# --------------------------------------------------------------------------------------------
class Checker:
    """Completability questions for one grammar, memoised by the exact question (normalised
    pieces); counts engine calls and their times. Shared by the sequences of one call.

    With one bounded hole the engine's answer is exact. With several, ``Grammar.completable``
    checks each bound separately (a necessary condition: it may accept text whose holes cannot be
    filled *together* within their bounds, a dead end for the sampler). ``exact=True`` (default)
    then settles the question: "yes" if a filling exists whose bytes in each hole, divided by that hole's bound,
    sum to at most 1 (every hole then fits; one weighted run of the numba kernels), else "yes" iff
    ``Grammar.complete`` finds a filling within every bound (Python engine, at most ``witness_budget`` work units
    per search: unbounded it takes minutes on C++; an exhausted budget counts in ``undecided``), else "no"
    (counted in ``conservative``: a refusal that a smarter joint search might have accepted; it never admits a
    dead end)."""

    def __init__(self, grammar, budget=None, exact: bool = True, witness_budget: int | None = 200_000):
        self.g = grammar
        self.budget = budget
        self.witness_budget = witness_budget
        self.exact = exact
        self.memo = {}
        self.calls = 0
        self.hits = 0
        self.undecided = 0
        self.joint_runs = 0          # weighted joint runs (several bounded holes)
        self.witness_runs = 0        # Grammar.complete calls (several bounded holes)
        self.conservative = 0
        self.times = []
        self.log = None              # list of questions asked of the engine (tests)
        self.deadline = None         # perf_counter time after which a question raises _Deadline

    def __call__(self, pieces) -> bool:
        key = tuple(p if isinstance(p, bytes) else ("h", p.max_bytes) for p in pieces)
        r = self.memo.get(key)
        if r is not None:
            self.hits += 1
            return r
        t0 = time.perf_counter()
        if self.deadline is not None and t0 > self.deadline:
            raise _Deadline
        ok = self._decide(pieces)
        self.times.append(time.perf_counter() - t0)
        self.calls += 1
        if self.log is not None:
            self.log.append(key)
        self.memo[key] = ok
        return ok

    def _decide(self, pieces) -> bool:
        c = self.g.completable(pieces, budget=self.budget)
        if c.ok is None:
            self.undecided += 1       # undecided counts as a refusal (documented, counted)
            return False
        if not c.ok or c.exact or not self.exact:
            return bool(c.ok)
        self.joint_runs += 1
        if _jointly_within_bounds(self.g, pieces):
            return True
        self.witness_runs += 1
        try:
            if self.g.complete(pieces, budget=self.witness_budget) is not None:
                return True
        except UndecidedError:
            self.undecided += 1
        self.conservative += 1
        return False


class _Deadline(Exception):
    pass


def _jointly_within_bounds(g, pieces) -> bool:
    """Sufficient test for several bounded holes, in one run of the engine's numba kernels: with a byte of hole
    ``i`` costing ``ceil(S / b_i)`` (``b_i`` its bound), a filling of least total cost at most ``S`` has
    ``bytes_i / b_i <= 1`` in every hole, so the holes fit together. (It covers "fewest bytes over all holes at most
    the smallest bound", the earlier test, and accepts more.) Returns False if the kernels are unavailable."""
    try:
        from ..grammar.api import _segments, quotient_if_large
        from ..grammar.completion import Pattern
        from ..grammar.earley_nb import nfa_arrays_fast, run_fast
    except ImportError:                                   # pragma: no cover - engine internals moved
        return False
    segs, _ = _segments(pieces)
    pat = Pattern(segs)
    bounded = [i for i, b in enumerate(pat.bounds) if b is not None]
    S = 1 << 12
    weights = {i: -(-S // max(1, pat.bounds[i])) for i in bounded}
    arrays = quotient_if_large(nfa_arrays_fast(g.config_tables, pat, frozenset(bounded), weights=weights))
    c, _, hit = run_fast(g.arrays, arrays=arrays, limit=S)
    return (not hit) and c is not None and c <= S


# --------------------------------------------------------------------------------------------
# per-sequence state
# --------------------------------------------------------------------------------------------
class _Seq:
    """Region state of one sequence: kinds, tokens and the span each position belongs to."""

    def __init__(self, layout, vi: VocabInfo, per_mask: int):
        self.vi = vi
        self.per_mask = per_mask
        self.kind, self.tok, self.span = [], [], []
        self.last_span_open = False
        spans = 0
        for p in layout:
            if isinstance(p, int):
                self.kind += [MASK] * p
                self.tok += [vi.mask_id] * p
                self.span += [spans] * p
                spans += 1
            else:
                ids = vi.encode(p)
                self.kind += [FIXED] * len(ids)
                self.tok += ids
                self.span += [-1] * len(ids)
        # EOS may only appear in a masked span that ends the region
        self.eos_span = spans - 1 if layout and isinstance(layout[-1], int) else None
        self.refused = {}             # (position, token) -> state version when refused
        self.banned = set()           # (position, token) remasked by a backtrack
        self.order = {}               # position -> commit counter
        self.backtracks = 0
        self.lookahead_refusals = 0
        self.version = 0
        self.refusals = 0
        self.structural = 0
        self.fallback = False
        self.fallback_positions = []
        self.fallback_text = None
        self.committed = 0

    def masked(self):
        return [i for i, k in enumerate(self.kind) if k == MASK]

    def eos_ok(self, i):
        """Structural EOS rule: EOS at i needs i in the final span and no text token after it."""
        if self.span[i] != self.eos_span or self.eos_span is None:
            return False
        for j in range(i + 1, len(self.kind)):
            if self.kind[j] in (TOKEN, FIXED):
                return False
        return True

    def text_ok(self, i):
        """A text token at i is impossible after an EOS."""
        return not any(self.kind[j] == EOS for j in range(i))

    def pieces(self, extra=()):
        """Grammar pieces of the state plus hypothetical commits ``extra`` [(pos, tok)]."""
        kind, tok = list(self.kind), list(self.tok)
        eos_ids = self.vi.eos_ids
        for i, t in extra:
            if t in eos_ids:
                for j in range(i, len(kind)):
                    if kind[j] == MASK or j == i:
                        kind[j], tok[j] = EOS, t
            else:
                kind[i], tok[i] = TOKEN, t
        out, buf, run = [], bytearray(), 0
        for k, t in zip(kind, tok):
            if k == EOS:
                break
            if k == MASK:
                run += 1
                continue
            if run:
                if buf:
                    out.append(bytes(buf))
                    buf = bytearray()
                out.append(Hole(max_bytes=run * self.per_mask))
                run = 0
            buf += self.vi.token_bytes[t]
        if run:
            if buf:
                out.append(bytes(buf))
                buf = bytearray()
            out.append(Hole(max_bytes=run * self.per_mask))
        if buf:
            out.append(bytes(buf))
        return out

    def commit(self, i, t):
        if t in self.vi.eos_ids:
            for j in range(i, len(self.kind)):
                if self.kind[j] == MASK:
                    self.kind[j], self.tok[j] = EOS, t
        else:
            self.kind[i], self.tok[i] = TOKEN, t
        self.order[i] = self.committed
        self.committed += 1
        self.version += 1


@dataclass
class DiffusionResult:
    """One generated sequence.

    ``text``: the region up to the first EOS (fixed text included); ``tokens``: its token ids
    (positions filled by the fallback are absent); ``sources``: per region position "fixed",
    "model", "eos" or "fallback"; ``fallback``: whether ``Grammar.complete`` filled the rest
    (``fallback_positions`` = the masked positions it filled); ``checks`` = engine calls for this
    sequence, ``memo_hits`` = answers reused, ``refusals`` = proposals refused by the checker,
    ``structural_refusals`` = EOS / post-EOS proposals refused without a check; ``backtracks`` =
    commits remasked after a dead end."""

    text: str
    tokens: list
    sources: list
    steps: int = 0
    committed: int = 0
    checks: int = 0
    memo_hits: int = 0
    refusals: int = 0
    structural_refusals: int = 0
    backtracks: int = 0
    undecided: int = 0
    fallback: bool = False
    fallback_positions: list = field(default_factory=list)
    check_seconds: float = 0.0
    model_seconds: float = 0.0
    total_seconds: float = 0.0
    check_times: list = field(default_factory=list)
    timed_out: bool = False

    @property
    def checks_per_token(self):
        return self.checks / max(1, self.committed)


# --------------------------------------------------------------------------------------------
# sampling helpers
# --------------------------------------------------------------------------------------------
def _filter_top_p(probs, top_p):
    if top_p >= 1.0:
        return probs
    sp, idx = torch.sort(probs, descending=True)
    cum = torch.cumsum(sp, -1)
    drop = cum - sp > top_p
    sp = sp.masked_fill(drop, 0.0)
    out = torch.zeros_like(probs).scatter(-1, idx, sp)
    return out / out.sum(-1, keepdim=True)


def _choose(row, temperature, top_p, remasking, gen):
    """(token, confidence) for one position's logits row (already -inf where forbidden), or None."""
    if not torch.isfinite(row).any():
        return None
    if temperature > 0:
        probs = torch.softmax(row / temperature, -1)
        probs = _filter_top_p(probs, top_p)
        t = int(torch.multinomial(probs, 1, generator=gen))
    else:
        probs = torch.softmax(row, -1)
        probs = _filter_top_p(probs, top_p)
        t = int(torch.argmax(probs))
    if remasking == "low_confidence":
        conf = float(probs[t])
    elif remasking == "entropy":
        p = probs[probs > 0]
        conf = float((p * p.log()).sum())           # negative entropy: higher = more confident
    elif remasking == "random":
        conf = float(torch.rand((), generator=gen))
    else:
        raise ValueError("remasking must be 'low_confidence', 'entropy' or 'random'")
    return t, conf


def _transfer_schedule(n_masked, steps):
    steps = max(1, steps)
    base, rem = divmod(n_masked, steps)
    return [base + (1 if s < rem else 0) for s in range(steps)]


# --------------------------------------------------------------------------------------------
# main entry
# --------------------------------------------------------------------------------------------
def diffusion_generate(model, tok, prompt="", *, grammar=None, gen_length: int = 128, steps: int | None = None,
                       block_length: int | None = None, pieces=None, adapter="llada", remasking: str | None = None,
                       temperature: float = 0.0, top_p: float = 1.0, mask_id: int | None = None,
                       eos_id: int | None = None, refusal_budget: int = 100, proposals: int = 4,
                       check_budget: int | None = None, seed: int | None = None, generator=None,
                       device=None, checker: Checker | None = None, hole_bytes: str = "safe",
                       backtrack_budget: int | None = None, lookahead: int = 256, exact_multi: bool = True,
                       max_seconds: float | None = None):
    """Masked-diffusion generation, optionally constrained by a grammar.

    ``model``: a callable ``input_ids -> logits [B, L, V]`` (or a :class:`DiffusionAdapter`);
    ``adapter``: "llada" (logits at the masked position), "dream" (logits shifted by one) or a
    callable ``input_ids -> logits`` in the LLaDA convention. ``prompt``: str or token ids, or a
    list of them (a batch; shorter prompts are left-padded with EOS). ``pieces``: the region
    layout — str (fixed text) and int (a span of that many masked tokens); default
    ``[gen_length]``. AR prefix, FIM and multi-region infilling use the same call, e.g.
    ``pieces=["int f(", 6, ") {", 12, "}"]``. EOS may only appear in a final masked span.

    ``steps`` (default: number of masked positions) are split evenly over ``block_length``
    blocks (semi-autoregressive; default one block); each step commits its share of the block's
    masks. Remasking (which positions to commit): "low_confidence" (LLaDA default),
    "entropy" (Dream default) or "random". ``temperature`` 0 = argmax; ``top_p`` nucleus.

    With ``grammar``: per step the top proposals are first checked *jointly* (one check when the
    model is right), then one by one; a refused (position, token) gets ``-inf`` for the rest of the
    run and the position's next choice is proposed. After ``refusal_budget`` refusals (or when no
    proposal is left) the remaining masks are filled by ``grammar.complete`` and the result says so.
    The hole model is a relaxation (several bounded holes are checked one at a time; a run of
    ``k`` masks in the middle must hold exactly ``k`` tokens, which a byte bound cannot say), so a
    committed state can still be a dead end: when some masked position has no token left, the
    most recent commit bordering its run is remasked and banned there (``backtracks``; at most
    ``backtrack_budget``, default 8 × the number of masks, then the fallback). A commit that leaves a
    single mask between it and text is accepted only if some token fits that mask (at most
    ``lookahead`` tokens tried, in the model's order; 0 turns this off).

    ``hole_bytes``: the byte bound of a run of ``k`` masks. "max" = ``k`` × the longest token:
    the exact relaxation (never refuses a proposal that has a token-level completion) but it
    may commit to text whose completion needs more *tokens* than there are masks (e.g. a 1-mask
    hole whose shortest filling is 2 bytes that no single token spells) — a dead end that only
    the fallback can leave. "safe" (default) = ``k`` bytes: with single-byte tokens for the bytes
    a completion needs (byte-level BPE has all 256) every committed state keeps a completion of
    at most one byte per mask, so the sampler always has a token to commit; it refuses only
    proposals whose completion would need more than one byte per remaining mask.
    ``exact_multi``: settle several-bounded-hole answers exactly (see :class:`Checker`; its
    ``Grammar.complete`` stage is slow for large grammars such as C++ and has a work budget).
    ``max_seconds``: stop when exceeded (``timed_out``; the text is then what was committed, unfinished).
    Returns a :class:`DiffusionResult` (a list of them for a batch prompt)."""
    t_start = time.perf_counter()
    vi = vocab_info(tok, mask_id=mask_id, eos_id=eos_id)
    if isinstance(model, DiffusionAdapter):
        fwd = model
    elif callable(adapter) and not isinstance(adapter, str):
        fwd = DiffusionAdapter(lambda x: adapter(model, x), "llada")
    else:
        fwd = DiffusionAdapter(model, adapter)
    if remasking is None:
        remasking = fwd.default_remasking
    if generator is None:
        generator = torch.Generator()
        generator.manual_seed(0 if seed is None else seed)

    batch = isinstance(prompt, (list, tuple)) and len(prompt) > 0 and not isinstance(prompt[0], int)
    prompts = list(prompt) if batch else [prompt]
    p_ids = [vi.encode(p) if isinstance(p, str) else list(p) for p in prompts]
    plen = max(len(p) for p in p_ids)
    pad = vi.eos_ids[0] if vi.eos_ids else vi.mask_id
    p_ids = [[pad] * (plen - len(p)) + p for p in p_ids]

    layout = list(pieces) if pieces is not None else [gen_length]
    if hole_bytes not in ("safe", "max"):
        raise ValueError("hole_bytes must be 'safe' or 'max'")
    per_mask = 1 if hole_bytes == "safe" else vi.maxlen
    seqs = [_Seq(layout, vi, per_mask) for _ in p_ids]
    R = len(seqs[0].kind)
    x = torch.tensor([p + s.tok for p, s in zip(p_ids, seqs)], dtype=torch.long, device=device)
    chk = checker if checker is not None else (Checker(grammar, check_budget, exact=exact_multi)
                                               if grammar is not None else None)
    deadline = None if max_seconds is None else t_start + max_seconds
    timed_out = False
    if chk is not None:
        chk.deadline = deadline
    per_seq = [dict(calls=0, hits=0, undecided=0, times=[]) for _ in seqs]

    n_masked = len(seqs[0].masked())
    if backtrack_budget is None:
        backtrack_budget = max(16, 8 * n_masked)
    if steps is None:
        steps = max(1, n_masked)
    blen = block_length or R
    blocks = [(a, min(R, a + blen)) for a in range(0, R, blen)]
    blocks = [(a, b) for a, b in blocks if any(seqs[0].kind[i] == MASK for i in range(a, b))]
    spb = max(1, steps // max(1, len(blocks)))
    V = None
    usable = None
    model_s = 0.0
    n_steps = 0

    for (a, b) in blocks:
        sched = [_transfer_schedule(sum(1 for i in range(a, b) if s.kind[i] == MASK), spb) for s in seqs]
        step = 0
        while any(s.kind[i] == MASK for s in seqs for i in range(0, b)):   # a backtrack may remask an earlier block
            if deadline is not None and time.perf_counter() > deadline:
                timed_out = True
                break
            t0 = time.perf_counter()
            logits = fwd(x)
            model_s += time.perf_counter() - t0
            n_steps += 1
            if V is None:
                V = logits.shape[-1]
                usable = torch.zeros(V, dtype=torch.bool)
                n = min(V, len(vi.usable))
                usable[:n] = torch.tensor(vi.usable[:n])
                for e in vi.eos_ids:
                    if e < V:
                        usable[e] = True
            for bi, s in enumerate(seqs):
                todo = [i for i in range(0, b) if s.kind[i] == MASK]
                if not todo:
                    continue
                k = sched[bi][step] if step < len(sched[bi]) else (sched[bi][-1] if sched[bi] else 1)
                k = max(1, min(k, len(todo)))
                rows = logits[bi, plen:plen + R].clone()
                rows[:, ~usable] = -math.inf
                c0 = (chk.calls, chk.hits, chk.undecided, len(chk.times)) if chk else None
                try:
                    _step_one(s, rows, todo, k, chk, temperature, top_p, remasking, generator, refusal_budget,
                              proposals, backtrack_budget, lookahead)
                except _Deadline:
                    timed_out = True
                if chk:
                    ps = per_seq[bi]
                    ps["calls"] += chk.calls - c0[0]
                    ps["hits"] += chk.hits - c0[1]
                    ps["undecided"] += chk.undecided - c0[2]
                    ps["times"] += chk.times[c0[3]:]
                x[bi, plen:] = torch.tensor(s.tok, dtype=torch.long)
            step += 1

    results = []
    for bi, s in enumerate(seqs):
        if timed_out:
            for i in s.masked():
                s.kind[i] = EOS               # report what was committed; the text is unfinished
        src, toks = [], []
        for i, k in enumerate(s.kind):
            if i in s.fallback_positions:
                src.append("fallback")
            elif k == FIXED:
                src.append("fixed")
            elif k == EOS:
                src.append("eos")
            else:
                src.append("model")
        if s.fallback:
            text = s.fallback_text
            fb = set(s.fallback_positions)
            toks = [t for i, t in enumerate(s.tok) if s.kind[i] in (FIXED, TOKEN) and i not in fb]
        else:
            cut = next((i for i, k in enumerate(s.kind) if k == EOS), R)
            toks = s.tok[:cut]
            text = b"".join(vi.token_bytes[t] for t in toks).decode("utf-8", "replace")
        ps = per_seq[bi]
        results.append(DiffusionResult(
            text=text, tokens=toks, sources=src, steps=n_steps, committed=s.committed, checks=ps["calls"],
            memo_hits=ps["hits"], refusals=s.refusals, structural_refusals=s.structural, backtracks=s.backtracks, undecided=ps["undecided"],
            fallback=s.fallback, fallback_positions=list(s.fallback_positions), check_seconds=sum(ps["times"]),
            model_seconds=model_s, total_seconds=time.perf_counter() - t_start, check_times=ps["times"],
            timed_out=timed_out))
    return results if batch else results[0]


def _fallback(s: _Seq, chk: Checker):
    """Fill every remaining mask with a shortest completion (bounded holes first)."""
    pieces = s.pieces()
    t0 = time.perf_counter()
    out = chk.g.complete(pieces)
    if out is None:
        out = chk.g.complete([p if isinstance(p, bytes) else Hole() for p in pieces])
    chk.times.append(time.perf_counter() - t0)
    if out is None:
        out = b"".join(p for p in pieces if isinstance(p, bytes))
    s.fallback = True
    s.fallback_positions = s.masked()
    s.fallback_text = out if isinstance(out, str) else out.decode("utf-8", "replace")
    for i in s.fallback_positions:
        s.kind[i] = TOKEN


def _step_one(s: _Seq, rows, todo, k, chk, temperature, top_p, remasking, gen, refusal_budget, proposals,
              backtrack_budget, lookahead):
    """Commit ``k`` tokens at positions ``todo`` of sequence ``s`` (logits ``rows`` [R, V])."""
    eos_ids = s.vi.eos_ids
    orig = rows.clone()
    for (i, t) in s.refused:
        rows[i, t] = -math.inf
    for (i, t) in s.banned:
        rows[i, t] = -math.inf
        orig[i, t] = -math.inf

    def structural(i, t):
        return s.eos_ok(i) if t in eos_ids else s.text_ok(i)

    heap = []
    exhausted = []
    for i in todo:
        if not s.eos_ok(i):
            rows[i, eos_ids] = -math.inf
        c = _choose(rows[i], temperature, top_p, remasking, gen)
        if c is not None:
            heapq.heappush(heap, (-c[1], i, c[0]))
        else:
            exhausted.append(i)
    if chk is None:
        for _ in range(k):
            if not heap:
                break
            _, i, t = heapq.heappop(heap)
            if s.kind[i] == MASK:
                s.commit(i, t)
        return

    def refuse(i, t, counted=True):
        rows[i, t] = -math.inf
        if counted:
            s.refused[(i, t)] = s.version
            s.refusals += 1
        else:
            s.structural += 1
        c = _choose(rows[i], temperature, top_p, remasking, gen)
        if c is not None:
            heapq.heappush(heap, (-c[1], i, c[0]))
        else:
            exhausted.append(i)

    def revive(i):
        """Position i has no candidate left: retry refusals from earlier states ("safe" bounds are
        not monotone: a long token commits more bytes than the one byte its mask was worth).
        Returns False when nothing is stale: i is a dead end of the current state."""
        stale = [it for it, v in s.refused.items() if it[0] == i and v < s.version]
        for it in stale:
            del s.refused[it]
            rows[it] = orig[it]
        c = _choose(rows[i], temperature, top_p, remasking, gen)
        if c is None:
            return False
        heapq.heappush(heap, (-c[1], i, c[0]))
        return True

    def lookahead_ok(extra):
        """A run of one mask followed by text must hold exactly one token — a byte bound cannot
        say that (it allows the empty filling). For each such run next to a new commit, look for
        one token that fits (in the model's order, at most ``lookahead`` tries)."""
        if not lookahead:
            return True
        placed = dict(extra)
        R = len(s.kind)

        def kind(q):
            if q in placed:
                return EOS if placed[q] in eos_ids else TOKEN
            return s.kind[q]

        for i, t in extra:
            if t in eos_ids:
                continue
            for j in (i - 1, i + 1):
                if not (0 <= j < R) or kind(j) != MASK:
                    continue
                if (j > 0 and kind(j - 1) == MASK) or j + 1 >= R or kind(j + 1) not in (TOKEN, FIXED):
                    continue
                order = torch.argsort(orig[j], descending=True)[:lookahead].tolist()
                if not any(math.isfinite(float(orig[j, u])) and u not in eos_ids
                           and chk(s.pieces(list(extra) + [(j, u)])) for u in order):
                    s.lookahead_refusals += 1
                    return False
        return True

    # 1. joint check of the top-k proposals (the common case: one check for k tokens)
    if k > 1 and proposals > 1 and not exhausted:
        top = heapq.nsmallest(min(k, proposals, len(heap)), heap)
        cand = [(i, t) for _, i, t in top]
        if len(cand) == k and all(structural(i, t) for i, t in cand) and _consistent(cand, eos_ids):
            if chk(s.pieces(cand)) and lookahead_ok(cand):
                for i, t in sorted(cand, key=lambda it: it[1] in eos_ids):
                    if s.kind[i] == MASK:
                        s.commit(i, t)
                return
    # 2. one at a time, each on top of what this step already committed
    done = 0
    while done < k:
        while exhausted:
            i = exhausted.pop()
            if s.kind[i] == MASK and not revive(i):
                # a dead end: no token fits at i although the state passed its check (the hole
                # model is a relaxation: several bounded holes, exact token counts). Remask the
                # most recent commit next to i's run of masks and ban it there.
                if s.backtracks >= backtrack_budget or not _backtrack(s, i):
                    _fallback(s, chk)
                return
        if not heap:
            return
        _, i, t = heapq.heappop(heap)
        if s.kind[i] != MASK:
            continue                  # filled by an EOS committed this step
        if not structural(i, t):
            refuse(i, t, counted=False)
            continue
        if chk(s.pieces([(i, t)])) and lookahead_ok([(i, t)]):
            s.commit(i, t)
            done += 1
            if t in eos_ids:
                # positions after it are EOS now; drop their proposals
                heap = [h for h in heap if s.kind[h[1]] == MASK]
                heapq.heapify(heap)
                if not any(s.kind[j] == MASK for j in todo):
                    return
        else:
            refuse(i, t)
            if s.refusals >= refusal_budget:
                _fallback(s, chk)
                return


def _backtrack(s: _Seq, i) -> bool:
    """Remask the most recently committed token bordering the run of masks around ``i`` (or, if
    both borders are fixed text, the most recent commit), ban it at its position, forget the
    refusals (the state is less constrained now). False if nothing can be remasked."""
    R = len(s.kind)
    cands = []
    j = i
    while j >= 0 and s.kind[j] == MASK:
        j -= 1
    if j >= 0 and s.kind[j] in (TOKEN, EOS):
        cands.append(j)
    j = i
    while j < R and s.kind[j] == MASK:
        j += 1
    if j < R and s.kind[j] in (TOKEN, EOS):
        cands.append(j)
    if not cands:
        cands = [j for j in range(R) if s.kind[j] in (TOKEN, EOS)]
    if not cands:
        if not s.banned:
            return False
        # nothing left to remask: the bans themselves closed the position; start over
        s.banned.clear()
        s.refused.clear()
        s.backtracks += 1
        s.version += 1
        return True
    j = max(cands, key=lambda q: s.order.get(q, -1))
    if s.kind[j] == EOS:
        while j > 0 and s.kind[j - 1] == EOS:
            j -= 1
        s.banned.add((j, s.tok[j]))
        for q in range(j, R):
            if s.kind[q] == EOS:
                s.kind[q], s.tok[q] = MASK, s.vi.mask_id
    else:
        s.banned.add((j, s.tok[j]))
        s.kind[j], s.tok[j] = MASK, s.vi.mask_id
    s.backtracks += 1
    s.refused.clear()
    s.version += 1
    return True


def _consistent(cand, eos_ids):
    """Joint commits: no text token after an EOS among the candidates."""
    first_eos = min((i for i, t in cand if t in eos_ids), default=None)
    return first_eos is None or all(t in eos_ids or i < first_eos for i, t in cand)


# --------------------------------------------------------------------------------------------
# toy models (tests, benchmarks)
# --------------------------------------------------------------------------------------------
# Toy problems shared by tests/runtime/test_diffusion.py and bench/diffusion.py: a character vocabulary with a few
# JSON words, and an arithmetic grammar for the tiny trained masked LM (train_tiny_mlm).
TOY_PRINTABLE = [c for c in string.printable if c not in "\x0b\x0c"]
TOY_JSON_WORDS = ["true", "false", "null", '"a"', '":', "12", "\\n"]
ARITH_GRAMMAR = r"""
start: expr
?expr: expr OP term | term
?term: NUM | "(" expr ")"
OP: "+" | "-" | "*"
NUM: /[0-9]+/
"""


def toy_json_vocab() -> "ToyVocab":
    return ToyVocab(TOY_PRINTABLE + TOY_JSON_WORDS)


class RandomLogits:
    """A seeded model whose logits are drawn at random every call: ``[B, L, V]`` standard normal
    times ``scale``."""

    def __init__(self, vocab_size: int, seed: int = 0, scale: float = 3.0):
        self.V = vocab_size
        self.gen = torch.Generator()
        self.gen.manual_seed(seed)
        self.scale = scale

    def __call__(self, input_ids):
        B, L = input_ids.shape
        return torch.randn(B, L, self.V, generator=self.gen) * self.scale


class TinyMaskedLM(torch.nn.Module):
    """A tiny bidirectional transformer for masked diffusion (LLaDA convention)."""

    def __init__(self, vocab_size: int, max_len: int = 64, d: int = 64, layers: int = 2, heads: int = 4):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab_size, d)
        self.pos = torch.nn.Embedding(max_len, d)
        layer = torch.nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, batch_first=True)
        self.enc = torch.nn.TransformerEncoder(layer, layers)
        self.out = torch.nn.Linear(d, vocab_size)

    def forward(self, input_ids):
        L = input_ids.shape[1]
        h = self.emb(input_ids) + self.pos(torch.arange(L, device=input_ids.device))[None]
        return self.out(self.enc(h))


def train_tiny_mlm(samples, vocab: ToyVocab, length: int, *, seconds: float = 5.0, max_iters: int = 400,
                   batch: int = 64, seed: int = 0, lr: float = 3e-3):
    """Train a :class:`TinyMaskedLM` on ``samples`` (strings; each encoded and padded with EOS to
    ``length``) with the masked-diffusion objective (mask ratio ~ U(0, 1), loss on masked
    positions) for at most ``seconds`` / ``max_iters``. Returns the model in eval mode."""
    torch.manual_seed(seed)
    data = []
    for s in samples:
        ids = vocab.encode(s)
        if len(ids) <= length:
            data.append(ids + [vocab.eos_token_id] * (length - len(ids)))
    data = torch.tensor(data, dtype=torch.long)
    model = TinyMaskedLM(len(vocab), max_len=max(64, 2 * length))
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    t0 = time.perf_counter()
    it = 0
    while it < max_iters and time.perf_counter() - t0 < seconds:
        idx = torch.randint(0, len(data), (batch,))
        x0 = data[idx]
        t = torch.rand(batch, 1) * 0.95 + 0.05
        m = torch.rand(x0.shape) < t
        xt = torch.where(m, torch.full_like(x0, vocab.mask_token_id), x0)
        logits = model(xt)
        loss = torch.nn.functional.cross_entropy(logits[m], x0[m])
        opt.zero_grad()
        loss.backward()
        opt.step()
        it += 1
    model.eval()
    model.train_iters = it
    model.final_loss = float(loss.detach())
    return model
