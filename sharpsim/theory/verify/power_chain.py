"""``verify`` row for the power sampler's chain (SPEC §11): ``π^α`` is stationary, the sampler is the kernel.

:func:`check_power_chain` builds the exact kernel of
:func:`~sharpsim.power_sample_mcmc` on seeded random Markov worlds (with
Karan & Du's proposal temperature ``1/α``, the base model as proposal, and
block cuts) and checks, against a ``π^α`` computed here from the enumerated
base model, that rows sum to 1, that detailed balance holds (so
``π^α K = π^α``), and that chains run by the sampler have the exact law
``π K^k`` (chi-square at a stated level, Bonferroni over worlds).

Its mutants (merged into :data:`~sharpsim.theory.verify.mutants.MUTANTS` and
``KILLS``): a kernel whose acceptance ignores the proposal temperature, a
kernel with the exponent ``α - 1`` in place of ``α``, and a sampler whose
acceptance ignores the proposal temperature.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.special import logsumexp

from ...inference import power as _power
from ...inference import power_chain as _chain
from ...policies import MarkovPolicy, encode_sequences
from .mutants import Mutant
from .report import CheckResult

ROUND_OFF = 1e-9

#: ``(α, τ as a function of α, block size, MH steps)`` per world.
CASES = ((4.0, "1/alpha", None, 2), (3.0, "1/alpha", 2, 2), (2.5, "1", None, 3))


def _world(rng, vocab: int = 2, horizon: int = 3) -> MarkovPolicy:
    initial = rng.dirichlet(np.full(vocab, 0.6), size=1)
    transition = rng.dirichlet(np.full(vocab, 0.6), size=(1, horizon - 1, vocab))
    return MarkovPolicy(initial, transition)


def check_power_chain(tk, rng, quick: bool, level: float = 1e-3) -> CheckResult:
    """SPEC §11: ``π^α K = π^α`` by detailed balance, and the sampler's k-step law is ``π K^k``."""
    n_chains = 20000 if quick else 100000
    worst_balance, p_values = 0.0, []
    for alpha, how, block, k in CASES:
        policy = _world(rng)
        tau = 1.0 / alpha if how == "1/alpha" else 1.0
        log_base = policy.to_tabular().log_probs[0]
        target = np.exp(alpha * log_base - logsumexp(alpha * log_base))
        K = tk.power_chain_kernel(policy, 0, alpha, proposal_temperature=tau, block_size=block)
        flow = target[:, None] * K
        worst_balance = max(
            worst_balance,
            float(np.abs(K.sum(axis=1) - 1.0).max()),
            float(np.abs(flow - flow.T).max()),
            float(np.abs(target @ K - target).max()),
        )
        law = np.exp(log_base) @ np.linalg.matrix_power(K, k)
        chains = tk.power_sample_mcmc(
            policy, [0], alpha, k, n_chains, rng=rng, proposal_temperature=tau, block_size=block
        )
        counts = np.bincount(encode_sequences(chains.samples[0], 2), minlength=law.shape[0])
        p_values.append(_pvalue(counts, n_chains * law))
    threshold = level / len(CASES)  # Bonferroni over worlds
    passed = worst_balance <= ROUND_OFF and min(p_values) > threshold
    return CheckResult(
        "Power chain (SPEC §11)",
        f"exact MH kernel: π^α stationary; sampler vs π K^k, {n_chains} chains x {len(CASES)} worlds",
        f"balance err {worst_balance:.1e}, min p {min(p_values):.3g}",
        f"<= {ROUND_OFF:g}; p > {threshold:g} (level {level:g}, Bonferroni)",
        passed,
        kind="statistical",
        numbers={"balance_error": worst_balance, "p_values": p_values},
    )


def _pvalue(counts: np.ndarray, expected: np.ndarray) -> float:
    """Chi-square p-value, cells of expected count < 5 pooled; a draw of a null cell gives 0."""
    if np.any(counts[expected == 0] > 0):
        return 0.0
    small = expected < 5
    f_obs, f_exp = counts[~small], expected[~small]
    if expected[small].sum() > 0:
        f_obs = np.append(f_obs, counts[small].sum())
        f_exp = np.append(f_exp, expected[small].sum())
    return float(stats.chisquare(f_obs, f_exp).pvalue)


# ------------------------------------------------------------------------ mutants


def _kernel_ignores_temperature(policy, x, alpha, *, proposal_temperature=1.0, block_size=None):
    """Tempered proposals, but the acceptance ``(π(y')/π(y))^(α-1)`` of the untempered sampler."""
    tok_p, tok_q, alpha, cuts = _chain._chain_inputs(
        policy, x, alpha, proposal_temperature, block_size, _chain.MAX_CHAIN_STATES
    )
    kernel = _chain.proposal_matrix(tok_q, policy.vocab_size, cuts)
    log_p = tok_p.sum(axis=0)
    _chain.apply_acceptance(kernel, log_p, log_p, alpha)  # q taken to be π in the ratio
    return kernel


def _kernel_wrong_exponent(policy, x, alpha, *, proposal_temperature=1.0, block_size=None):
    """Acceptance ``min(1, π^(α-1)(y') q(y) / (π^(α-1)(y) q(y')))``: the target is ``π^(α-1)``."""
    tok_p, tok_q, alpha, cuts = _chain._chain_inputs(
        policy, x, alpha, proposal_temperature, block_size, _chain.MAX_CHAIN_STATES
    )
    return _chain.kernel_from_token_log_probs(tok_p, tok_q, alpha - 1.0, policy.vocab_size, cuts)


def _sampler_ignores_temperature(
    policy,
    x,
    alpha,
    n_steps,
    n_chains=1,
    rng=None,
    init=None,
    *,
    proposal_temperature=1.0,
    block_size=None,
):
    """Proposals at temperature ``τ``, accepted with ``(π(y')/π(y))^(α-1)`` as if ``τ = 1``."""
    x = policy._check_prompts(x)
    tau = _power.check_proposal_temperature(proposal_temperature)
    cuts = _power.cut_points(policy.horizon, block_size)
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    prompts = np.repeat(x, n_chains)
    state = _power._initial_states(policy, prompts, init, x.shape[0], n_chains, rng, tau)
    log_p = policy._sequence_log_probs(prompts, state)
    accepted = np.zeros(prompts.shape[0], dtype=np.int64)
    for _ in range(n_steps):
        start = cuts[rng.integers(0, cuts.shape[0], size=prompts.shape[0])]
        proposal = policy._resample_suffix(prompts, state.copy(), start, rng, tau)
        new_p = policy._sequence_log_probs(prompts, proposal)
        accept = np.log1p(-rng.random(prompts.shape[0])) <= (alpha - 1.0) * (new_p - log_p)
        state[accept], log_p[accept] = proposal[accept], new_p[accept]
        accepted += accept
    return _power._mcmc_result(
        state, accepted, x.shape[0], n_chains, n_steps, alpha, tau, block_size
    )


POWER_CHAIN_MUTANTS = (
    Mutant(
        "power_kernel_ignores_temperature",
        "power_chain_kernel",
        "tempered proposals accepted with (π(y')/π(y))^(α-1), the τ = 1 ratio",
        _kernel_ignores_temperature,
    ),
    Mutant(
        "power_kernel_wrong_exponent",
        "power_chain_kernel",
        "acceptance with π^(α-1) in place of π^α",
        _kernel_wrong_exponent,
    ),
    Mutant(
        "power_sampler_ignores_temperature",
        "power_sample_mcmc",
        "sampler: tempered proposals accepted with the τ = 1 ratio",
        _sampler_ignores_temperature,
    ),
)

#: The mutants :func:`check_power_chain` FAILS on.
POWER_CHAIN_KILLS = {
    "check_power_chain": tuple(m.name for m in POWER_CHAIN_MUTANTS),
}

POWER_CHAIN_CHECKS = (check_power_chain,)
