import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from strategies import autoregressive_policies, prob_tables
from test_power_chain import pooled_chisquare_pvalue

import sharpsim as ss

GREEDY_FAILURE = [[0.0, 0.40, 0.35, 0.25]]  # aa, ab, ba, bb; see tests/test_decoding.py


# ------------------------------------------------------------------ exact power law


@given(prob_tables(), st.sampled_from([1.0, 1.5, 2.0, 7.0, 400.0]))
def test_power_law_log_ratios_scale_by_alpha(probs, alpha):
    base = ss.TabularPolicy(probs)
    law = ss.power_law(base, alpha)
    np.testing.assert_array_equal(law.log_probs == -np.inf, probs == 0)
    x, y = np.nonzero(probs > 0)
    first = np.argmax(probs > 0, axis=1)[x]  # some positive response of the same prompt
    got = law.log_probs[x, y] - law.log_probs[x, first]
    want = alpha * (base.log_probs[x, y] - base.log_probs[x, first])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@given(prob_tables(), st.floats(1.0, 50.0), st.floats(0.0, 50.0))
def test_power_law_mass_on_the_mode_set_grows_with_alpha(probs, alpha, more):
    base = ss.TabularPolicy(probs)
    is_mode = probs == probs.max(axis=1, keepdims=True)
    low = (ss.power_law(base, alpha).probs * is_mode).sum(axis=1)
    high = (ss.power_law(base, alpha + more).probs * is_mode).sum(axis=1)
    assert np.all(high >= low - 1e-12)


@pytest.mark.parametrize("alpha", [1e6, 1e300])
def test_power_law_tends_to_uniform_on_ties_without_underflow(alpha):
    law = ss.power_law(
        ss.TabularPolicy([[0.4, 0.4, 0.2, 0.0], [1e-300, 1e-250, 1.0 - 1e-250, 0.0]]), alpha
    )
    np.testing.assert_allclose(law.probs, [[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    assert not np.any(np.isnan(law.log_probs))


@given(autoregressive_policies(), st.sampled_from([1.0, 3.0]))
def test_power_law_of_autoregressive_policy_enumerates(policy, alpha):
    direct = ss.power_law(policy.to_tabular(), alpha)
    np.testing.assert_array_equal(ss.power_law(policy, alpha).log_probs, direct.log_probs)


# ------------------------------------------- token temperature 1/α is a different law


def test_token_temperature_is_not_power_sampling_on_the_greedy_failure_world():
    """α = 4: the power law ranks ab first; token-level temperature 1/4 ranks ba first."""
    alpha = 4.0
    policy = ss.JointAutoregressivePolicy(GREEDY_FAILURE, 2, 2)
    power = ss.power_law(policy, alpha).probs[0]
    token = ss.token_temperature_law(policy, 1 / alpha).probs[0]
    # Closed forms, written independently of the library.
    z = 0.40**alpha + 0.35**alpha + 0.25**alpha
    want_power = np.array([0.0, 0.40**alpha, 0.35**alpha, 0.25**alpha]) / z
    first_a = 0.40**alpha / (0.40**alpha + 0.60**alpha)
    then_a = 0.35**alpha / (0.35**alpha + 0.25**alpha)
    want_token = np.array([0.0, first_a, (1 - first_a) * then_a, (1 - first_a) * (1 - then_a)])
    np.testing.assert_allclose(power, want_power, rtol=1e-12)
    np.testing.assert_allclose(token, want_token, rtol=1e-12)
    tv = 0.5 * np.abs(power - token).sum()
    np.testing.assert_allclose(tv, 0.5 * np.abs(want_power - want_token).sum(), rtol=1e-12)
    assert tv > 0.4  # ≈ 0.410
    assert np.argmax(power) == 1 and np.argmax(token) == 2  # ab vs ba: the top sequence changes


# --------------------------------------------------------------------- MCMC, exact


def _exact_mh_kernel(probs, vocab, horizon, alpha):
    """The MH transition matrix ``[Y, Y]`` of power_sample_mcmc, built from the joint ``probs [Y]``.

    K = (1/H) Σ_t K_t; K_t proposes y' with y'_{<t} = y_{<t} with probability π(y')/π(y_{<t})
    and accepts with min(1, (π(y')/π(y))^(α-1)); rejected mass stays on the diagonal.
    """
    seqs = ss.all_sequences(vocab, horizon)
    n = probs.shape[0]
    alive = probs > 0
    ratio = np.ones((n, n))
    ratio[np.ix_(alive, alive)] = np.minimum(
        1.0, (probs[alive][None, :] / probs[alive][:, None]) ** (alpha - 1)
    )
    kernel = np.zeros((n, n))
    for t in range(horizon):
        same_prefix = np.all(seqs[:, None, :t] == seqs[None, :, :t], axis=-1)
        prefix_mass = same_prefix @ probs
        with np.errstate(invalid="ignore", divide="ignore"):
            propose = np.where(
                same_prefix & alive[:, None], probs[None, :] / prefix_mass[:, None], 0.0
            )
        move = propose * ratio
        kernel += move + np.diag(1.0 - move.sum(axis=1))
    return kernel / horizon


def _small_world():
    rng = np.random.default_rng(8)
    return ss.JointAutoregressivePolicy(rng.dirichlet(np.ones(8), size=2), 2, 3)


@pytest.mark.parametrize("alpha", [1.0, 2.5, 6.0])
def test_exact_mh_kernel_converges_to_the_power_law(alpha):
    policy = _small_world()
    base = policy.to_tabular().probs
    target = ss.power_law(policy, alpha).probs
    for x in range(2):
        kernel = _exact_mh_kernel(base[x], 2, 3, alpha)
        np.testing.assert_allclose(kernel.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(target[x] @ kernel, target[x], atol=1e-12)  # stationary
        flow = target[x][:, None] * kernel
        np.testing.assert_allclose(flow, flow.T, atol=1e-12)  # detailed balance
        dist, tvs = base[x].copy(), []  # chains start from the base model
        for _ in range(300):
            tvs.append(0.5 * np.abs(dist - target[x]).sum())
            dist = dist @ kernel
        assert np.all(np.diff(tvs) <= 1e-12)  # TV to the stationary law never increases
        assert tvs[-1] < 1e-9
        if alpha > 1:
            assert tvs[0] > 0.05


@pytest.mark.parametrize("alpha, n_steps", [(2.5, 1), (6.0, 4)])
def test_mcmc_chains_follow_the_exact_t_step_law(alpha, n_steps):
    """Chi-square at level 0.001 per prompt (Bonferroni over 2 prompts x 2 cases)."""
    policy = _small_world()
    base = policy.to_tabular().probs
    n_chains = 20_000
    res = ss.power_sample_mcmc(policy, [0, 1], alpha, n_steps, n_chains=n_chains, rng=3)
    assert res.samples.shape == (2, n_chains, 3)
    idx = ss.encode_sequences(res.samples, 2)
    for x in range(2):
        kernel = _exact_mh_kernel(base[x], 2, 3, alpha)
        law = base[x] @ np.linalg.matrix_power(kernel, n_steps)
        counts = np.bincount(idx[x], minlength=8)
        assert stats.chisquare(counts, n_chains * law).pvalue > 0.001 / 4


def test_mcmc_acceptance_rate_matches_the_exact_kernel():
    """One step from the base law: accepted count ~ Binomial(n, a), a exact; 99.9% normal band."""
    policy = _small_world()
    base = policy.to_tabular().probs[0]
    alpha, n = 3.0, 40_000
    # P(accept) = Σ_t (1/H) Σ_{y, y'} π(y) q_t(y'|y) min(1, (π(y')/π(y))^(α-1)), proposals y' = y included.
    seqs = ss.all_sequences(2, 3)
    accepted = 0.0
    for t in range(3):
        same = np.all(seqs[:, None, :t] == seqs[None, :, :t], axis=-1)
        propose = same * base[None, :] / (same @ base)[:, None]
        accept = np.minimum(1.0, (base[None, :] / base[:, None]) ** (alpha - 1))
        accepted += (base[:, None] * propose * accept).sum() / 3
    res = ss.power_sample_mcmc(policy, [0], alpha, 1, n_chains=n, rng=5)
    half_width = stats.norm.ppf(1 - 0.001 / 2) * np.sqrt(accepted * (1 - accepted) / n)
    assert abs(res.acceptance_rate - accepted) < half_width
    assert res.acceptance_by_prompt.shape == (1,)


def test_mcmc_alpha_one_accepts_everything_and_init_is_respected():
    policy = _small_world()
    res = ss.power_sample_mcmc(policy, [0, 1], 1.0, 3, n_chains=5, rng=0, init=[0, 1, 1])
    assert res.acceptance_rate == 1.0
    np.testing.assert_array_equal(res.acceptance_by_prompt, [1.0, 1.0])
    long = ss.power_sample_mcmc(
        policy, [0], 50.0, 1, n_chains=200, rng=1, init=np.zeros((1, 200, 3), int)
    )
    assert 0.0 <= long.acceptance_rate < 1.0


def test_mcmc_seed_reproducible():
    policy = _small_world()
    a = ss.power_sample_mcmc(policy, [0, 1], 3.0, 5, n_chains=4, rng=12)
    b = ss.power_sample_mcmc(policy, [0, 1], 3.0, 5, n_chains=4, rng=np.random.default_rng(12))
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.acceptance_rate == b.acceptance_rate


def test_mcmc_long_horizon_stays_finite():
    rng = np.random.default_rng(0)
    policy = ss.MarkovPolicy(
        rng.dirichlet(np.ones(4), size=1), rng.dirichlet(np.full(4, 0.2), size=(1, 299, 4))
    )
    res = ss.power_sample_mcmc(policy, [0], 4.0, 20, n_chains=16, rng=0)
    start = policy.sample([0], 16, rng=0)
    assert np.all(np.isfinite(policy.log_prob(0, res.samples[0])))
    # Sharpening pushes the chains toward likelier sequences than fresh base samples.
    assert policy.log_prob(0, res.samples[0]).mean() > policy.log_prob(0, start[0]).mean()


# ------------------------------------ MCMC options: tempered proposals, block cuts, start law


@pytest.mark.parametrize("alpha", [1.0, 2.5, 6.0])
def test_power_chain_kernel_is_this_files_naive_kernel(alpha):
    policy = _small_world()
    base = policy.to_tabular().probs
    for x in range(2):
        np.testing.assert_allclose(
            ss.power_chain_kernel(policy, x, alpha),
            _exact_mh_kernel(base[x], 2, 3, alpha),
            rtol=0,
            atol=1e-14,
        )


def test_mcmc_default_options_are_the_same_bytes_as_before():
    policy = _small_world()
    a = ss.power_sample_mcmc(policy, [0, 1], 3.0, 6, n_chains=5, rng=4)
    for kw in ({"proposal_temperature": 1.0}, {"block_size": 1}, {"block_size": None}):
        b = ss.power_sample_mcmc(policy, [0, 1], 3.0, 6, n_chains=5, rng=4, **kw)
        np.testing.assert_array_equal(a.samples, b.samples)
        assert a.acceptance_rate == b.acceptance_rate
    assert (a.proposal_temperature, a.block_size) == (1.0, None)


# (alpha, proposal temperature, block size, init, steps): Karan & Du's τ = 1/α, block cuts,
# all three start rules, and a proposal hotter than the base model.
SAMPLER_CASES = [
    (4.0, 0.25, None, None, 2, None),
    (4.0, 0.25, 1, "proposal", 3, None),
    (3.0, 0.5, 2, "proposal", 3, None),
    (2.0, 2.0, 3, [1, 0, 1], 1, None),
    (1.0, 0.5, None, [0, 0, 0], 2, None),
    (4.0, 0.25, None, "proposal", 2, 1),  # Karan & Du's schedule: grow one token at a time
    (3.0, 0.5, 2, None, 1, 2),
]


@pytest.mark.parametrize("alpha, tau, block, init, n_steps, growth", SAMPLER_CASES)
def test_mcmc_options_follow_the_exact_kernel_law(alpha, tau, block, init, n_steps, growth):
    """The sampler matches the exact kernel: chi-square at level 0.001, Bonferroni over
    2 prompts x 7 cases; cells with expected count < 5 pooled."""
    policy = _small_world()
    n_chains = 20_000
    kw = {"proposal_temperature": tau, "block_size": block, "growth_block": growth}
    res = ss.power_sample_mcmc(policy, [0, 1], alpha, n_steps, n_chains, rng=9, init=init, **kw)
    stages = 1 if growth is None else -(-3 // growth)
    assert res.n_steps == n_steps * stages and res.growth_block == growth
    idx = ss.encode_sequences(res.samples, 2)
    for x in range(2):
        law = ss.power_chain_law(policy, x, alpha, [n_steps], init=init, **kw).laws[0]
        counts = np.bincount(idx[x], minlength=8)
        expected = n_chains * law
        assert pooled_chisquare_pvalue(counts, expected) > 0.001 / (2 * len(SAMPLER_CASES))


def test_mcmc_alpha_one_accepts_everything_only_with_the_base_model_as_proposal():
    policy = _small_world()
    for block in (None, 2, 3):
        res = ss.power_sample_mcmc(policy, [0, 1], 1.0, 4, n_chains=50, rng=0, block_size=block)
        assert res.acceptance_rate == 1.0
    hot = ss.power_sample_mcmc(
        policy, [0, 1], 1.0, 4, n_chains=200, rng=0, proposal_temperature=3.0
    )
    assert hot.acceptance_rate < 1.0  # the MH ratio π q(y)/(π q(y')) no longer cancels


# ------------------------------------------------------------------ bad inputs


def test_power_bad_inputs():
    policy = _small_world()
    with pytest.raises(ValueError, match=r"alpha must be in \[1.0"):
        ss.power_law(policy, 0.5)
    with pytest.raises(ValueError, match=r"alpha must be in \[1.0"):
        ss.power_sample_mcmc(policy, [0], 0.9, 3)
    with pytest.raises(TypeError, match="alpha must be a real number"):
        ss.power_law(policy, "2")
    with pytest.raises(TypeError, match="policy must be a TabularPolicy or have to_tabular"):
        ss.power_law([[0.5, 0.5]], 2.0)
    with pytest.raises(ValueError, match="n_steps must be >= 1"):
        ss.power_sample_mcmc(policy, [0], 2.0, 0)
    with pytest.raises(ValueError, match="n_chains must be >= 1"):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, n_chains=0)
    with pytest.raises(TypeError, match="policy must be an AutoregressivePolicy"):
        ss.power_sample_mcmc(policy.to_tabular(), [0], 2.0, 3)
    with pytest.raises(ValueError, match=r"init must have shape \[\.\.\., horizon=3\]"):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, init=[0, 1])
    with pytest.raises(ValueError, match="init must broadcast"):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, n_chains=2, init=np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="proposal_temperature must be"):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, proposal_temperature=-1.0)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, block_size=0)
    with pytest.raises(TypeError, match="block_size must be an integer"):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, block_size=1.5)
    with pytest.raises(ValueError, match='init must be None, "proposal" or sequences'):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, init="base")
    with pytest.raises(ValueError, match='init must be None, "proposal" or sequences'):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, init="base", growth_block=1)
    with pytest.raises(ValueError, match='with growth_block, init must be None or "proposal"'):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, init=[0, 1, 1], growth_block=1)
    with pytest.raises(ValueError, match="growth_block must be >= 1"):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, growth_block=0)
    with pytest.raises(ValueError, match=r"init entries must be in \[0, 2\)"):
        ss.power_sample_mcmc(policy, [0], 2.0, 3, init=[0, 1, 2])
    zero = ss.JointAutoregressivePolicy(GREEDY_FAILURE, 2, 2)
    with pytest.raises(ValueError, match="init sequences must have positive probability; 1 have"):
        ss.power_sample_mcmc(zero, [0], 2.0, 3, init=[0, 0])
    big = ss.MarkovPolicy(np.full((1, 50), 0.02), np.full((1, 4, 50, 50), 0.02))
    with pytest.raises(ValueError, match="more than max_responses"):
        ss.power_law(big, 2.0)


def test_power_mcmc_astronomical_alpha_has_no_overflow():
    # (α - 1)·log(π(y')/π(y)) used to overflow with a RuntimeWarning; ±inf is the right limit.
    policy = ss.JointAutoregressivePolicy([[0.01, 0.9, 0.04, 0.05]], 2, 2)
    res = ss.power_sample_mcmc(policy, [0], 1e308, 30, n_chains=8, rng=0)
    assert res.samples.shape == (1, 8, 2)
    assert np.all(np.isfinite(policy.log_prob(0, res.samples[0])))


def test_power_mcmc_with_no_prompts():
    policy = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
    res = ss.power_sample_mcmc(policy, np.zeros(0, np.int64), 2.0, 3, n_chains=2, rng=0)
    assert res.samples.shape == (0, 2, 2) and res.acceptance_by_prompt.shape == (0,)
