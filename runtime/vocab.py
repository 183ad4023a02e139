"""Build a :class:`memgram.grammar.vocab.TokenTable` from a Hugging Face tokenizer.

Handles byte-level BPE (GPT-2 byte alphabet: ``Ġ`` = space …), SentencePiece pieces (``▁`` = space,
byte fallback ``<0xNN>``), added tokens (special ones never produced by a grammar; normal ones by
their text) and a logits width larger than the vocabulary (from the model config). EOS ids come
from the generation config (several allowed), else the tokenizer.

>>> from memgram.runtime.vocab import table_from_pieces
>>> t = table_from_pieces(["<unk>", "▁a", "<0x41>", "b"], style="sentencepiece", special_ids=[0])
>>> t.token_bytes[1:], bool(t.special[0])
([b' a', b'A', b'b'], True)
"""
from __future__ import annotations

import re

from ..grammar.vocab import TokenTable

__all__ = ["token_table", "table_from_pieces", "bytes_to_unicode"]

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def bytes_to_unicode() -> dict[int, str]:
    """The GPT-2 byte → printable character map (printable Latin-1 bytes map to themselves, the
    rest to code points from 256 upward, in byte order)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    out = {}
    extra = 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return out


_BYTE_DECODER = {c: b for b, c in bytes_to_unicode().items()}


def _bytelevel(piece: str) -> bytes | None:
    try:
        return bytes(_BYTE_DECODER[c] for c in piece)
    except KeyError:
        return None


def _sentencepiece(piece: str) -> bytes:
    m = _BYTE_PIECE.match(piece)
    if m:
        return bytes([int(m.group(1), 16)])
    return piece.replace("\u2581", " ").encode("utf-8")


def table_from_pieces(pieces, style: str, special_ids=(), added: dict | None = None, eos_ids=(),
                      logits_width: int | None = None) -> TokenTable:
    """Token table from the vocabulary's piece strings (index = id).

    ``style``: "bytelevel" or "sentencepiece"; ``added``: id → text of non-special added tokens
    (their bytes are the UTF-8 text, not decoded pieces); ``special_ids`` never produced."""
    added = added or {}
    special = set(int(i) for i in special_ids)
    out, flags = [], []
    for i, p in enumerate(pieces):
        if i in special or p is None:
            out.append(b"")
            flags.append(True)
            continue
        if i in added:
            out.append(added[i].encode("utf-8"))
        elif style == "bytelevel":
            b = _bytelevel(p)
            out.append(b if b is not None else p.encode("utf-8"))
        elif style == "sentencepiece":
            out.append(_sentencepiece(p))
        else:
            raise ValueError("style must be 'bytelevel' or 'sentencepiece'")
        flags.append(False)
    return TokenTable(out, special=flags, eos_ids=eos_ids, logits_width=logits_width)


def _style(tok) -> str:
    bt = getattr(tok, "backend_tokenizer", None)
    if bt is not None:
        desc = f"{bt.decoder} {bt.pre_tokenizer} {bt.model.__class__.__name__}"
        if "ByteLevel" in desc:
            return "bytelevel"
        if "ByteFallback" in desc or "Metaspace" in desc or "Unigram" in desc or "\u2581" in desc:
            return "sentencepiece"
    vocab = tok.get_vocab()
    n_g = sum(1 for p in vocab if p.startswith("\u0120"))
    n_s = sum(1 for p in vocab if p.startswith("\u2581"))
    return "bytelevel" if n_g >= n_s else "sentencepiece"


def _eos_ids(tok, model=None) -> list[int]:
    ids = []
    gc = getattr(model, "generation_config", None) if model is not None else None
    e = getattr(gc, "eos_token_id", None) if gc is not None else None
    if e is None and model is not None:
        e = getattr(model.config, "eos_token_id", None)
    if e is not None:
        ids.extend([e] if isinstance(e, int) else list(e))
    if tok.eos_token_id is not None:
        ids.append(int(tok.eos_token_id))
    return sorted(set(int(i) for i in ids))


def token_table(tok, model=None, *, logits_width: int | None = None, eos_ids=None) -> TokenTable:
    """The token table of a Hugging Face tokenizer (cached on the tokenizer object).

    ``model`` (optional) supplies the EOS ids of its generation config and the logits width
    (``config.vocab_size``, which may exceed ``len(tok)``)."""
    if isinstance(tok, TokenTable):
        return tok
    if logits_width is None and model is not None:
        logits_width = int(getattr(model.config, "vocab_size", 0) or 0) or None
    eos = list(eos_ids) if eos_ids is not None else _eos_ids(tok, model)
    n = len(tok)
    width = max(n, logits_width or 0)
    ck = (width, tuple(eos))
    cache = getattr(tok, "_memgram_tables", None)
    if cache is None:
        cache = {}
        try:
            tok._memgram_tables = cache
        except Exception:
            pass
    if ck in cache:
        return cache[ck]
    pieces = tok.convert_ids_to_tokens(list(range(n)))
    special, added = set(tok.all_special_ids), {}
    for i, at in getattr(tok, "added_tokens_decoder", {}).items():
        if getattr(at, "special", False):
            special.add(int(i))
        else:
            added[int(i)] = at.content
    table = table_from_pieces(pieces, _style(tok), special_ids=special, added=added, eos_ids=eos,
                              logits_width=width)
    cache[ck] = table
    return table
