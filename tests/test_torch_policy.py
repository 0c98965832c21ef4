"""CausalLMPolicy on tiny random GPT-2 / Llama models built from configs (offline, float64).

Identities are checked in float64, where the only differences between the
batched/cached paths and the by-hand computation are rounding of a few
hundred multiply-adds: tolerance 1e-9 (the quantities are of order 10-100).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from sharpsim.torch import CausalLMPolicy, tiny_causal_lm  # noqa: E402
from sharpsim.torch.tiny import byte_tokenizer  # noqa: E402

ATOL = 1e-9
PROMPTS = ["1+1=", "The capital of France is", "x"]


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def lm(request):
    return tiny_causal_lm(request.param, seed=3)


def by_hand(lm, prompt_ids, response_ids):
    """Sum of per-token log-softmax terms, one unpadded forward pass, explicit loop."""
    ids = torch.tensor([prompt_ids + response_ids])
    with torch.no_grad():
        logits = lm.model(input_ids=ids).logits[0]
    total = 0.0
    for j, tok in enumerate(response_ids):
        row = logits[len(prompt_ids) + j - 1]
        total += float(row[tok] - torch.logsumexp(row, dim=0))
    return total


def test_log_prob_equals_per_token_log_softmax(lm):
    rng = np.random.default_rng(0)
    responses = [rng.integers(0, 256, size=m).tolist() for m in (5, 1, 9)]
    got = lm.log_prob(PROMPTS, responses)
    want = [by_hand(lm, lm.encode_prompt(p), r) for p, r in zip(PROMPTS, responses)]
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
    assert got.shape == (3,) and got.dtype == np.float64


def test_log_prob_of_strings_matches_ids_and_empty_response_is_zero(lm):
    ids = [lm.encode_response(" Paris"), []]
    np.testing.assert_allclose(
        lm.log_prob(PROMPTS[1:], [" Paris", ""]), lm.log_prob(PROMPTS[1:], ids), atol=ATOL
    )
    assert lm.log_prob(["ab"], [[]])[0] == 0.0


def test_batching_does_not_change_scores(lm):
    rng = np.random.default_rng(1)
    responses = [rng.integers(0, 256, size=m).tolist() for m in (7, 2, 4)]
    batched = lm.log_prob(PROMPTS, responses)
    one = np.array([lm.log_prob([p], [r])[0] for p, r in zip(PROMPTS, responses)])
    np.testing.assert_allclose(batched, one, rtol=0, atol=ATOL)


@pytest.mark.parametrize("temperature", [1.0, 0.6, 1.7])
def test_sample_log_probs_equal_log_prob(lm, temperature):
    s = lm.sample(PROMPTS, 4, max_new_tokens=8, temperature=temperature, rng=5)
    assert (
        s.log_probs.shape == (3, 4) and len(s.texts) == 3 and all(len(t) == 4 for t in s.token_ids)
    )
    flat_prompts = [p for p in PROMPTS for _ in range(4)]
    flat_ids = [r for group in s.token_ids for r in group]
    np.testing.assert_allclose(
        lm.log_prob(flat_prompts, flat_ids), s.log_probs.ravel(), rtol=0, atol=ATOL
    )
    for group, texts in zip(s.token_ids, s.texts):
        assert texts == [lm.decode(r) for r in group]
        assert all(1 <= len(r) <= 8 for r in group)


def test_sample_same_rng_same_samples_and_different_seed_differs(lm):
    a = lm.sample(PROMPTS, 3, max_new_tokens=6, rng=11)
    b = lm.sample(PROMPTS, 3, max_new_tokens=6, rng=np.random.default_rng(11))
    c = lm.sample(PROMPTS, 3, max_new_tokens=6, rng=12)
    assert a.token_ids == b.token_ids and np.array_equal(a.log_probs, b.log_probs)
    assert (
        a.token_ids != c.token_ids
    )  # 257-token random model: a collision of all 9x6 tokens is impossible in practice


def test_eos_ends_a_response_and_is_scored():
    """A model forced to emit EOS as 3rd token: every response is 2 tokens + EOS, finished."""
    lm = tiny_causal_lm("gpt2", seed=0)
    eos = lm.eos_token_ids[0]

    class ForceEos(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask=None):
            logits = self.inner(input_ids=input_ids, attention_mask=attention_mask).logits.clone()
            # Real tokens up to each position: with the 2-token prompts, position 4 predicts the 3rd response token.
            n_upto = attention_mask.cumsum(-1)
            logits[..., eos] = torch.where(n_upto == 4, 50.0, -1e4).to(logits.dtype)
            return logits

    wrapped = CausalLMPolicy(ForceEos(lm.model), lm.tokenizer)
    s = wrapped.sample(["ab", "cd"], 3, max_new_tokens=10, rng=0)
    for group in s.token_ids:
        for r in group:
            assert len(r) == 3 and r[-1] == eos and eos not in r[:-1]
    assert s.finished.all()
    flat = [r for g in s.token_ids for r in g]
    np.testing.assert_allclose(
        wrapped.log_prob(["ab"] * 3 + ["cd"] * 3, flat), s.log_probs.ravel(), atol=ATOL
    )


def test_max_new_tokens_truncates_unfinished():
    lm = tiny_causal_lm("llama", seed=2)
    s = lm.sample(["q"], 5, max_new_tokens=3, rng=1)
    assert all(len(r) == 3 for r in s.token_ids[0])
    assert not s.finished[0][[lm.eos_token_ids[0] not in r for r in s.token_ids[0]]].any()


def test_greedy_matches_argmax_by_hand(lm):
    d = lm.decode_greedy(PROMPTS[:2], max_new_tokens=5)
    for p, r in zip(PROMPTS[:2], d.token_ids):
        ids = lm.encode_prompt(p)
        for tok in r:
            with torch.no_grad():
                logits = lm.model(input_ids=torch.tensor([ids])).logits[0, -1]
            assert tok == int(logits.argmax())
            ids = ids + [tok]
    np.testing.assert_allclose(d.log_probs, lm.log_prob(PROMPTS[:2], d.token_ids), atol=ATOL)


def test_beam_search_scores_at_least_greedy(lm):
    greedy = lm.decode_greedy(PROMPTS, max_new_tokens=4)
    beam = lm.decode_greedy(PROMPTS, max_new_tokens=4, num_beams=4)
    # Both run to 4 tokens (no EOS reached); beam search keeps the greedy path among its beams.
    lengths_equal = [len(a) == len(b) == 4 for a, b in zip(greedy.token_ids, beam.token_ids)]
    assert all(lengths_equal)
    assert np.all(beam.log_probs >= greedy.log_probs - ATOL)


def test_chat_template_is_applied():
    lm = tiny_causal_lm(
        "gpt2", chat_template="{% for m in messages %}<{{ m['content'] }}>{% endfor %}"
    )
    assert lm.decode(lm.encode_prompt("hi")) == "<hi>"
    raw = CausalLMPolicy(lm.model, lm.tokenizer, chat_template=False)
    assert raw.decode(raw.encode_prompt("hi")) == "hi"


# ------------------------------------------------------------------ bad input


def test_empty_prompts(lm):
    with pytest.raises(ValueError, match="prompts must be a non-empty list"):
        lm.log_prob([], [])
    with pytest.raises(ValueError, match="prompts must be a non-empty list"):
        lm.sample([], 1, max_new_tokens=2)
    with pytest.raises(ValueError, match=r"prompts\[0\] encodes to no tokens"):
        lm.sample([""], 1, max_new_tokens=2)
    with pytest.raises(TypeError, match="prompts must be a list"):
        lm.sample("abc", 1, max_new_tokens=2)


def test_bad_n_and_lengths(lm):
    with pytest.raises(ValueError, match="n must be >= 1; got 0"):
        lm.sample(PROMPTS, 0, max_new_tokens=2)
    with pytest.raises(ValueError, match="max_new_tokens must be >= 1"):
        lm.sample(PROMPTS, 1, max_new_tokens=0)
    with pytest.raises(ValueError, match="temperature must be in"):
        lm.sample(PROMPTS, 1, max_new_tokens=2, temperature=0.0)
    with pytest.raises(ValueError, match="one entry per prompt"):
        lm.log_prob(PROMPTS, ["a"])
    with pytest.raises(ValueError, match="response token ids must be in"):
        lm.log_prob(["a"], [[999]])


def test_tokenizer_model_mismatch():
    from transformers import AutoModelForCausalLM, GPT2Config

    small = AutoModelForCausalLM.from_config(
        GPT2Config(vocab_size=100, n_embd=8, n_layer=1, n_head=2)
    )
    with pytest.raises(
        ValueError, match="tokenizer does not match the model: the tokenizer has 257 tokens"
    ):
        CausalLMPolicy(small, byte_tokenizer())

    class Logits(torch.nn.Module):  # a plain module without an embedding to inspect
        def forward(self, input_ids, attention_mask=None):
            return torch.zeros(input_ids.shape + (50,))

    with pytest.raises(
        ValueError, match="the model returns 50 logits per position but the tokenizer has 257"
    ):
        CausalLMPolicy(Logits(), byte_tokenizer()).log_prob(["a"], ["b"])


def test_missing_folder(tmp_path):
    with pytest.raises(
        ValueError, match="path must be an existing local model folder.*does not exist"
    ):
        CausalLMPolicy.from_pretrained(tmp_path / "nope")


def test_bad_model_and_tokenizer_types():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        CausalLMPolicy("gpt2", byte_tokenizer())
    with pytest.raises(TypeError, match="tokenizer must have an encode"):
        CausalLMPolicy(torch.nn.Linear(2, 2), object())


def test_from_pretrained_round_trip(tmp_path):
    lm = tiny_causal_lm("llama", seed=4)
    lm.model.save_pretrained(tmp_path)
    lm.tokenizer.save_pretrained(tmp_path)
    loaded = CausalLMPolicy.from_pretrained(tmp_path, dtype=torch.float64)
    np.testing.assert_allclose(
        loaded.log_prob(["ab"], ["cd"]), lm.log_prob(["ab"], ["cd"]), atol=ATOL
    )


def test_device_and_dtype_are_checked_before_loading(monkeypatch):
    import importlib

    from sharpsim.torch.policy import check_device, check_dtype

    smollm2_module = importlib.import_module("sharpsim.torch.smollm2")

    def never(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(smollm2_module, "smollm2_path", never)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available: this machine has no CUDA GPU"):
            smollm2_module.smollm2(device="cuda")
    with pytest.raises(ValueError, match="dtype must be one of"):
        smollm2_module.smollm2(dtype="int8")
    with pytest.raises(ValueError, match="device must be a torch device"):
        check_device("gpu please")
    assert check_dtype(None) == torch.float32 and check_dtype("bfloat16") == torch.bfloat16


def test_bfloat16_weights_sample_score_and_train():
    """bfloat16 end to end on the CPU: logits scored in float32, the trained copy in float32."""
    from sharpsim.torch import CausalLMPolicy, sft_sharpening

    lm = tiny_causal_lm("llama", seed=0)
    half = CausalLMPolicy(lm.model.to(torch.bfloat16), lm.tokenizer, device="cpu")
    s = half.sample(["ab"], 3, max_new_tokens=4, rng=0)
    np.testing.assert_allclose(half.log_prob(["ab"] * 3, s.token_ids[0]), s.log_probs[0], rtol=1e-6)
    res = sft_sharpening(half, ["a", "b"], 2, max_new_tokens=3, epochs=2, lr=1e-2, rng=0)
    assert np.isfinite(res.diagnostics["losses"]).all()
    # trained in float32 (bfloat16 rounds small AdamW steps away); the base stays bfloat16
    assert next(res.policy.model.parameters()).dtype == torch.float32
    assert next(half.model.parameters()).dtype == torch.bfloat16


def test_samples_do_not_depend_on_the_batch_size():
    """The uniforms are drawn up front, position-major: chunking the rows changes nothing."""
    lm = tiny_causal_lm("llama", seed=4)
    draws = []
    for batch_size in (1, 3, 64):
        lm.batch_size = batch_size
        draws.append(lm.sample(["ab", "c", "de"], 4, max_new_tokens=5, rng=11))
    for other in draws[1:]:
        assert other.token_ids == draws[0].token_ids
        np.testing.assert_allclose(other.log_probs, draws[0].log_probs, rtol=0, atol=1e-5)


def test_prompts_longer_than_the_context_are_refused():
    from sharpsim.torch import PromptedLM

    lm = tiny_causal_lm("llama", seed=0)  # context of 256 positions
    assert lm.context_length == 256
    with pytest.raises(
        ValueError, match=r"prompts\[1\] has \d+ tokens; the model's context holds 256"
    ):
        lm.sample(["ab", "x" * 400], 1, max_new_tokens=2)
    with pytest.raises(
        ValueError, match="plus max_new_tokens=100 exceeds the model's context of 256"
    ):
        lm.sample(["x" * 200], 1, max_new_tokens=100)
    with pytest.raises(ValueError, match="exceeds the model's context"):
        PromptedLM(lm, ["x" * 200], max_new_tokens=100)
