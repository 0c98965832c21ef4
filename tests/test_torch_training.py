"""SFT / DPO / XPO sharpening through the torch backend, against the NumPy core where exact."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import sharpsim as ss  # noqa: E402
from sharpsim.torch import (  # noqa: E402
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
    assert res.queries == 32 and res.losses[-1] < res.losses[0]
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


def test_sft_is_reproducible_and_validates():
    base = tiny_causal_lm("gpt2", seed=2)
    a = sft_sharpening(base, ["a", "b"], 3, max_new_tokens=3, epochs=2, rng=5)
    b = sft_sharpening(base, ["a", "b"], 3, max_new_tokens=3, epochs=2, rng=5)
    np.testing.assert_array_equal(a.losses, b.losses)
    with pytest.raises(ValueError, match="N must be >= 1"):
        sft_sharpening(base, ["a"], 0)
    with pytest.raises(ValueError, match="grad_accum must be >= 1"):
        sft_sharpening(base, ["a"], 2, grad_accum=0)
    with pytest.raises(ValueError, match="prompts must be a non-empty list"):
        sft_sharpening(base, [], 2)


def test_gradient_accumulation_matches_a_full_batch():
    """Two micro-batches of 2 accumulated = one batch of 4 (same mean loss, same AdamW step)."""
    base = tiny_causal_lm("gpt2", seed=3)
    prompts = ["a", "b", "c", "d"]
    picks = best_of_n(base, prompts, 2, max_new_tokens=3, rng=0)
    full = sft_sharpening(
        base, prompts, 2, picks=picks, batch_size=4, grad_accum=1, epochs=3, lr=1e-2, rng=1
    )
    accum = sft_sharpening(
        base, prompts, 2, picks=picks, batch_size=2, grad_accum=2, epochs=3, lr=1e-2, rng=1
    )
    np.testing.assert_allclose(full.losses, accum.losses, rtol=1e-9)
    np.testing.assert_allclose(
        full.policy.log_prob(prompts, picks.token_ids),
        accum.policy.log_prob(prompts, picks.token_ids),
        rtol=1e-9,
    )


def test_sft_cross_backend_matches_core_mle():
    """SFT on the same BoN picks: torch gradient descent vs the core's exact MarkovClass MLE, on visited states."""
    rng = np.random.default_rng(0)
    X, V, H = 2, 3, 3
    ar = ss.MarkovPolicy(
        rng.dirichlet(np.ones(V), size=X), rng.dirichlet(np.ones(V), size=(X, H - 1, V))
    )
    lm = as_causal_lm(ar)
    x = np.repeat([0, 1], 30)
    picks = best_of_n(lm, lm.prompts(x), 4, max_new_tokens=H + 1, rng=1)
    seqs = lm.sequences([[t] for t in picks.token_ids])[:, 0]
    core = ss.MarkovClass(X, V, H).fit_mle(x, seqs)
    res = sft_sharpening(
        lm, lm.prompts(x), 4, picks=picks, lr=0.5, epochs=1000, batch_size=len(x), rng=0
    )
    fitted = res.policy.to_numpy()
    np.testing.assert_allclose(fitted.initial, core.initial, atol=1e-3)
    for h in range(H - 1):
        for xx in range(X):
            visited = np.unique(seqs[x == xx, h])
            np.testing.assert_allclose(
                fitted.transition[xx, h, visited], core.transition[xx, h, visited], atol=1e-3
            )


def _joint_world():
    probs = np.array([[0.30, 0.05, 0.10, 0.02, 0.20, 0.03, 0.12, 0.08, 0.10]])
    return ss.JointAutoregressivePolicy(probs, 3, 2)


def _kl_to_tilted(policy, base, beta):
    return ss.kl_divergence(policy.to_tabular(), ss.tilted(base.to_tabular(), beta))


def test_dpo_regression_moves_to_tilted_model():
    """Eq. (8) with r = log π_base has zero-residual solution π_base^(1+1/β) once the pairs connect all 9 sequences."""
    base = _joint_world()
    beta = 0.5
    lm = as_causal_lm(base)
    res = dpo_sharpening(
        lm,
        lm.prompts([0] * 300),
        beta,
        lr=0.05,
        epochs=300,
        batch_size=300,
        max_new_tokens=3,
        rng=0,
    )
    assert res.queries == 600
    assert res.losses[-1] < 1e-3 * res.losses[0]
    before, after = (
        _kl_to_tilted(base, base, beta),
        _kl_to_tilted(res.policy.to_numpy(), base, beta),
    )
    assert after < 1e-3 * before


def test_logistic_dpo_moves_toward_tilted_model():
    """Bradley-Terry labels from the self-reward: the population minimiser is π_base^(1+1/β).

    With 3000 labelled pairs the logit estimates are within a few 1/sqrt(n) of
    the truth; the KL to π*_β must at least halve (fixed seed).
    """
    base = _joint_world()
    beta = 1.0
    lm = as_causal_lm(base)
    res = dpo_sharpening(
        lm,
        lm.prompts([0] * 3000),
        beta,
        loss="logistic",
        lr=0.05,
        epochs=100,
        batch_size=3000,
        max_new_tokens=3,
        rng=0,
    )
    assert res.losses[-1] < res.losses[0]
    before, after = (
        _kl_to_tilted(base, base, beta),
        _kl_to_tilted(res.policy.to_numpy(), base, beta),
    )
    assert after < 0.5 * before


def test_xpo_reduces_loss_and_moves_toward_tilted_model():
    base = _joint_world()
    beta = 0.5
    lm = as_causal_lm(base)
    res = xpo_sharpening(
        lm,
        lm.prompts([0]),
        40,
        beta,
        1e-3,
        prompts_per_round=8,
        inner_steps=20,
        lr=0.05,
        max_new_tokens=3,
        rng=0,
    )
    assert res.queries == 2 * 40 * 8
    per_round = res.diagnostics["losses_per_round"]
    assert per_round[-1] < 0.1 * per_round[0] + 1e-6
    before, after = (
        _kl_to_tilted(base, base, beta),
        _kl_to_tilted(res.policy.to_numpy(), base, beta),
    )
    assert after < 0.1 * before


def test_training_bad_input():
    lm = as_causal_lm(_joint_world())
    with pytest.raises(ValueError, match="beta must be in"):
        dpo_sharpening(lm, lm.prompts([0]), 0.0)
    with pytest.raises(ValueError, match="loss must be 'regression' or 'logistic'"):
        dpo_sharpening(lm, lm.prompts([0]), 1.0, loss="hinge")
    with pytest.raises(ValueError, match="T must be >= 1"):
        xpo_sharpening(lm, lm.prompts([0]), 0, 1.0, 0.1)
    with pytest.raises(ValueError, match="alpha must be in"):
        xpo_sharpening(lm, lm.prompts([0]), 1, 1.0, -0.1)


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


def test_xpo_validation_returns_the_iterate_with_the_largest_estimate(monkeypatch):
    """Algorithm 1's output rule: the returned model is the iterate of largest Ĵ_β, queries include validation."""
    from sharpsim.torch import training

    base = _joint_world()
    beta, T, per_round, k = 0.5, 6, 4, 400
    lm = as_causal_lm(base)
    snapshots = []
    consider = training._IterateSelector.consider

    def recording(self, model, gen):
        snapshots.append(model.to_numpy().to_tabular().probs.copy())
        return consider(self, model, gen)

    monkeypatch.setattr(training._IterateSelector, "consider", recording)
    res = xpo_sharpening(
        lm,
        lm.prompts([0]),
        T,
        beta,
        1e-3,
        prompts_per_round=per_round,
        inner_steps=5,
        lr=0.05,
        max_new_tokens=3,
        validation_samples=k,
        rng=0,
    )
    values = res.diagnostics["validation_J"]
    assert len(values) == len(snapshots) == T + 1
    assert res.diagnostics["selected_iterate"] == int(np.argmax(values)) + 1
    np.testing.assert_array_equal(
        res.policy.to_numpy().to_tabular().probs, snapshots[int(np.argmax(values))]
    )
    assert res.queries == 2 * T * per_round + (T + 1) * k
    # Ĵ_β(π^(1)) estimates J_β(π_base) = E[log π_base] without bias: a CLT band at level 1e-3 (z = 3.29).
    table = base.to_tabular()
    lp = table.log_probs[0][table.probs[0] > 0]
    p = table.probs[0][table.probs[0] > 0]
    sd = np.sqrt(np.sum(p * lp**2) - np.sum(p * lp) ** 2)
    assert abs(values[0] - ss.regularized_objective(table, table, beta)) <= 3.29 * sd / np.sqrt(k)


def test_xpo_without_validation_returns_the_last_iterate_and_refuses_bad_counts():
    lm = as_causal_lm(_joint_world())
    res = xpo_sharpening(
        lm,
        lm.prompts([0]),
        2,
        0.5,
        1e-3,
        prompts_per_round=2,
        inner_steps=2,
        max_new_tokens=3,
        rng=0,
    )
    assert "validation_J" not in res.diagnostics and res.queries == 8
    with pytest.raises(ValueError, match="validation_samples must be >= 0"):
        xpo_sharpening(lm, lm.prompts([0]), 1, 0.5, 0.1, validation_samples=-1)
