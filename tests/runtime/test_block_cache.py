"""Block memory inside transformers: equivalence, batching with padding, streaming, modes, errors."""
import numpy as np
import pytest
import torch
import transformers
from transformers import DynamicCache

import memgram
from memgram.memory.context import LayerContext
from memgram.memory.rope import RopeTable

SMALL = dict(n_init=4, n_local=64, block_size=8, topk=2, repr_topk=2, exec_chunk=16, prefill_chunk=24)


def tiny(family: str, seed: int = 0):
    torch.manual_seed(seed)
    common = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=97, max_position_embeddings=2048)
    if family == "qwen3":
        common["head_dim"] = 16
    cfg = getattr(transformers, {"llama": "LlamaConfig", "mistral": "MistralConfig", "qwen2": "Qwen2Config",
                                 "qwen3": "Qwen3Config"}[family])(**common)
    model_cls = getattr(transformers, {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                                       "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}[family])
    return model_cls(cfg).eval()


def greedy(model, ids, cache, n=16, **kw):
    with torch.no_grad():
        return model.generate(ids, cache=cache, max_new_tokens=n, do_sample=False, pad_token_id=0, **kw)


@pytest.mark.parametrize("family", ["llama", "mistral", "qwen2", "qwen3"])
def test_nothing_evicted_equals_full_attention(family):
    model = tiny(family)
    ids = torch.randint(1, 97, (1, 37))
    ref = greedy(model, ids, DynamicCache(config=model.config), n=20)
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
    out = greedy(model, ids, cache, n=20)
    assert torch.equal(ref, out)
    assert cache.get_seq_length() == ids.shape[1] + 20 - 1  # the last token is never fed back
    with torch.no_grad():
        a = model(ids).logits
        b = model(ids, cache=memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))).logits
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_full_mode_equals_full_attention_beyond_the_window():
    model = tiny("llama")
    ids = torch.randint(1, 97, (1, 200))
    ref = greedy(model, ids, DynamicCache(config=model.config))
    out = greedy(model, ids, memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**{**SMALL, "mode": "full"})))
    assert torch.equal(ref, out)


def test_model_falls_back_to_sdpa_without_block_cache():
    model = tiny("llama")
    ids = torch.randint(1, 97, (2, 30))
    mask = torch.ones_like(ids)
    mask[0, :5] = 0
    with torch.no_grad():
        before = model(ids, attention_mask=mask).logits
        memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))  # switches the attention implementation
        after = model(ids, attention_mask=mask).logits
    torch.testing.assert_close(before[1], after[1], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(before[0, 5:], after[0, 5:], rtol=1e-4, atol=1e-4)


def _contexts(cache, layer=0):
    return cache.layers[layer].rows


def test_units_and_sinks_are_formed_from_evicted_tokens():
    model = tiny("llama")
    cfg = memgram.BlockMemoryConfig(**SMALL)
    cache = memgram.BlockMemoryCache(model, cfg)
    n = 300
    ids = torch.randint(1, 97, (1, n))
    with torch.no_grad():
        model(ids, cache=cache)
    ctx = _contexts(cache)[0]
    # last chunk starts at the last multiple of exec_chunk below n; tokens before c0 - n_local left the window
    c0 = ((n - 1) // cfg.exec_chunk) * cfg.exec_chunk
    e = c0 - cfg.n_local
    assert ctx.n_sink == cfg.n_init
    assert ctx.units.n == (e - cfg.n_init) // cfg.block_size
    assert ctx.evicted_to == cfg.n_init + ctx.units.n * cfg.block_size
    assert cache.memory_stats()["n_units"] == 2 * ctx.units.n  # two layers


def test_window_mode_drops_and_keeps_no_units():
    model = tiny("llama")
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**{**SMALL, "mode": "window"}))
    with torch.no_grad():
        model(torch.randint(1, 97, (1, 300)), cache=cache)
    ctx = _contexts(cache)[0]
    assert ctx.units is None and ctx.n_sink == 4 and ctx.dropped > 0
    assert cache.memory_stats()["units"] == 0


def _naive_layer_attention(q, k, v, cfg, rope, scale):
    """Independent re-statement of the semantics for mode='window' and for block mode when every unit is retrieved."""
    H, L, D = q.shape
    h = k.shape[0]
    out = torch.zeros(H, L, D)
    for c0 in range(0, L, cfg.exec_chunk):
        c1 = min(L, c0 + cfg.exec_chunk)
        e = max(0, c0 - cfg.n_local)
        n_units = max(0, (e - cfg.n_init) // cfg.block_size)
        # block mode: tokens past the window that do not fill a unit yet (the remainder) stay local
        lo = cfg.n_init + n_units * cfg.block_size if cfg.mode == "block" and e > cfg.n_init else e
        for i in range(c0, c1):
            keys, vals, rel_q = [], [], []
            # local: [lo, i], at true distances
            for j in range(lo, i + 1):
                keys.append(rope.rotate(k[:, j : j + 1], torch.tensor([j]))[:, 0])
                vals.append(v[:, j])
            qi_loc = rope.rotate(q[:, i : i + 1], torch.tensor([i]))[:, 0]
            glob = list(range(min(e, cfg.n_init)))
            if cfg.mode == "block":
                glob += list(range(cfg.n_init, cfg.n_init + n_units * cfg.block_size))
            if cfg.memory_positions == "fixed":  # every sink and unit key at distance n_local from the query
                qi_glob = rope.rotate(q[:, i : i + 1], torch.tensor([cfg.n_local]))[:, 0]
                gk = [rope.rotate(k[:, j : j + 1], torch.tensor([0]))[:, 0] for j in glob]
            elif cfg.memory_positions == "true":  # true positions, none farther back than max_distance before c0
                qi_glob = qi_loc
                gk = [rope.rotate(k[:, j : j + 1], torch.tensor([max(j, c0 - cfg.max_distance)]))[:, 0] for j in glob]
            elif cfg.memory_positions == "unit":  # each unit (and the sink block) in its own order, last at n_local
                S, B = min(e, cfg.n_init), cfg.block_size
                Lu = max(S, B)
                qi_glob = rope.rotate(q[:, i : i + 1], torch.tensor([cfg.n_local + Lu - 1]))[:, 0]
                gk = [rope.rotate(k[:, j : j + 1], torch.tensor([Lu - S + j if j < S else Lu - B + (j - cfg.n_init) % B]))[:, 0]
                      for j in glob]
            else:  # "ordered": the global keys in order, contiguous, just before the local segment's start ``lo``
                qi_glob = qi_loc
                gk = [rope.rotate(k[:, j : j + 1], torch.tensor([lo - len(glob) + t]))[:, 0] for t, j in enumerate(glob)]
            for hq in range(H):
                g = hq // (H // h)
                s = [float(qi_glob[hq] @ kk[g]) * scale for kk in gk] + [float(qi_loc[hq] @ kk[g]) * scale for kk in keys]
                p = torch.softmax(torch.tensor(s), 0)
                vv = torch.stack([v[g, j] for j in glob] + [vv[g] for vv in vals])
                out[hq, i] = p @ vv
    return out


@pytest.mark.parametrize("positions", ["fixed", "ordered", "true", "unit"])
@pytest.mark.parametrize("mode", ["window", "block"])
def test_layer_context_matches_naive_semantics(mode, positions):
    torch.manual_seed(0)
    model = tiny("llama")
    rope = RopeTable(model.model.rotary_emb, 16, "cpu")
    cfg = memgram.BlockMemoryConfig(n_init=3, n_local=20, block_size=4, topk=50, repr_topk=2, exec_chunk=8,
                                    mode=mode, max_cached_blocks=64, memory_positions=positions,
                                    max_distance=30 if positions == "true" else None).validate()
    H, h, D, L = 4, 2, 16, 70
    q, k, v = torch.randn(H, L, D), torch.randn(h, L, D), torch.randn(h, L, D)
    ctx = LayerContext(cfg, H, h, D, torch.float32, "cpu", rope)
    outs = []
    for a in range(0, L, 24):  # three forwards of different sizes
        b = min(L, a + 24)
        ctx.append(k[:, a:b], v[:, a:b])
        outs.append(ctx.attend(q[:, a:b], D ** -0.5, a))
    got = torch.cat(outs, 1)
    want = _naive_layer_attention(q, k, v, cfg, rope, D ** -0.5)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_batch_with_left_padding_equals_one_by_one():
    model = tiny("llama", seed=3)
    a = torch.randint(1, 97, (1, 150))
    b = torch.randint(1, 97, (1, 110))
    full_length = dict(min_new_tokens=16)  # no early EOS: rows are compared token for token over 16 tokens
    singles = [greedy(model, x, memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL)),
                      **full_length)[0, x.shape[1]:] for x in (a, b)]
    pad = a.shape[1] - b.shape[1]
    ids = torch.cat([a, torch.cat([torch.zeros(1, pad, dtype=torch.long), b], 1)])
    mask = torch.ones_like(ids)
    mask[1, :pad] = 0
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
    out = greedy(model, ids, cache, attention_mask=mask, **full_length)
    assert torch.equal(out[0, ids.shape[1]:], singles[0])
    assert torch.equal(out[1, ids.shape[1]:], singles[1])
    # padding never entered the memory: row 1 holds exactly its real tokens, its sinks are its first real tokens
    r0, r1 = _contexts(cache)
    assert r1.n == b.shape[1] + 16 - 1 and r0.n == a.shape[1] + 16 - 1
    single = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
    with torch.no_grad():
        model(b, cache=single)
    torch.testing.assert_close(r1.sink_k, _contexts(single)[0].sink_k, rtol=1e-5, atol=1e-5)


def test_streaming_appends_without_recomputing():
    model = tiny("llama", seed=4)
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
    doc = torch.randint(1, 97, (1, 120))
    out1 = greedy(model, doc, cache, n=5)
    fed = cache.get_seq_length()
    more = torch.randint(1, 97, (1, 40))
    ids2 = torch.cat([out1, more], 1)
    out2 = greedy(model, ids2, cache, n=5)
    # the second call fed only the new tokens (the last answer token + 40) and the 4 new decode steps
    assert cache.get_seq_length() == fed + 1 + 40 + 4
    assert torch.equal(out2[:, : ids2.shape[1]], ids2)
    assert _contexts(cache)[0].n == cache.get_seq_length()


def test_sampling_and_logits_processor_work():
    from transformers import LogitsProcessor, LogitsProcessorList

    class OnlyEven(LogitsProcessor):
        def __call__(self, input_ids, scores):
            scores[:, 1::2] = -float("inf")
            return scores

    model = tiny("llama")
    ids = torch.randint(1, 97, (1, 100))
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
    torch.manual_seed(0)
    with torch.no_grad():
        out = model.generate(ids, cache=cache, max_new_tokens=12, do_sample=True, top_k=20,
                             logits_processor=LogitsProcessorList([OnlyEven()]), pad_token_id=0)
    assert all(t % 2 == 0 for t in out[0, 100:].tolist())


def test_unsupported_models_raise():
    cfg = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=50)
    with pytest.raises(memgram.UnsupportedModelError, match="gpt2.*llama"):
        memgram.BlockMemoryCache(transformers.GPT2LMHeadModel(cfg), memgram.BlockMemoryConfig(**SMALL))


def test_a_forward_that_would_ignore_the_cache_is_refused():
    """transformers < 5.24 names the keyword ``past_key_values`` and would swallow ``cache=`` into **kwargs, running
    without memory (seen with 5.17 on a GPU machine): refused with the version to install."""
    model = tiny("llama")

    def old_forward(input_ids=None, past_key_values=None, **kwargs):  # the pre-5.24 signature
        raise AssertionError("not called")

    model.forward = old_forward
    with pytest.raises(memgram.UnsupportedModelError, match=r"past_key_values.*transformers >= 5\.24"):
        memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))


def test_beam_search_is_refused_clearly():
    model = tiny("llama")
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
    with pytest.raises(Exception, match="beam|expanded|num_return_sequences"):
        with torch.no_grad():
            model.generate(torch.randint(1, 97, (1, 20)), cache=cache, max_new_tokens=3, num_beams=2, pad_token_id=0)


def test_text_streamer_receives_the_generated_tokens():
    from transformers import TextStreamer

    class Tok:  # the minimal tokenizer surface TextStreamer uses
        def decode(self, ids, **kw):
            return "".join(f"<{i}>" for i in ids)

    got = []

    class Capture(TextStreamer):
        def on_finalized_text(self, text, stream_end=False):
            got.append(text)

    model = tiny("llama")
    ids = torch.randint(1, 97, (1, 90))
    out = greedy(model, ids, memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL)), n=6,
                 streamer=Capture(Tok(), skip_prompt=True))
    assert "".join(got) == "".join(f"<{i}>" for i in out[0, 90:].tolist())


@pytest.mark.parametrize("family", ["llama", "qwen3"])
def test_ordered_positions_with_every_unit_retrieved_equal_full_attention(family):
    """memory_positions="ordered" lays sinks and the retrieved units out in order just before the window; when every
    unit is retrieved and no evicted token waits for its unit to fill up, that is the whole prefix at its true
    positions: the logits equal full attention's. With InfLLM's "fixed" positions they do not."""
    model = tiny(family)
    ids = torch.randint(1, 97, (1, 200))
    base = dict(n_init=8, n_local=64, block_size=8, topk=64, max_cached_blocks=64, repr_topk=2, exec_chunk=16)
    with torch.no_grad():
        ref = model(ids).logits
        ordered_cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**base, memory_positions="ordered"))
        ordered = model(ids, cache=ordered_cache).logits
        fixed_cfg = memgram.BlockMemoryConfig(**base, memory_positions="fixed")
        fixed = model(ids, cache=memgram.BlockMemoryCache(model, fixed_cfg)).logits
    ctx = _contexts(ordered_cache)[0]
    assert ctx.units.n >= 10                                   # most of the prompt lives in units
    torch.testing.assert_close(ordered, ref, rtol=1e-4, atol=1e-4)
    err = lambda x: (x[0, 100:] - ref[0, 100:]).abs().max().item()  # noqa: E731
    assert err(fixed) > 20 * err(ordered)                      # random tiny models attend almost uniformly


def test_true_positions_with_every_unit_retrieved_equal_full_attention_within_the_cap():
    """memory_positions="true" keeps every memory key at its true distance up to max_distance: with every unit
    retrieved and the cap beyond the prompt that is full attention, remainder or not; a small cap moves the far keys
    (the logits change), and the default cap comes from the model's trained length."""
    model = tiny("llama")
    ids = torch.randint(1, 97, (1, 203))
    base = dict(n_init=8, n_local=64, block_size=8, topk=64, max_cached_blocks=64, repr_topk=2, exec_chunk=16,
                memory_positions="true")
    with torch.no_grad():
        ref = model(ids).logits
        true_cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**base))
        got = model(ids, cache=true_cache).logits
        capped = model(ids, cache=memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**base, max_distance=80)))
    assert _contexts(true_cache)[0].units.n >= 10
    assert true_cache.config.max_distance == model.config.max_position_embeddings - 16
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4)
    err = (capped.logits[0, 150:] - ref[0, 150:]).abs().max().item()
    assert err > 1e-3
    with pytest.raises(ValueError, match="max_distance"):
        memgram.BlockMemoryConfig(max_distance=0).validate()


def test_ordered_positions_retrieve_in_original_order():
    model = tiny("llama")
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**{**SMALL, "memory_positions": "ordered"}))
    with torch.no_grad():
        model(torch.randint(1, 97, (1, 300)), cache=cache)
    idx = _contexts(cache)[0].last_retrieved.tolist()
    assert len(idx) == SMALL["topk"] and idx == sorted(idx)
    with pytest.raises(ValueError, match="memory_positions"):
        memgram.BlockMemoryConfig(memory_positions="shuffled").validate()


def test_tail_lookup_makes_the_last_prompt_position_retrieve_like_a_decoding_step():
    """With tail_lookup the last query of a forward call is its own chunk: the prompt's last logits equal feeding
    the prompt minus one token and then that token alone (without tail_lookup), and differ from InfLLM's chunking."""
    model = tiny("llama", seed=5)
    ids = torch.randint(1, 97, (1, 203))
    cfg = dict(SMALL, prefill_chunk=None)
    with torch.no_grad():
        tail = model(ids, cache=memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**cfg, tail_lookup=True)))
        plain = model(ids, cache=memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**cfg)))
        two = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**cfg))
        model(ids[:, :-1], cache=two)
        last = model(ids[:, -1:], cache=two)
    torch.testing.assert_close(tail.logits[:, -1], last.logits[:, -1], rtol=1e-5, atol=1e-5)
    c = (ids.shape[1] - 1) // SMALL["exec_chunk"] * SMALL["exec_chunk"]   # earlier chunks are untouched
    torch.testing.assert_close(tail.logits[:, :c], plain.logits[:, :c], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(tail.logits[:, -1], plain.logits[:, -1], rtol=1e-4, atol=1e-4)


def test_cos_sin_follow_position_values():
    """A new forward's position tensor may reuse a freed one's address, shape and version counter: the cached angles
    must follow the values (a numpy-backed tensor refilled in place reproduces that reuse deterministically)."""
    model = tiny("llama")
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
    like = torch.zeros(1, 4, 3, 16)
    buf = np.arange(0, 3, dtype=np.int64).reshape(1, 3)
    pos = torch.from_numpy(buf)
    cos0, _ = cache._cos_sin(pos, like)
    cos0 = cos0.clone()
    buf[:] = np.arange(100, 103).reshape(1, 3)  # same address, shape and torch version counter
    cos1, sin1 = cache._cos_sin(pos, like)
    ref_cos, ref_sin = model.model.rotary_emb(like, torch.arange(100, 103).view(1, 3))
    torch.testing.assert_close(cos1, ref_cos)
    torch.testing.assert_close(sin1, ref_sin)
    assert not torch.allclose(cos0, cos1)
    # the same values in a different tensor reuse the computed angles (one computation per forward, not per layer)
    again, _ = cache._cos_sin(torch.arange(100, 103).view(1, 3), like)
    assert again is cos1


def test_plain_forward_with_reused_position_buffer_matches_fresh_positions():
    """Chunked plain model() calls whose position ids share one buffer (as a freed and reallocated tensor can) give the
    same logits as calls with fresh position tensors."""
    model = tiny("llama")
    ids = torch.randint(1, 97, (1, 200))
    outs = []
    for shared in (False, True):
        cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
        buf = np.zeros((1, 40), dtype=np.int64)
        logits = []
        with torch.no_grad():
            for s in range(0, 200, 40):
                if shared:
                    buf[0] = np.arange(s, s + 40)
                    pos = torch.from_numpy(buf)
                else:
                    pos = torch.arange(s, s + 40).view(1, 40)
                logits.append(model(ids[:, s:s + 40], cache=cache, position_ids=pos).logits)
        outs.append(torch.cat(logits, 1))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def test_finished_cache_is_freed_without_the_cyclic_collector():
    """A used cache (its units and windows, GBs on long prompts) is freed as soon as the last reference goes: no
    reference cycle between the cache and its layers, so a long-running process does not pile up finished caches
    until the cyclic garbage collector happens to run."""
    import gc
    import weakref

    model = tiny("llama")
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
    gc.collect()
    gc.disable()
    try:
        greedy(model, torch.randint(1, 97, (1, 200)), cache)
        ctx = _contexts(cache)[0]
        assert ctx.units.n > 0
        refs = [weakref.ref(x) for x in (cache, cache.layers[0], ctx, ctx.units)]
        del cache, ctx
        assert [r() for r in refs] == [None] * len(refs)
    finally:
        gc.enable()


def test_deep_copied_cache_continues_on_its_own():
    """copy.deepcopy of a used cache (e.g. to branch a conversation) gives an independent cache whose layers belong to
    the copy: it continues exactly as the original would, also after the original is gone."""
    import copy

    model = tiny("llama")
    ids = torch.randint(1, 97, (1, 150))
    more = torch.randint(1, 97, (1, 30))
    cache = memgram.BlockMemoryCache(model, memgram.BlockMemoryConfig(**SMALL))
    with torch.no_grad():
        model(ids, cache=cache)
    twin = copy.deepcopy(cache)
    assert all(layer.cache is twin for layer in twin.layers)
    with torch.no_grad():
        want = model(torch.cat([ids, more], 1)[:, 150:], cache=cache,
                     position_ids=torch.arange(150, 180).unsqueeze(0)).logits
        del cache
        got = model(more, cache=twin, position_ids=torch.arange(150, 180).unsqueeze(0)).logits
    torch.testing.assert_close(got, want)
