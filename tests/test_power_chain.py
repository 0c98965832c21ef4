"""The power sampler's exact Markov chain (sharpsim.inference.power_chain, SPEC §11)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from strategies import autoregressive_policies

import sharpsim as ss
from sharpsim.inference.power_chain import MAX_CHAIN_STATES


def pooled_chisquare_pvalue(counts, expected) -> float:
    """Chi-square p-value with the cells of expected count < 5 pooled into one.

    A draw where the law puts no mass is an outright failure (p-value 0).
    """
    if np.any(counts[expected == 0] > 0):
        return 0.0
    small = expected < 5
    f_obs, f_exp = counts[~small], expected[~small]
    if expected[small].sum() > 0:
        f_obs, f_exp = (
            np.append(f_obs, counts[small].sum()),
            np.append(f_exp, expected[small].sum()),
        )
    return float(stats.chisquare(f_obs, f_exp).pvalue)


ALPHAS = st.sampled_from([1.0, 1.5, 3.0, 40.0])
BLOCKS = st.sampled_from([None, 1, 2, 3])


def _tau(alpha, how):
    return {"one": 1.0, "inverse": 1.0 / alpha, "hot": 2.0}[how]


TAUS = st.sampled_from(["one", "inverse", "hot"])


def _reference_kernel(policy, x, alpha, tau, block_size):
    """Naive ``K``: a Python loop over states, cuts and proposals, from the enumerated laws.

    q(y'_{t:} | y_{<t}) = q(y') / q(y_{<t}) with q's prefix marginal a log-sum-exp over the block;
    only rows of positive-probability states are filled (the others are NaN).
    """
    V, H = policy.vocab_size, policy.horizon
    lp = policy.to_tabular().log_probs[x]
    lq = ss.token_temperature_law(policy, tau).log_probs[x]
    n = V**H
    cuts = list(range(0, H, block_size or 1))
    K = np.full((n, n), np.nan)
    for y in range(n):
        if lp[y] == -np.inf:
            continue
        row = np.zeros(n)
        for t in cuts:
            size = V ** (H - t)
            lo = (y // size) * size
            block = np.arange(lo, lo + size)
            log_prefix = logsumexp(lq[block])
            for y2 in block:
                if lq[y2] == -np.inf:
                    continue
                propose = np.exp(lq[y2] - log_prefix) / len(cuts)
                with np.errstate(over="ignore"):
                    log_a = alpha * (lp[y2] - lp[y]) - (lq[y2] - lq[y])
                accept = np.exp(min(0.0, log_a))
                row[y2] += propose * accept
                row[y] += propose * (1.0 - accept)
        K[y] = row
    return K


# ----------------------------------------------------------------- the kernel, exactly


@given(autoregressive_policies(max_vocab=3, max_horizon=3), ALPHAS, TAUS, BLOCKS)
def test_kernel_is_stochastic_reversible_and_leaves_the_power_law_invariant(
    policy, alpha, how, block
):
    tau = _tau(alpha, how)
    target = ss.power_law(policy, alpha).probs
    for x in range(policy.n_contexts):
        K = ss.power_chain_kernel(policy, x, alpha, proposal_temperature=tau, block_size=block)
        assert K.shape == (policy.n_responses,) * 2 and np.all(K >= 0)
        np.testing.assert_allclose(K.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        flow = target[x][:, None] * K
        np.testing.assert_allclose(flow, flow.T, rtol=0, atol=1e-13)  # detailed balance
        np.testing.assert_allclose(target[x] @ K, target[x], rtol=0, atol=1e-12)
        dead = np.flatnonzero(policy.to_tabular().log_probs[x] == -np.inf)
        point_masses = np.eye(policy.n_responses)[dead]  # zero-probability states stay put
        np.testing.assert_allclose(K[dead], point_masses, rtol=0, atol=1e-12)


@given(autoregressive_policies(max_vocab=2, max_horizon=3), ALPHAS, TAUS, BLOCKS)
def test_kernel_matches_a_naive_loop_over_states_and_proposals(policy, alpha, how, block):
    tau = _tau(alpha, how)
    for x in range(policy.n_contexts):
        K = ss.power_chain_kernel(policy, x, alpha, proposal_temperature=tau, block_size=block)
        ref = _reference_kernel(policy, x, alpha, tau, block)
        alive = ~np.isnan(ref[:, 0])
        np.testing.assert_allclose(K[alive], ref[alive], rtol=0, atol=1e-12)


@given(autoregressive_policies(max_vocab=3, max_horizon=3), BLOCKS)
def test_alpha_one_with_the_base_model_as_proposal_accepts_everything(policy, block):
    """α = 1, τ = 1: every proposal is accepted, so K is the proposal matrix itself."""
    H = policy.horizon
    cuts = range(0, H, block or 1)
    lp = policy.to_tabular().log_probs
    for x in range(policy.n_contexts):
        K = ss.power_chain_kernel(policy, x, 1.0, block_size=block)
        # The proposal matrix: average over cuts of q(y'_{t:}|y_{<t}) on each prefix block.
        want = np.zeros_like(K)
        for t in cuts:
            size = policy.vocab_size ** (H - t)
            blocks = lp[x].reshape(-1, size)
            with np.errstate(invalid="ignore"):  # a zero-mass prefix block: its rows are dead
                cond = np.exp(blocks - logsumexp(blocks, axis=1, keepdims=True))
            for b in range(blocks.shape[0]):
                if np.isfinite(logsumexp(blocks[b])):
                    want[b * size : (b + 1) * size, b * size : (b + 1) * size] += cond[b] / len(
                        cuts
                    )
        alive = lp[x] > -np.inf
        np.testing.assert_allclose(K[alive], want[alive], rtol=0, atol=1e-12)


# --------------------------------------------------------- the law after k steps, mixing


def _full_support_markov(seed, vocab=2, horizon=4, concentration=0.5):
    rng = np.random.default_rng(seed)
    initial = rng.dirichlet(np.full(vocab, concentration), size=1)
    transition = rng.dirichlet(np.full(vocab, concentration), size=(1, horizon - 1, vocab))
    return ss.MarkovPolicy(initial, transition)


@given(autoregressive_policies(max_vocab=3, max_horizon=3), ALPHAS, TAUS, BLOCKS)
def test_law_after_k_steps_is_start_times_kernel_power_and_tv_never_increases(
    policy, alpha, how, block
):
    tau = _tau(alpha, how)
    steps = np.array([0, 1, 2, 5, 3])
    out = ss.power_chain_law(policy, 0, alpha, steps, proposal_temperature=tau, block_size=block)
    K = ss.power_chain_kernel(policy, 0, alpha, proposal_temperature=tau, block_size=block)
    np.testing.assert_allclose(out.start, policy.to_tabular().probs[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.target, ss.power_law(policy, alpha).probs[0], atol=1e-12)
    for k, law in zip(steps, out.laws):
        np.testing.assert_allclose(law, out.start @ np.linalg.matrix_power(K, k), atol=1e-12)
    order = np.argsort(steps)
    assert np.all(np.diff(out.tv[order]) <= 1e-12)  # TV to a stationary law never increases


@given(st.integers(0, 2**32 - 1), st.sampled_from([1.0, 2.0, 6.0]), TAUS, BLOCKS)
def test_irreducible_chain_mixes_and_its_gaps_and_mixing_times_agree(seed, alpha, how, block):
    policy = _full_support_markov(seed, vocab=2, horizon=3)
    tau = _tau(alpha, how)
    kw = {"proposal_temperature": tau, "block_size": block}
    out = ss.power_chain_law(policy, 0, alpha, [0, 10, 200, 4000], **kw)
    assert np.all(np.diff(out.tv) <= 1e-12) and out.tv[-1] < 1e-6
    mix = ss.power_chain_mixing(policy, 0, alpha, eps=0.05, worst_case=True, **kw)
    assert 0.0 < mix.absolute_spectral_gap <= 1.0 + 1e-12
    assert mix.absolute_spectral_gap <= mix.spectral_gap + 1e-12
    K = ss.power_chain_kernel(policy, 0, alpha, **kw)
    eig = np.sort(np.linalg.eigvals(K).real)
    np.testing.assert_allclose(mix.eigenvalues, eig, atol=1e-8)
    # Exact mixing times, by brute force: the first k with TV <= ε.
    assert mix.tv[mix.mixing_time] <= 0.05 and np.all(mix.tv[: mix.mixing_time] > 0.05)
    brute = ss.power_chain_law(policy, 0, alpha, np.arange(mix.mixing_time + 1), **kw).tv
    np.testing.assert_allclose(mix.tv, brute, atol=1e-12)
    target = out.target

    def d(k):
        return 0.5 * np.abs(np.linalg.matrix_power(K, k) - target).sum(axis=1).max()

    t = mix.worst_case_mixing_time
    assert d(t) <= 0.05 and (t == 0 or d(t - 1) > 0.05)
    assert (
        mix.mixing_time <= t <= mix.relaxation_bound
    )  # Levin–Peres–Wilmer Ch. 12 (relaxation time)


def test_mixing_gives_up_past_max_steps_and_alpha_one_mixes_in_one_step():
    policy = _full_support_markov(3)
    slow = ss.power_chain_mixing(policy, 0, 30.0, eps=1e-9, max_steps=2, worst_case=True)
    assert slow.mixing_time is None and slow.worst_case_mixing_time is None
    assert slow.tv.shape == (3,)
    iid = ss.power_chain_mixing(policy, 0, 1.0, block_size=4, init=[1, 1, 0, 1], worst_case=True)
    assert iid.mixing_time == 1 and iid.worst_case_mixing_time == 1
    np.testing.assert_allclose(iid.eigenvalues[:-1], 0.0, atol=1e-12)
    assert ss.power_chain_mixing(policy, 0, 1.0).mixing_time == 0  # starts at π = π^1


@pytest.mark.parametrize(
    "alpha, tau, block, init, k",
    [(4.0, 0.25, None, [1, 0, 1, 1], 3), (4.0, 0.25, 2, "proposal", 2), (2.0, 1.0, 3, None, 4)],
)
def test_sampled_chains_follow_the_exact_law(alpha, tau, block, init, k):
    """Chi-square at level 0.001, Bonferroni over the 3 cases; cells with expected count < 5 pooled."""
    policy = _full_support_markov(11, vocab=2, horizon=4, concentration=0.7)
    n_chains = 20_000
    kw = {"proposal_temperature": tau, "block_size": block}
    law = ss.power_chain_law(policy, 0, alpha, [k], init=init, **kw).laws[0]
    res = ss.power_sample_mcmc(policy, [0], alpha, k, n_chains, rng=17, init=init, **kw)
    counts = np.bincount(ss.encode_sequences(res.samples[0], 2), minlength=16)
    expected = n_chains * law
    assert pooled_chisquare_pvalue(counts, expected) > 0.001 / 3


@given(autoregressive_policies(max_vocab=3, max_horizon=3), ALPHAS, TAUS, BLOCKS)
def test_karan_du_growth_schedule_law(policy, alpha, how, block):
    """G >= H is the plain chain; k = 0 is the start rule's law for every G; laws are laws."""
    tau = _tau(alpha, how)
    kw = {"proposal_temperature": tau, "block_size": block, "init": "proposal"}
    steps = [0, 1, 3]
    plain = ss.power_chain_law(policy, 0, alpha, steps, **kw)
    whole = ss.power_chain_law(policy, 0, alpha, steps, growth_block=policy.horizon, **kw)
    np.testing.assert_allclose(whole.laws, plain.laws, rtol=0, atol=1e-13)
    token = ss.token_temperature_law(policy, tau).probs[0]
    for growth in (1, 2):
        out = ss.power_chain_law(policy, 0, alpha, steps, growth_block=growth, **kw)
        np.testing.assert_allclose(out.laws[0], token, rtol=0, atol=1e-12)
        assert np.all(out.laws >= 0)
        np.testing.assert_allclose(out.laws.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("growth", [1, 2, 3])
def test_growth_schedule_converges_to_the_power_law_with_many_steps_per_stage(growth):
    """Each stage's chain mixes (full support), so with k -> ∞ the last stage's output is π^α."""
    policy = _full_support_markov(4, vocab=2, horizon=4)
    out = ss.power_chain_law(
        policy, 0, 3.0, [0, 2000], proposal_temperature=1 / 3, init="proposal", growth_block=growth
    )
    assert out.tv[0] > 0.01 and out.tv[1] < 1e-9


@pytest.mark.parametrize("alpha", [1e6, 1e300])
def test_astronomical_alpha_stays_finite_and_stationary(alpha):
    policy = ss.JointAutoregressivePolicy([[0.05, 0.4, 0.3, 0.25, 1e-200, 0.0, 0.0, 0.0]], 2, 3)
    for tau in (1.0, 1.0 / alpha):
        K = ss.power_chain_kernel(policy, 0, alpha, proposal_temperature=tau)
        assert np.all(np.isfinite(K))
        np.testing.assert_allclose(K.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        out = ss.power_chain_law(policy, 0, alpha, [0, 50], proposal_temperature=tau)
        np.testing.assert_array_equal(out.target, ss.power_law(policy, alpha).probs[0])
        np.testing.assert_allclose(out.target @ K, out.target, rtol=0, atol=1e-12)
        assert np.all(np.isfinite(out.tv)) and out.tv[1] <= out.tv[0]
    empty = ss.power_chain_law(policy, 0, alpha, [])
    assert empty.laws.shape == (0, 8) and empty.tv.shape == (0,)


# ------------------------------------------------------------------------- bad input


def test_power_chain_bad_inputs():
    policy = _full_support_markov(0)
    big = ss.MarkovPolicy(np.full((1, 10), 0.1), np.full((1, 3, 10, 10), 0.1))
    with pytest.raises(
        ValueError, match=r"V\*\*H = 10\*\*4 = 10000 states, more than max_states=4096"
    ):
        ss.power_chain_kernel(big, 0, 2.0, max_states=4096)
    huge = ss.MarkovPolicy(np.full((1, 11), 1 / 11), np.full((1, 3, 11, 11), 1 / 11))
    with pytest.raises(ValueError, match=f"more than max_states={MAX_CHAIN_STATES}"):
        ss.power_chain_law(huge, 0, 2.0, [1])
    with pytest.raises(ValueError, match="x must be a single prompt"):
        ss.power_chain_kernel(policy, [0], 2.0)
    with pytest.raises(ValueError, match=r"x entries must be in \[0, 1\)"):
        ss.power_chain_kernel(policy, 1, 2.0)
    with pytest.raises(ValueError, match=r"alpha must be in \[1.0"):
        ss.power_chain_kernel(policy, 0, 0.5)
    with pytest.raises(ValueError, match="proposal_temperature must be"):
        ss.power_chain_kernel(policy, 0, 2.0, proposal_temperature=0.0)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        ss.power_chain_kernel(policy, 0, 2.0, block_size=0)
    with pytest.raises(TypeError, match="policy must be an AutoregressivePolicy"):
        ss.power_chain_kernel(policy.to_tabular(), 0, 2.0)
    with pytest.raises(ValueError, match="steps must be a 1-d array of integers >= 0"):
        ss.power_chain_law(policy, 0, 2.0, [1, -1])
    with pytest.raises(ValueError, match="steps must be a 1-d array of integers >= 0"):
        ss.power_chain_law(policy, 0, 2.0, [1.5])
    with pytest.raises(ValueError, match='init must be None, "proposal" or one sequence'):
        ss.power_chain_law(policy, 0, 2.0, [1], init="base")
    with pytest.raises(ValueError, match="init must be one sequence of shape"):
        ss.power_chain_law(policy, 0, 2.0, [1], init=[[0, 0, 0, 0]])
    zero = ss.JointAutoregressivePolicy([[0.0, 0.4, 0.35, 0.25]], 2, 2)
    with pytest.raises(ValueError, match="init must have positive probability"):
        ss.power_chain_law(zero, 0, 2.0, [1], init=[0, 0])
    with pytest.raises(ValueError, match='with growth_block, init must be None or "proposal"'):
        ss.power_chain_law(policy, 0, 2.0, [1], init=[0, 0, 0, 0], growth_block=2)
    with pytest.raises(ValueError, match="growth_block must be >= 1"):
        ss.power_chain_law(policy, 0, 2.0, [1], growth_block=0)
    with pytest.raises(ValueError, match=r"eps must be in \(0.0, 1.0\)"):
        ss.power_chain_mixing(policy, 0, 2.0, eps=1.0)
    with pytest.raises(ValueError, match="max_steps must be >= 0"):
        ss.power_chain_mixing(policy, 0, 2.0, max_steps=-1)
