"""SFT / DPO / XPO sharpening of a causal LM: the core loops with the gradient learner (see also test_torch_cross_backend)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import sharpsim as ss  # noqa: E402
from sharpsim.torch import (  # noqa: E402
    GradientClass,
    PromptedLM,
    as_causal_lm,
    best_of_n,
    dpo_sharpening,
    evaluate_greedy,
    lift,
    score_responses,
    sft_sharpening,
    tiny_causal_lm,
    xpo_sharpening,
)


def _mean_ref_ll(reference, policy, prompts, n, rng):
    s = policy.sample(prompts, n, max_new_tokens=4, rng=rng)
    flat_p = [p for p in prompts for _ in range(n)]
    flat = [r for g in s.token_ids for r in g]
    return reference.log_prob(flat_p, flat)


# LoRA must reach the output head: in a 32-wide random model the frozen head maps hidden-state changes to tiny logit changes.
@pytest.mark.parametrize(
    "lora", [None, {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj", "lm_head"]}]
)
def test_sft_raises_reference_log_likelihood_of_samples(lora):
    """One-sided z-test at level 0.001 (z > 3.09) on the mean reference log-likelihood of 64 samples each."""
    base = tiny_causal_lm("llama", seed=1)
    prompts = ["a", "b", "c", "d"]
    res = sft_sharpening(
        base,
        prompts,
        8,
        max_new_tokens=4,
        lora=lora,
        lr=3e-2 if lora else 1e-2,
        epochs=15,
        batch_size=4,
        rng=0,
    )
    losses = res.diagnostics["losses"]
    assert res.queries == 32 and losses[-1] < losses[0]
    before = _mean_ref_ll(base, base, prompts, 16, 1)
    after = _mean_ref_ll(
        base, res.policy, prompts, 16, 2
    )  # independent draws: the z-test assumes it
    se = np.sqrt(before.var(ddof=1) / before.size + after.var(ddof=1) / after.size)
    assert (after.mean() - before.mean()) / se > 3.09
    # the base model is untouched (the sharpened model is a copy)
    np.testing.assert_array_equal(
        base.log_prob(["a"], ["xy"]), tiny_causal_lm("llama", seed=1).log_prob(["a"], ["xy"])
    )


def _params(policy):
    return {k: v.detach().clone() for k, v in policy.model.state_dict().items()}


def _same_params(a, b):
    pa, pb = _params(a), _params(b)
    return pa.keys() == pb.keys() and all(torch.equal(pa[k], pb[k]) for k in pa)


def _run(method, base, rng, lora=None):
    common = dict(max_new_tokens=3, lr=1e-2, rng=rng, lora=lora)
    if method == "sft":
        return sft_sharpening(base, ["a", "b", "c"], 3, epochs=2, batch_size=2, **common)
    if method == "dpo":
        return dpo_sharpening(base, ["a", "b", "c"], 0.5, epochs=2, batch_size=2, **common)
    return xpo_sharpening(
        base, ["a", "b"], 2, 0.5, 0.1, prompts_per_round=2, inner_steps=2, **common
    )


@pytest.mark.parametrize("method", ["sft", "dpo", "xpo"])
@pytest.mark.parametrize("lora", [None, {"r": 2, "target_modules": ["q_proj", "v_proj"]}])
def test_training_is_reproducible_bit_for_bit(method, lora):
    """Same seed ⇒ the same weights (every tensor equal), losses, queries and greedy outputs; another seed differs."""
    base = tiny_causal_lm("llama", seed=2)
    a, b, c = (_run(method, base, rng, lora) for rng in (5, 5, 6))
    assert _same_params(a.policy, b.policy) and not _same_params(a.policy, c.policy)
    np.testing.assert_array_equal(a.diagnostics["losses"], b.diagnostics["losses"])
    assert a.queries == b.queries and a.seed == 5
    ga, gb = (r.policy.decode_greedy(["a", "b"], max_new_tokens=4).token_ids for r in (a, b))
    assert ga == gb


def test_training_validates():
    base = tiny_causal_lm("gpt2", seed=2)
    with pytest.raises(ValueError, match="N must be >= 1"):
        sft_sharpening(base, ["a"], 0)
    with pytest.raises(ValueError, match="grad_accum must be >= 1"):
        sft_sharpening(base, ["a"], 2, grad_accum=0)
    with pytest.raises(ValueError, match="prompts must be a non-empty list"):
        sft_sharpening(base, [], 2)
    with pytest.raises(ValueError, match="LoRA rank"):
        sft_sharpening(base, ["a"], 2, lora={"r": 0})
    with pytest.raises(TypeError, match="base must be a PromptedLM"):
        GradientClass(base)


def test_gradient_accumulation_matches_a_full_batch():
    """Two micro-batches of 2 accumulated = one batch of 4 (same mean loss, same AdamW step)."""
    lm = tiny_causal_lm("gpt2", seed=3)
    base = PromptedLM(lm, ["a", "b", "c", "d"], max_new_tokens=3)
    x = np.arange(4)
    y = base.sample(x, 1, rng=0)[:, 0]
    full = GradientClass(base, batch_size=4, grad_accum=1, epochs=3, lr=1e-2).fit_mle(
        x, y, rng=np.random.default_rng(1)
    )
    accum = GradientClass(base, batch_size=2, grad_accum=2, epochs=3, lr=1e-2).fit_mle(
        x, y, rng=np.random.default_rng(1)
    )
    np.testing.assert_allclose(full.training_losses, accum.training_losses, rtol=1e-9)
    np.testing.assert_allclose(full.log_prob(x, y), accum.log_prob(x, y), rtol=1e-9)


def test_training_bad_input():
    lm = as_causal_lm(_joint_world())
    with pytest.raises(ValueError, match="beta must be in"):
        dpo_sharpening(lm, lm.prompts([0]), 0.0)
    with pytest.raises(ValueError, match="loss must be one of"):
        dpo_sharpening(lm, lm.prompts([0]), 1.0, loss="hinge")
    with pytest.raises(ValueError, match="T must be >= 1"):
        xpo_sharpening(lm, lm.prompts([0]), 0, 1.0, 0.1)
    with pytest.raises(ValueError, match="alpha must be in"):
        xpo_sharpening(lm, lm.prompts([0]), 1, 1.0, -0.1)
    with pytest.raises(ValueError, match="n_validation must be >= 0"):
        xpo_sharpening(lm, lm.prompts([0]), 1, 0.5, 0.1, n_validation=-1)


def _joint_world():
    probs = np.array([[0.30, 0.05, 0.10, 0.02, 0.20, 0.03, 0.12, 0.08, 0.10]])
    return ss.JointAutoregressivePolicy(probs, 3, 2)


def test_evaluation_lift():
    lm = tiny_causal_lm("gpt2", seed=0)
    prompts, answers = ["1+1=", "2+2="], ["2", "4"]
    base = evaluate_greedy(lm, prompts, answers, lambda t: t.strip()[:1], max_new_tokens=2)
    picks = best_of_n(lm, prompts, 3, max_new_tokens=2, rng=0)
    bon = score_responses(
        lm, prompts, picks.token_ids, picks.texts, answers, lambda t: t.strip()[:1]
    )
    np.testing.assert_allclose(bon.log_likelihoods, picks.log_probs, atol=1e-9)
    out = lift(bon, base)
    assert out["log_likelihood_lift"] == pytest.approx(bon.log_likelihood - base.log_likelihood)
    with pytest.raises(ValueError, match="same length"):
        score_responses(lm, prompts, picks.token_ids, picks.texts, ["2"], str.strip)


def test_xpo_validation_selects_the_iterate_with_the_largest_estimate():
    """Algorithm 1's output rule through the torch entry point: queries include the validation draws."""
    lm = as_causal_lm(_joint_world())
    T, per_round, k = 4, 3, 50
    res = xpo_sharpening(
        lm,
        lm.prompts([0]),
        T,
        0.5,
        1e-3,
        prompts_per_round=per_round,
        inner_steps=5,
        lr=0.05,
        max_new_tokens=2,
        n_validation=k,
        rng=0,
    )
    values = res.diagnostics["validation_objective"]
    assert len(values) == T + 1 and res.diagnostics["selected"] == int(np.argmax(values))
    assert res.queries == 2 * T * per_round + (T + 1) * k
    last = xpo_sharpening(
        lm,
        lm.prompts([0]),
        2,
        0.5,
        1e-3,
        prompts_per_round=2,
        inner_steps=2,
        max_new_tokens=2,
        rng=0,
    )
    assert "validation_objective" not in last.diagnostics and last.queries == 8
    assert last.diagnostics["selected"] == 2
