"""Public grammar API: :class:`Grammar`, holes, completability results and incremental sessions.

>>> g = Grammar.from_lark('start: "(" start ")" | "x"')
>>> bool(g.completable(["((", HOLE, ")"]))
True
>>> g.complete(["((", HOLE, ")"])
'((x))'
"""
from __future__ import annotations

import contextlib
import functools
import gc
import time
from dataclasses import dataclass, field

from .completion import HoleGraph, LexNFA, Pattern
from .earley import Budget, EarleyEngine
from .errors import GrammarError

__all__ = ["Grammar", "HOLE", "Hole", "Completability", "CompletabilitySession", "UndecidedError"]


class Hole:
    """A hole in a partial output: any byte string (``max_bytes=None``) or at most ``max_bytes`` bytes."""

    __slots__ = ("max_bytes",)

    def __init__(self, max_bytes: int | None = None):
        if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes < 0):
            raise ValueError("max_bytes must be a non-negative int or None")
        self.max_bytes = max_bytes

    def __repr__(self):
        return "HOLE" if self.max_bytes is None else f"Hole(max_bytes={self.max_bytes})"

    def __eq__(self, other):
        return isinstance(other, Hole) and other.max_bytes == self.max_bytes

    def __hash__(self):
        return hash(("Hole", self.max_bytes))


HOLE = Hole()


class UndecidedError(RuntimeError):
    """bool() of a :class:`Completability` whose budget ran out (``ok is None``)."""


@dataclass
class Completability:
    """Result of a completability check.

    ``ok``: True (completable), False (not completable) or None (a budget was hit: undecided).
    ``bool(result)`` raises :class:`UndecidedError` when ``ok is None`` — never a silent "no".
    ``work``: items processed by the parser (this call); ``seconds``: wall time.
    """

    ok: bool | None
    reason: str = ""
    work: int = 0
    seconds: float = 0.0
    exact: bool = True

    def __bool__(self):
        if self.ok is None:
            raise UndecidedError(f"completability undecided: {self.reason}")
        return self.ok


def _segments(pieces):
    """Normalise pieces: bytes texts concatenated, holes merged (bounds add, unbounded absorbs)."""
    if isinstance(pieces, (str, bytes, bytearray, Hole)):
        pieces = [pieces]
    segs = []
    all_str = True
    for x in pieces:
        if isinstance(x, Hole):
            if segs and segs[-1][0] == "h":
                a, b = segs[-1][1], x.max_bytes
                segs[-1] = ("h", None if a is None or b is None else a + b)
            else:
                segs.append(("h", x.max_bytes))
            continue
        if isinstance(x, str):
            x = x.encode("utf-8")
        elif isinstance(x, (bytes, bytearray)):
            all_str = False
            x = bytes(x)
        else:
            raise TypeError(f"pieces must be str, bytes or holes, not {type(x).__name__}")
        if not x:
            continue
        if segs and segs[-1][0] == "t":
            segs[-1] = ("t", segs[-1][1] + x)
        else:
            segs.append(("t", x))
    # a hole bounded by 0 bytes is no hole
    out = []
    for s in segs:
        if s[0] == "h" and s[1] == 0:
            continue
        if out and s[0] == "t" and out[-1][0] == "t":
            out[-1] = ("t", out[-1][1] + s[1])
        else:
            out.append(s)
    return out, all_str


def _pieces_of(segs):
    return [s[1] if s[0] == "t" else Hole(s[1]) for s in segs]


def _deadline(seconds):
    return None if seconds is None else time.perf_counter() + seconds


def _gc_pause() -> bool:
    was = gc.isenabled()
    if was:
        gc.disable()
    return was


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while a grammar is compiled (restored afterwards, nested uses
    included). Compiling allocates many small objects (lark's trees, automaton tables), which triggers full
    collections that scan every object of the process: with a model and a tokenizer loaded that was a
    quarter to a third of a JSON schema's compile time. Cycles made meanwhile are collected later."""
    was = _gc_pause()
    try:
        yield
    finally:
        if was:
            gc.enable()


def without_gc(f):
    """Decorator form of :func:`gc_paused`, cheaper for calls of microseconds. The parsers make many small
    long-lived objects (Earley items, item sets), and the collector's repeated passes over them were ~60 % of a C++
    token mask's time (bench/mask_cpp.py header) and ~25-35 % of a C++ ``complete()`` (bench/complete_cpp.py)."""
    @functools.wraps(f)
    def paused(*args, **kwargs):
        was = _gc_pause()
        try:
            return f(*args, **kwargs)
        finally:
            if was:
                gc.enable()
    return paused


class Grammar:
    """A context-free grammar over a maximal-munch lexer (see docs/grammar.md for the semantics)."""

    def __init__(self, cfg, lexer):
        self.cfg = cfg
        self.lexer = lexer
        self._hg = None
        self._max_len = False  # not computed yet

    # -- construction ----------------------------------------------------------
    @classmethod
    def from_lark(cls, text: str, start: str = "start") -> "Grammar":
        from .cfg import cfg_from_lark

        with gc_paused():
            return cls._from_cfg(cfg_from_lark(text, start=start))

    @classmethod
    def from_json_schema(cls, schema, **opts) -> "Grammar":
        """The grammar of the JSON documents valid under ``schema`` (see :mod:`memgram.grammar.json_schema`; options
        ``whitespace="flexible"|"compact"``, ``strict_key_order``). Built directly, not through lark's loader: the
        grammar lark's loader makes of ``schema_to_lark(schema, **opts)``, except that a string with ``pattern`` or
        ``format`` and a length bound, which lark text can only write with a lookahead (``from_lark`` refuses
        lookaheads), is here one terminal whose DFA is the intersection."""
        from .json_schema import schema_to_cfg

        with gc_paused():
            return cls._from_cfg(schema_to_cfg(schema, **opts))

    @classmethod
    def _from_cfg(cls, cfg) -> "Grammar":
        from .lexer import LexerAutomaton

        lexer = LexerAutomaton(cfg.terminals)
        if bool(lexer.dfa.accept[lexer.dfa.start]):
            names = [t.name for t in cfg.terminals]
            raise GrammarError(f"a terminal matches the empty string (one of {names})")
        return cls(cfg, lexer)

    @classmethod
    def builtin(cls, name: str) -> "Grammar":
        from importlib import resources

        try:
            text = resources.files("memgram.grammar").joinpath("grammars", f"{name}.lark").read_text("utf-8")
        except FileNotFoundError:
            raise GrammarError(f"no builtin grammar {name!r}") from None
        return cls.from_lark(text, start="start")

    @property
    def hole_graph(self) -> HoleGraph:
        """Per-grammar lexer product over hole states (built lazily, cached)."""
        if self._hg is None:
            self._hg = HoleGraph(self.lexer)
        return self._hg

    def max_length(self) -> int | None:
        """Bytes in the longest word of the language, or None if it is infinite (e.g. ``%ignore``d whitespace,
        unbounded terminals or recursion) or empty. An upper bound: the sum of the longest lexemes along the longest
        derivation (lexing can only rule words out). A word of at most this many bytes needs at most this many tokens
        (every token has at least one byte), so it sizes a generation budget that always completes."""
        if self._max_len is False:
            self._max_len = self._longest()
        return self._max_len

    def _longest(self) -> int | None:
        if self.cfg.is_empty_language:
            return None
        terms = self.cfg.terminals
        if any(t.ignored for t in terms):
            return None
        longest: dict[int, int] = {}
        for i, dfa in enumerate(self.lexer.terminal_dfas):
            n = dfa.max_accept_len()
            if n is None:
                if any(i in rhs for _, rhs in self.cfg.rules):
                    return None
                continue
            if n >= 0:  # a terminal that matches nothing makes its rules derive nothing
                longest[i] = n
        # longest derivation: Bellman-Ford style relaxation; still growing after one round per rule -> a cycle that
        # adds bytes -> infinite
        rules = self.cfg.rules
        for _ in range(len(rules) + 1):
            changed = False
            for lhs, rhs in rules:
                if all(s in longest for s in rhs):
                    v = sum(longest[s] for s in rhs)
                    if v > longest.get(lhs, -1):
                        longest[lhs] = v
                        changed = True
            if not changed:
                return longest.get(self.cfg.start)
        return None

    # -- checks ---------------------------------------------------------------------
    def accepts(self, text) -> bool:
        r = self.completable([text])
        return bool(r)

    @without_gc
    def completable(self, pieces, *, budget: int | None = None, seconds: float | None = None,
                    engine: str = "auto") -> Completability:
        """Can the holes be filled so that the whole text is in the language?

        ``budget``: maximum parser items (work units); ``seconds``: wall-clock limit. When one is
        hit the result has ``ok=None`` and says which. With several bounded holes the check is a
        necessary condition (see docs/grammar.md): ``False`` is always right, ``True`` may be wrong
        (``exact`` is False then).

        ``engine``: "fast" (numba kernel over the fully built boundary NFA), "reference" (the
        plain-Python engine, lazily built NFA) or "auto" (fast unless ``seconds`` is given: the
        kernel counts work only, the reference engine also watches the clock)."""
        segs, _ = _segments(pieces)
        if engine == "auto":
            engine = "reference" if seconds is not None else "fast"
        if engine == "fast":
            return _check_fast(self, Pattern(segs), budget)
        if engine != "reference":
            raise ValueError("engine must be 'auto', 'fast' or 'reference'")
        return _check(self, Pattern(segs), None, budget, seconds)

    @property
    def config_tables(self):
        """Lexer-configuration automaton as arrays (numba NFA builder; built lazily, cached)."""
        if getattr(self, "_ct", None) is None:
            from .completion import ConfigTables

            self._ct = ConfigTables(self.hole_graph)
        return self._ct

    @property
    def arrays(self):
        """Flat grammar arrays for the numba kernel (built lazily, cached)."""
        if getattr(self, "_ga", None) is None:
            from .earley_nb import GrammarArrays

            self._ga = GrammarArrays(self.cfg)
        return self._ga

    @without_gc
    def complete(self, pieces, *, budget: int | None = None):
        """Fill every hole with a shortest filling (fewest bytes in total); None if impossible.

        Returns str when all text pieces are str and the result is valid UTF-8, else bytes. ``budget``: work units
        (items) per search; when one runs out, :class:`UndecidedError` is raised (never a silent None)."""
        segs, all_str = _segments(pieces)
        pat = Pattern(segs)
        hg = self.hole_graph
        bounded = [i for i, b in enumerate(pat.bounds) if b is not None]
        attempts = [set(range(len(pat.bounds)))]
        if bounded:
            attempts.append(set(bounded))
        for costed in attempts:
            eng = EarleyEngine(self.cfg, LexNFA(hg, pat, costed=costed, keep_witness=True))
            try:
                found = eng.run(max_work=budget)
            except Budget as e:
                raise UndecidedError(f"completion search: {e} budget exhausted") from None
            if found is None:
                return None
            fill = [bytearray() for _ in pat.bounds]
            for h, b in eng.witness():
                fill[h].append(b)
            if all(pat.bounds[i] is None or len(fill[i]) <= pat.bounds[i] for i in range(len(fill))):
                out = bytearray()
                hi = 0
                for s in segs:
                    if s[0] == "t":
                        out += s[1]
                    else:
                        out += fill[hi]
                        hi += 1
                out = bytes(out)
                if all_str:
                    try:
                        return out.decode("utf-8")
                    except UnicodeDecodeError:
                        return out
                return out
        return None  # only with >= 2 bounded holes whose minima cannot be met together by this search

    def matcher(self, tokenizer_or_table, model=None):
        """An incremental token matcher for autoregressive decoding (``mask``/``advance``/``rollback``...).

        ``tokenizer_or_table``: a Hugging Face tokenizer or a :class:`memgram.grammar.vocab.TokenTable`;
        grammar-level precomputation is cached per (grammar, vocabulary). See :mod:`memgram.grammar.matcher`.
        """
        from .matcher import compile_matcher

        return compile_matcher(self, tokenizer_or_table, model)

    def session(self, pieces, *, budget: int | None = None, seconds: float | None = None,
                engine: str = "reference") -> "CompletabilitySession":
        """Incremental checks. ``engine="reference"``: Python engine that keeps the chart left of
        each change (reuse); ``engine="fast"``: every check recomputes with the numba kernel."""
        return CompletabilitySession(self, pieces, budget=budget, seconds=seconds, engine=engine)


def _run_engine(eng, limit, budget, seconds, t0):
    w0 = eng.work
    try:
        c = eng.run(max_work=None if budget is None else eng.work + budget, deadline=_deadline(seconds), limit=limit)
    except Budget as e:
        return None, f"{e} budget exhausted", eng.work - w0
    return c, "", eng.work - w0


# Determinise + minimise the automaton before parsing when it has more edges than this. With the
# hole-state automaton and the cost-free kernel, parsing directly is faster on the shipped grammars
# (and the subset construction over hole states can blow up with several holes): off by default;
# tests set it to 0 to exercise the path.
_MINIMIZE_EDGES = 10**12
# Bisimulation quotient of the automaton before parsing when it has at least this many edges (the nodes around a
# hole collapse: fewer Earley items). Below it the quotient costs more than it saves. Tests vary it.
QUOTIENT_EDGES = 1_000


def quotient_if_large(arrays):
    """The automaton's bisimulation quotient (:func:`.earley_nb.bisim_quotient`) when it has at least
    ``QUOTIENT_EDGES`` edges, else the automaton itself."""
    from .earley_nb import bisim_quotient

    if len(arrays[3]) >= QUOTIENT_EDGES:
        ok, *q = bisim_quotient(*arrays)
        if ok:
            return tuple(q)
    return arrays


def _check_fast(g, pat, budget):
    from .earley_nb import minimize_layered, run_fast, subset_kernel
    from .holes_nb import nfa_arrays_holes

    t0 = time.perf_counter()
    # the tightest bound first (most likely to fail); with several bounded holes, one cost-free run first: a "no"
    # with every hole unbounded is a "no" for the bounded question too, at the price of one run instead of one per hole
    bounded = sorted((i for i, b in enumerate(pat.bounds) if b is not None), key=lambda i: pat.bounds[i])
    work = 0
    for key in ([None] + bounded if len(bounded) > 1 else bounded or [None]):
        costed = frozenset() if key is None else frozenset([key])
        limit = None if key is None else pat.bounds[key]
        # uncosted holes as nodes of the per-grammar hole automaton (grammar/holes_nb.py)
        arrays = nfa_arrays_holes(g, pat, costed)
        if not costed and len(arrays[3]) > _MINIMIZE_EDGES:
            # all costs 0: determinise and merge language-equivalent states (a hole's ~100
            # lookahead classes collapse to a few states), then parse the smaller automaton
            d = subset_kernel(arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], g.arrays.T)
            arrays = minimize_layered(*d, g.arrays.T, hole_positions=pat.hole_pos)
        else:
            arrays = quotient_if_large(arrays)
        c, w, hit = run_fast(g.arrays, arrays=arrays, limit=limit,
                             max_work=None if budget is None else budget - work)
        work += w
        if hit:
            return Completability(None, "work budget exhausted", work, time.perf_counter() - t0)
        if c is None:
            r = "no filling of the holes gives a word of the language"
            if key is not None:
                r = f"hole {key} needs more than {limit} bytes"
            return Completability(False, r, work, time.perf_counter() - t0)
    exact = len(bounded) <= 1
    reason = "completable" if exact else "each bounded hole is satisfiable separately (necessary condition)"
    return Completability(True, reason, work, time.perf_counter() - t0, exact=exact)


def _check(g, pat, engines, budget, seconds):
    """One completability decision; ``engines`` (dict costed-hole -> engine) is reused by sessions."""
    t0 = time.perf_counter()
    hg = g.hole_graph
    bounded = [i for i, b in enumerate(pat.bounds) if b is not None]
    keys = bounded if bounded else [None]
    work = 0
    for key in keys:
        eng = None if engines is None else engines.get(key)
        if eng is None:
            costed = frozenset() if key is None else frozenset([key])
            eng = EarleyEngine(g.cfg, LexNFA(hg, pat, costed=costed))
            if engines is not None:
                engines[key] = eng
        limit = None if key is None else pat.bounds[key]
        c, why, w = _run_engine(eng, limit, budget, seconds, t0)
        work += w
        if why:
            return Completability(None, why, work, time.perf_counter() - t0)
        if c is None or (limit is not None and c > limit):
            r = "no filling of the holes gives a word of the language"
            if key is not None:
                r = f"hole {key} needs more than {limit} bytes"
            return Completability(False, r, work, time.perf_counter() - t0)
    exact = len(bounded) <= 1
    reason = "completable" if exact else "each bounded hole is satisfiable separately (necessary condition)"
    return Completability(True, reason, work, time.perf_counter() - t0, exact=exact)


class CompletabilitySession:
    """Incremental completability for decoding loops.

    ``fill(h, text, side)`` says hole ``h`` (index among the current holes) now starts
    (``side="left"``) or ends (``side="right"``) with ``text``. The parser state is kept per
    engine; a fill only invalidates pattern positions at or after the changed hole (left fill)
    or after it (right fill): items ending before are reused, scans that crossed the change are
    re-seeded, everything after it is recomputed.
    """

    def __init__(self, grammar: Grammar, pieces, *, budget=None, seconds=None, engine="reference"):
        if engine not in ("reference", "fast"):
            raise ValueError("engine must be 'reference' or 'fast'")
        self.engine = engine
        self.g = grammar
        self.segs, self._all_str = _segments(pieces)
        self.pat = Pattern(self.segs)
        self.engines = {}
        self.budget = budget
        self.seconds = seconds
        self.stats = dict(checks=0, reused_positions=0, recomputed_positions=0, seconds=0.0)
        self._dirty_from = 0

    @property
    def pieces(self):
        return _pieces_of(self.segs)

    @without_gc
    def check(self) -> Completability:
        t0 = time.perf_counter()
        if self.engine == "fast":
            r = _check_fast(self.g, self.pat, self.budget)
            self._dirty_from = 0
        else:
            r = _check(self.g, self.pat, self.engines, self.budget, self.seconds)
        self.stats["checks"] += 1
        self.stats["reused_positions"] += self._dirty_from
        self.stats["recomputed_positions"] += self.pat.M - self._dirty_from
        self._dirty_from = self.pat.M
        self.stats["seconds"] += time.perf_counter() - t0
        return r

    def _new_segs(self, hole_index, text, side):
        if isinstance(text, str):
            text = text.encode("utf-8")
        text = bytes(text)
        holes = [i for i, s in enumerate(self.segs) if s[0] == "h"]
        if not 0 <= hole_index < len(holes):
            raise IndexError(f"hole index {hole_index} out of range ({len(holes)} holes)")
        si = holes[hole_index]
        bound = self.segs[si][1]
        if bound is not None and len(text) > bound:
            return None, None
        # pattern position of the hole
        hp = sum(len(s[1]) if s[0] == "t" else 1 for s in self.segs[:si])
        nb = None if bound is None else bound - len(text)
        new = list(self.segs[:si])
        if side == "left":
            new.append(("t", text))
            new.append(("h", nb))
            x = hp
        elif side == "right":
            new.append(("h", nb))
            new.append(("t", text))
            x = hp + 1 if nb != 0 else hp
        else:
            raise ValueError("side must be 'left' or 'right'")
        new.extend(self.segs[si + 1:])
        # bounds of other holes do not change; merge texts, drop 0-bounded holes
        segs, _ = _segments(_pieces_of(new))
        if nb == 0:
            x = hp if side == "left" else hp
        # the costed-hole identity of later holes shifts when a hole disappears: rebuild engines then
        rebuild = nb == 0
        return segs, (x, rebuild)

    @without_gc
    def fill(self, hole_index: int, text, side: str = "left") -> Completability:
        segs, info = self._new_segs(hole_index, text, side)
        if segs is None:
            return Completability(False, "text longer than the hole's remaining bound")
        x, rebuild = info
        self.segs = segs
        self.pat = Pattern(segs)
        if self.engine == "fast":
            return self.check()
        if rebuild or x == 0:
            self.engines = {}
            self._dirty_from = 0
        else:
            old_engines = self.engines
            self.engines = {}
            for key, eng in old_engines.items():
                eng.truncate(self.pat, x)
                self.engines[key] = eng
            self._dirty_from = min(self._dirty_from, x)
        return self.check()

    @without_gc
    def try_fill(self, hole_index: int, text, side: str = "left") -> Completability:
        segs, info = self._new_segs(hole_index, text, side)
        if segs is None:
            return Completability(False, "text longer than the hole's remaining bound")
        if self.engine == "fast":
            return _check_fast(self.g, Pattern(segs), self.budget)
        return _check(self.g, Pattern(segs), None, self.budget, self.seconds)
