"""Structured extraction over long documents: a synthetic server log with incident records scattered through it, the
JSON Schema of the answer, precision/recall scoring, and :func:`extract` (block memory + grammar-constrained decoding
in one ``generate()`` call).

>>> text, gold = make_log(n_lines=40, n_incidents=2, seed=1)
>>> len(gold), all(f"INCIDENT" in text for _ in gold)
(2, True)
>>> score_extraction(gold, gold)["recall"]
1.0
"""
from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta

SEVERITIES = ("low", "medium", "high", "critical")
HOSTS = tuple([f"web-{i:02d}" for i in range(1, 13)] + [f"db-{i:02d}" for i in range(1, 5)]
              + [f"cache-{i:02d}" for i in range(1, 4)] + [f"batch-{i:02d}" for i in range(1, 4)])

INCIDENT_SCHEMA = {
    "type": "object",
    "properties": {
        "incidents": {
            "type": "array",
            "maxItems": 12,
            "items": {
                "type": "object",
                "properties": {
                    "date": {"type": "string", "pattern": "^20[0-9]{2}-[01][0-9]-[0-3][0-9]$"},
                    "host": {"type": "string", "pattern": "^[a-z]{1,9}-[0-9]{2}$"},
                    "severity": {"enum": list(SEVERITIES)},
                },
                "required": ["date", "host", "severity"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["incidents"],
    "additionalProperties": False,
}

INSTRUCTION = ("List every INCIDENT line of the log above as JSON: for each one its date (YYYY-MM-DD), its host and "
               "its severity.")

_COMPONENTS = ("nginx", "api", "auth", "scheduler", "postgres", "redis", "worker", "kubelet", "cron", "backup")
_ROUTINE = (
    "GET /api/v1/items/{n} 200 {ms}ms", "POST /api/v1/orders 201 {ms}ms", "GET /healthz 200 {ms}ms",
    "user {n} logged in from 10.0.{a}.{b}", "cache hit ratio {p}% over the last minute", "job {n} finished in {ms}ms",
    "checkpoint complete: wrote {n} buffers ({p}%)", "connection from 10.0.{a}.{b} accepted",
    "rotated log file, {n} bytes archived", "autovacuum of table orders_{a} done, {n} tuples removed",
    "session {n} expired after {ms} ms idle", "queue depth {a}, {b} consumers active",
)
_WARN = ("slow query took {ms}ms", "retrying request {n} (attempt {a})", "memory usage at {p}%",
         "certificate expires in {a} days")
_INCIDENT_MSG = ("disk /dev/sd{c} failed health check", "service unreachable for {a} minutes",
                 "replication lag exceeded {a} seconds", "out of memory: worker {n} killed",
                 "TLS handshake failures from {a} clients", "database connection pool exhausted")


def _fill(rng: random.Random, template: str) -> str:
    return template.format(n=rng.randint(1000, 99999), ms=rng.randint(1, 900), a=rng.randint(1, 60),
                           b=rng.randint(1, 254), p=rng.randint(10, 99), c="abcdef"[rng.randrange(6)])


def make_log(n_lines: int = 700, n_incidents: int = 6, seed: int = 0, start: str = "2024-03-01"):
    """A chronological server log of ``n_lines`` lines (about 28 tokens per line with the embedded tokenizer, so
    ~700 lines are ~20K tokens) with ``n_incidents`` INCIDENT lines at random places.
    Returns (text, incidents) where incidents are dicts {date, host, severity} in log order."""
    rng = random.Random(f"log-{seed}-{n_lines}-{n_incidents}")
    t = datetime.fromisoformat(start)
    span = timedelta(days=28)
    step = span / max(1, n_lines)
    where = sorted(rng.sample(range(n_lines), min(n_incidents, n_lines)))
    gold, lines = [], []
    for i in range(n_lines):
        t = t + step * rng.uniform(0.5, 1.5)
        ts = t.strftime("%Y-%m-%dT%H:%M:%SZ")
        host = rng.choice(HOSTS)
        if i in where:
            sev = rng.choice(SEVERITIES)
            lines.append(f"{ts} {host} INCIDENT date={t.strftime('%Y-%m-%d')} host={host} severity={sev}: "
                         f"{_fill(rng, rng.choice(_INCIDENT_MSG))}")
            gold.append({"date": t.strftime("%Y-%m-%d"), "host": host, "severity": sev})
        else:
            comp = rng.choice(_COMPONENTS)
            if rng.random() < 0.1:
                lines.append(f"{ts} {host} WARN {comp}: {_fill(rng, rng.choice(_WARN))}")
            else:
                lines.append(f"{ts} {host} INFO {comp}: {_fill(rng, rng.choice(_ROUTINE))}")
    return "\n".join(lines) + "\n", gold


def make_log_tokens(tok, n_tokens: int = 20000, n_incidents: int = 6, seed: int = 0):
    """:func:`make_log` sized to about ``n_tokens`` tokens of ``tok``."""
    probe, _ = make_log(200, 0, seed)
    per_line = len(tok(probe, add_special_tokens=False)["input_ids"]) / 200
    return make_log(max(n_incidents + 1, int(n_tokens / per_line)), n_incidents, seed)


def _key(rec) -> tuple:
    if not isinstance(rec, dict):
        return ("", "", "")
    return tuple(str(rec.get(k, "")).strip().lower() for k in ("date", "host", "severity"))


def score_extraction(predicted, gold) -> dict:
    """Precision / recall / F1 of extracted records against the gold ones; a record counts when date, host and
    severity all match (multiset matching: each gold record can be claimed once). ``predicted`` may be the list or
    the object {"incidents": [...]}."""
    if isinstance(predicted, dict):
        predicted = predicted.get("incidents", [])
    predicted = list(predicted or [])
    p, g = Counter(map(_key, predicted)), Counter(map(_key, gold))
    tp = sum((p & g).values())
    prec = tp / len(predicted) if predicted else (1.0 if not gold else 0.0)
    rec = tp / len(gold) if gold else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"tp": tp, "predicted": len(predicted), "gold": len(gold), "precision": prec, "recall": rec, "f1": f1}


def extraction_prompt(document: str, instruction: str = INSTRUCTION, schema: dict | None = None) -> str:
    fields = ""
    if schema is not None:
        fields = f" Answer with JSON only, following this JSON Schema: {json.dumps(schema, separators=(',', ':'))}"
    return f"{document}\n\n{instruction}{fields}"


def prompt_ids(tok, document: str, instruction: str = INSTRUCTION, schema: dict | None = None, chat: bool = True):
    """Token ids [1, n] of the extraction prompt (the chat template when ``chat`` and the tokenizer has one)."""
    text = extraction_prompt(document, instruction, schema)
    if chat and getattr(tok, "chat_template", None):
        ids = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)["input_ids"]
    else:
        ids = tok(text + "\nJSON: ", add_special_tokens=False, return_tensors="pt")["input_ids"]
    return ids


class ExtractionError(ValueError):
    """The constrained output did not complete within ``max_new_tokens`` (it is always a prefix of valid JSON)."""


def extract(model, tok, document: str, schema: dict, instruction: str = INSTRUCTION, mode: str = "block", config=None,
            max_new_tokens: int | None = None, chat: bool = True, show_schema: bool = True, whitespace: str = "compact",
            return_text: bool = False, stats: dict | None = None):
    """Extract a JSON value following ``schema`` from ``document`` (any length) in one ``generate()`` call: the
    document goes through block memory (``mode``: block, full or window; ``config`` a BlockMemoryConfig) and
    :class:`~memgram.runtime.constrained.GrammarLogitsProcessor` keeps every generated token inside the schema's
    language, so the output validates (``whitespace="compact"``: no optional whitespace, so the model cannot pad
    the output with newlines; EOS is the only choice after the last brace). ``show_schema`` puts the schema in the
    prompt as well. ``stats``: a dict that receives the cache's ``memory_stats()`` (bytes in memory units, ...).
    Returns the parsed value (and the raw text with ``return_text``); raises
    :class:`ExtractionError` if ``max_new_tokens`` ran out before the value was complete. By default
    ``max_new_tokens`` is the schema's longest document in bytes plus one (``Grammar.max_length``) when the schema
    is bounded (``maxItems``, ``maxLength``/``pattern``/``enum`` strings, compact whitespace): every token has at
    least one byte, so the output then always completes; for an unbounded schema it is 1024."""
    import torch

    from .cache import BlockMemoryCache
    from .constrained import GrammarLogitsProcessor, schema_grammar, token_budget
    from .eval_runner import _config_for

    cfg = _config_for(config, mode)
    ids = prompt_ids(tok, document, instruction, schema if show_schema else None, chat)
    grammar = schema_grammar(schema, whitespace)
    if max_new_tokens is None:
        max_new_tokens = token_budget(grammar, 1024)
    proc = GrammarLogitsProcessor(grammar, tok, model=model)
    cache = BlockMemoryCache(model, cfg)
    eos = set(proc.table.eos_ids.tolist())
    with torch.no_grad():
        out = model.generate(ids, cache=cache, max_new_tokens=max_new_tokens, do_sample=False,
                             attention_mask=torch.ones_like(ids), pad_token_id=int(proc.table.eos_ids[0]),
                             prefill_chunk_size=cfg.prefill_chunk, logits_processor=[proc])
    if stats is not None:
        stats.update(cache.memory_stats())
    body = [t for t in out[0, ids.shape[1]:].tolist() if t not in eos]
    text = b"".join(proc.table.token_bytes[t] for t in body).decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ExtractionError(f"output incomplete after {max_new_tokens} tokens (raise max_new_tokens): "
                              f"{text[-80:]!r}") from e
    try:
        import jsonschema

        jsonschema.validate(value, schema)
    except ImportError:  # pragma: no cover
        pass
    return (value, text) if return_text else value
