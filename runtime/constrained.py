"""Grammar-constrained generation for autoregressive models: a ``LogitsProcessor`` and high-level helpers.

>>> import memgram                                                    # doctest: +SKIP
>>> model, tok = memgram.load_default_model()                         # doctest: +SKIP
>>> g = memgram.Grammar.builtin("json")                               # doctest: +SKIP
>>> proc = memgram.GrammarLogitsProcessor(g, tok, model=model)        # doctest: +SKIP
>>> out = model.generate(ids, logits_processor=[proc], max_new_tokens=64)   # doctest: +SKIP
>>> memgram.generate_json(model, tok, "A person named Ada, 36:", {"type": "object"})  # doctest: +SKIP

* ``GrammarLogitsProcessor(grammar_or_list, tokenizer, model=None)``: one grammar shared by all rows
  or one per row; greedy, sampling, batch > 1, finished rows (left alone once EOS was produced),
  repeated ``generate()`` calls (a new generation is detected when the input is not the previous
  input plus one token). EOS is allowed exactly when the row's output is a full word. The bitmask
  is expanded with torch bit operations on the scores' device (no Python loop over the vocabulary).
  If the token the model chose was refused (only possible when logits were edited after this
  processor), :class:`ConstraintViolation` is raised.
* ``generate_json`` → a parsed object validated with ``jsonschema``; ``generate_code`` → text the
  grammar accepts; ``infill`` → fill-in-the-middle / multi-region infilling.
"""
from __future__ import annotations

import json

import numpy as np
import torch

from ..grammar import HOLE, Grammar, Hole
from ..grammar.matcher import Matcher, compile_matcher
from .vocab import token_table

try:
    from transformers import LogitsProcessor
except Exception:  # pragma: no cover
    LogitsProcessor = object

__all__ = ["GrammarLogitsProcessor", "ConstraintViolation", "IncompleteOutputError", "generate_json",
           "generate_code", "infill", "bitmask_to_bool"]


class ConstraintViolation(RuntimeError):
    """The sequence contains a token the grammar refused (logits were changed after the mask)."""


class IncompleteOutputError(ValueError):
    """Generation stopped (``max_new_tokens``) before the output was a full word of the grammar."""

    def __init__(self, msg, text=None):
        super().__init__(msg)
        self.text = text


_SHIFTS = {}


def bitmask_to_bool(mask: torch.Tensor, width: int) -> torch.Tensor:
    """int32 [B, W] bitmask → bool [B, width] (bit i%32 of word i//32)."""
    key = mask.device
    sh = _SHIFTS.get(key)
    if sh is None:
        sh = _SHIFTS[key] = torch.arange(32, dtype=torch.int32, device=mask.device)
    bits = (mask.unsqueeze(-1) >> sh) & 1
    return bits.reshape(mask.shape[0], -1)[:, :width].bool()


def apply_bitmask_(scores: torch.Tensor, mask: np.ndarray, rows=None) -> torch.Tensor:
    """Set ``scores[r, i] = -inf`` where bit i of ``mask[r]`` is 0 (rows ``rows`` only, default all).

    On CPU the bits are expanded with ``np.unpackbits``; on an accelerator the int32 words are
    copied and expanded there with torch shifts (no Python loop over the vocabulary)."""
    width = scores.shape[-1]
    need = (width + 31) // 32
    if mask.shape[1] < need:
        mask = np.pad(mask, ((0, 0), (0, need - mask.shape[1])))
    if scores.device.type == "cpu":
        bits = np.unpackbits(np.ascontiguousarray(mask).view(np.uint8), axis=1, bitorder="little")[:, :width]
        refused = torch.from_numpy(bits == 0)
    else:
        refused = ~bitmask_to_bool(torch.from_numpy(mask).to(scores.device, non_blocking=True), width)
    if rows is None:
        scores.masked_fill_(refused, float("-inf"))
    else:
        idx = torch.as_tensor(rows, device=scores.device)
        sub = scores.index_select(0, idx)
        sub.masked_fill_(refused, float("-inf"))
        scores.index_copy_(0, idx, sub)
    return scores


class GrammarLogitsProcessor(LogitsProcessor):
    """Restrict ``model.generate()`` to a grammar (one shared, or a list with one per row).

    ``tokenizer``: a Hugging Face tokenizer (or a ``TokenTable``); ``model`` (optional) gives the
    EOS ids of its generation config and the logits width."""

    def __init__(self, grammar_or_list, tokenizer, model=None, *, eos_ids=None):
        self.table = token_table(tokenizer, model, eos_ids=eos_ids)
        self.grammars = grammar_or_list if isinstance(grammar_or_list, (list, tuple)) else None
        self.grammar = None if self.grammars is not None else grammar_or_list
        self._eos = set(self.table.eos_ids.tolist())
        if not self._eos:
            raise ValueError("no EOS id known: pass model= or eos_ids=")
        self.matchers: list[Matcher] | None = None
        self._prev = None
        self._done = None
        self.prompt_len = 0

    def _grammar_for(self, row, batch):
        if self.grammars is None:
            return self.grammar
        n = len(self.grammars)
        if batch % n:
            raise ValueError(f"{n} grammars for a batch of {batch} rows")
        return self.grammars[row // (batch // n)]   # generate() repeats each prompt consecutively

    def _start(self, input_ids):
        B, L = input_ids.shape
        self.matchers = [compile_matcher(self._grammar_for(r, B), self.table) for r in range(B)]
        self._done = [False] * B
        self.prompt_len = L

    def reset(self):
        self.matchers = None
        self._prev = None

    def outputs_accepting(self) -> list[bool]:
        """Per row: is the generated output so far a full word (or did the row end with EOS)?"""
        return [d or m.is_accepting() for d, m in zip(self._done, self.matchers)]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        B, L = input_ids.shape
        prev = self._prev
        new_gen = self.matchers is None or prev is None or L != prev.shape[1] + 1
        if not new_gen and (prev.shape[0] != B or not torch.equal(input_ids[:, :-1], prev)):
            # beam search reorders (and may duplicate) rows: follow each row to its parent row
            same = (input_ids[:, None, :-1] == prev[None]).all(-1)          # [B, B_prev]
            if bool(same.any(1).all()):
                parent = same.int().argmax(1).tolist()
                self.matchers = [self.matchers[p].copy() for p in parent]
                self._done = [self._done[p] for p in parent]
            else:
                new_gen = True
        if new_gen:
            self._start(input_ids)
        else:
            last = input_ids[:, -1].tolist()
            for r, t in enumerate(last):
                if self._done[r]:
                    continue
                if t in self._eos:
                    if not self.matchers[r].is_accepting():
                        raise ConstraintViolation(f"row {r}: EOS chosen before the output is complete")
                    self._done[r] = True
                    continue
                if not self.matchers[r].advance(t):
                    raise ConstraintViolation(
                        f"row {r}: token {t} ({self.table.token_bytes[t]!r}) was refused by the grammar; "
                        f"the logits were probably modified after GrammarLogitsProcessor (put it last)")
        self._prev = input_ids.clone()
        rows = [r for r in range(B) if not self._done[r]]
        if not rows:
            return scores
        mask = np.zeros((len(rows), self.table.n_words), np.int32)
        for k, r in enumerate(rows):
            self.matchers[r].mask(mask[k])
            if not mask[k].any():
                raise ConstraintViolation(f"row {r}: no token can continue the output (dead state)")
        return apply_bitmask_(scores, mask, None if len(rows) == B else rows)


# ----------------------------------------------------------------------------- high-level API
_GRAMMAR_CACHE: dict = {}


def _grammar(grammar) -> Grammar:
    if isinstance(grammar, Grammar):
        return grammar
    if isinstance(grammar, str):
        g = _GRAMMAR_CACHE.get(("builtin", grammar))
        if g is None:
            g = _GRAMMAR_CACHE[("builtin", grammar)] = Grammar.builtin(grammar)
        return g
    raise TypeError("grammar must be a Grammar or the name of a builtin grammar")


def schema_grammar(schema, whitespace: str = "flexible") -> Grammar:
    key = ("schema", json.dumps(schema, sort_keys=True), whitespace)
    g = _GRAMMAR_CACHE.get(key)
    if g is None:
        g = _GRAMMAR_CACHE[key] = Grammar.from_json_schema(schema, whitespace=whitespace)
    return g


def _prompt_ids(model, tok, prompt, chat, system=None):
    if chat is None:
        chat = bool(getattr(tok, "chat_template", None))
    if chat:
        msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        ids = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        ids = ids["input_ids"]
    else:
        ids = tok(prompt, return_tensors="pt").input_ids
    return ids.to(model.device)


def token_budget(grammar: Grammar, unbounded: int) -> int:
    """A ``max_new_tokens`` that any output completes within when the language is finite: its longest word in bytes
    (each token has at least one byte) plus one for EOS; ``unbounded`` when the language is infinite."""
    longest = grammar.max_length()
    return longest + 1 if longest is not None else unbounded


def _generate_constrained(model, tok, ids, grammar, gen_kwargs):
    proc = GrammarLogitsProcessor(grammar, tok, model=model)
    kw = dict(do_sample=False, **gen_kwargs)
    if "max_new_tokens" not in kw:
        kw["max_new_tokens"] = token_budget(grammar, 256)
    lps = list(kw.pop("logits_processor", []) or []) + [proc]
    pad = getattr(tok, "pad_token_id", None)
    if pad is None:
        pad = int(proc.table.eos_ids[0])
    with torch.no_grad():
        out = model.generate(ids, logits_processor=lps, pad_token_id=pad, **kw)
    new = out[0, ids.shape[1]:].tolist()
    eos = set(proc.table.eos_ids.tolist())
    ended = bool(new) and new[-1] in eos
    body = [t for t in new if t not in eos]
    data = b"".join(proc.table.token_bytes[t] for t in body)
    m = compile_matcher(grammar, proc.table)
    for t in body:
        if not m.advance(t):
            raise ConstraintViolation("generated token refused by the grammar")
    if not m.is_accepting():
        raise IncompleteOutputError(f"generation stopped after {len(new)} tokens before the output was complete "
                                    f"(raise max_new_tokens): {data[-80:]!r}", data)
    return data, ended


def generate_json(model, tok, prompt: str, schema, *, chat: bool | None = None, system: str | None = None,
                  whitespace: str = "flexible", **gen_kwargs):
    """Generate a JSON value that satisfies ``schema`` and return it parsed (validated with jsonschema).

    The chat template is applied when the tokenizer has one (``chat=False`` to use the raw prompt).
    ``gen_kwargs`` go to ``model.generate`` (default greedy; ``max_new_tokens``: the schema's longest document in
    bytes + 1 when it is bounded, e.g. ``whitespace="compact"`` with bounded arrays and strings, so the output
    always completes; else 256)."""
    g = schema_grammar(schema, whitespace)
    ids = _prompt_ids(model, tok, prompt, chat, system)
    data, _ = _generate_constrained(model, tok, ids, g, gen_kwargs)
    obj = json.loads(data.decode("utf-8"))
    try:
        import jsonschema
    except ImportError:  # pragma: no cover
        return obj
    jsonschema.validate(obj, schema)
    return obj


def generate_code(model, tok, prompt: str, grammar="cpp", *, chat: bool | None = False, **gen_kwargs) -> str:
    """Generate text the grammar accepts (default the builtin C++ grammar); ``prompt`` is used as is
    (``chat=True`` applies the chat template)."""
    g = _grammar(grammar)
    ids = _prompt_ids(model, tok, prompt, chat)
    data, _ = _generate_constrained(model, tok, ids, g, gen_kwargs)
    return data.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------- infilling
def _split_pieces(pieces):
    out = []
    for p in pieces:
        if p is HOLE or isinstance(p, Hole):
            out.append(p)
        elif isinstance(p, str):
            out.append(p.encode("utf-8"))
        elif isinstance(p, (bytes, bytearray)):
            out.append(bytes(p))
        else:
            raise TypeError(f"piece {p!r}: expected str, bytes, HOLE or Hole")
    return out


def infill(model, tok, pieces, grammar="cpp", *, max_new_tokens: int = 48, top_k: int = 8, prompt: str = "",
           check_budget: int | None = None, return_fills: bool = False):
    """Fill the holes of ``pieces`` (text and ``HOLE`` / ``Hole(max_bytes=N)`` items) left to right
    with the model (greedy); every accepted token keeps the *whole* partial program — later fixed
    text and holes included — completable, so the result is always in the grammar's language.

    A hole closes when the model's best admissible token begins the text that follows the hole
    (or EOS) and the closed program is still completable; after ``max_new_tokens`` tokens the hole
    closes as soon as closing is completable; if no admissible token is found (or after
    ``4 * max_new_tokens``) the grammar's shortest completion finishes the remaining holes (their
    fills are reported as None). ``prompt`` is prepended for the model only. ``check_budget``:
    parser items per completability check (a check that hits it counts as "no").
    Returns the filled text (and the list of fills with ``return_fills=True``)."""
    g = _grammar(grammar)
    table = token_table(tok, model)
    items = _split_pieces(pieces)
    if not g.completable(items, budget=check_budget).ok:
        raise ValueError("the pieces cannot be completed to a word of the grammar")
    eos = set(table.eos_ids.tolist())
    done = b""            # text fixed so far (pieces and fills left of the current hole)
    fills = []
    i = 0
    while i < len(items):
        p = items[i]
        if isinstance(p, bytes):
            done += p
            i += 1
            continue
        rest = items[i + 1:]
        follow = rest[0] if rest and isinstance(rest[0], bytes) else b""
        bound = None if p is HOLE else p.max_bytes
        fill = b""
        ids = tok((prompt + done.decode("utf-8", errors="replace")), return_tensors="pt").input_ids.to(model.device)
        # the prefix matcher prefilters tokens (prefix + token + HOLE completable), cheap
        pm = compile_matcher(g, table)
        if done and not pm.advance_bytes(done):
            pm = None
        past = None
        n_tok = 0
        while True:
            can_close = g.completable([done + fill] + rest, budget=check_budget).ok
            with torch.no_grad():
                if past is None:
                    out = model(input_ids=ids, use_cache=True)
                else:
                    out = model(input_ids=ids[:, -1:], use_cache=True, cache=past)
            past = out.past_key_values
            logits = out.logits[0, -1].float()
            if pm is not None:
                mk = pm.mask()
                allowed = bitmask_to_bool(torch.from_numpy(mk[None]).to(logits.device), logits.shape[-1])[0]
                allowed[[e for e in eos if e < logits.shape[-1]]] = True   # EOS = "close the hole"
                logits = logits.masked_fill(~allowed, float("-inf"))
            order = torch.argsort(logits, descending=True)[: top_k * 4].tolist()
            chosen = None
            for t in order:
                if not torch.isfinite(logits[t]):
                    break
                if t in eos:
                    if can_close:
                        break
                    continue
                tb = table.token_bytes[t]
                if not tb:
                    continue
                if can_close and follow and (follow.startswith(tb) or tb.startswith(follow)):
                    break           # the model wants to continue with the following text: close
                if bound is not None and len(fill) + len(tb) > bound:
                    continue
                if n_tok >= max_new_tokens and can_close:
                    break
                hole = HOLE if bound is None else Hole(bound - len(fill) - len(tb))
                if g.completable([done + fill + tb, hole] + rest, budget=check_budget).ok:
                    chosen = t
                    break
            if chosen is None and not can_close:
                # none of the best candidates keeps the program completable: try the others by score
                for t in torch.argsort(logits, descending=True)[top_k * 4: top_k * 4 + 256].tolist():
                    if not torch.isfinite(logits[t]):
                        break
                    tb = table.token_bytes[t]
                    if t in eos or not tb or (bound is not None and len(fill) + len(tb) > bound):
                        continue
                    hole = HOLE if bound is None else Hole(bound - len(fill) - len(tb))
                    if g.completable([done + fill + tb, hole] + rest, budget=check_budget).ok:
                        chosen = t
                        break
            if chosen is None and not can_close or (n_tok >= 4 * max_new_tokens and not can_close):
                # let the grammar finish (shortest completion of this and the later holes)
                hole = HOLE if bound is None else Hole(bound - len(fill))
                comp = g.complete([done + fill, hole] + rest)
                if comp is None:
                    raise RuntimeError("infill: no completion found")
                text = comp.decode("utf-8", errors="replace") if isinstance(comp, bytes) else comp
                fills.append(None)    # this and the later holes were completed by the grammar
                return (text, fills) if return_fills else text
            if chosen is None:
                break
            tb = table.token_bytes[chosen]
            fill += tb
            if pm is not None and not pm.advance(chosen):
                pm = None
            ids = torch.cat([ids, torch.tensor([[chosen]], device=ids.device)], 1)
            n_tok += 1
        fills.append(fill.decode("utf-8", errors="replace"))
        done += fill
        i += 1
    text = done.decode("utf-8", errors="replace")
    if not g.accepts(done):  # cannot happen: every step kept the program completable
        raise RuntimeError("infill produced a program outside the grammar")
    return (text, fills) if return_fills else text
