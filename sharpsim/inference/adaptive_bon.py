"""Adaptive best-of-N with the stopping rule of Eq. (10) and its exact stopping-time law (Appendix D).

* :func:`adaptive_best_of_n`: the sampler, drawing until
  ``k·max_{j≤k} π_base(y_j|x) ≥ μ_stop``;
* :func:`adaptive_best_of_n_expected_samples`: the exact mean ``E[N_μ(x)]``;
* :func:`adaptive_best_of_n_law`: the exact law of the pick (log-likelihood reward).

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951): Eq. (10), Theorem D.1, Lemma I.1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._validation import check_int, check_real
from ..policies.base import tie_group_starts, tie_threshold
from ..policies.tabular import TabularPolicy, as_tabular
from ..rewards import resolve_reward
from ._bon_common import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_DRAWS,
    _as_oracle,
    _Best,
    _best_position,
    _check_choice,
    _check_max_draws,
    _check_prompts,
    _check_tie_break,
    _checked_score,
    _empty_responses,
    _response_index,
)
from .bon_law import (
    _by_row_blocks,
    _group_log_mass,
    _log1mexp,
    _log_cdf_parts,
    _log_power_difference,
    _run_bounds,
    _spread_in_group,
    _unsort,
)

__all__ = [
    "AdaptiveBestOfNResult",
    "adaptive_best_of_n",
    "adaptive_best_of_n_expected_samples",
    "adaptive_best_of_n_law",
]


@dataclass(frozen=True)
class AdaptiveBestOfNResult:
    """Picks of adaptive best-of-N (Eq. 10) for ``k`` prompts.

    Attributes:
      responses: the picks, ``[k]`` or ``[k, H]``.
      log_probs: ``log π_base`` of the picks, ``[k]``.
      samples_per_prompt: the stopping times ``N_μ(x)`` (or the cap), int ``[k]``.
      queries: queries this call charged, ``samples_per_prompt.sum()`` (Def. D.1).
      stopped: bool ``[k]``; ``False`` where ``max_samples`` was reached first.
    """

    responses: np.ndarray
    log_probs: np.ndarray
    samples_per_prompt: np.ndarray
    queries: int
    stopped: np.ndarray


def _check_mu_stop(mu_stop) -> float:
    return check_real(mu_stop, "mu_stop", low=0.0, low_open=True)


# --------------------------------------------------------------------------- adaptive best-of-N (Eq. 10)


def _stop_threshold(log_p: np.ndarray, mu: float) -> np.ndarray:
    """``c(p)``: the least ``k`` with ``k·p ≥ μ``, i.e. ``1/p ≤ k/μ`` (Eq. 10); ``inf`` for ``p = 0``.

    ``k·p`` is a computed quantity, so it reaches ``μ`` when it is within the
    shared tolerance of it (:data:`~sharpsim.policies.base.TIE_RTOL`, compared
    in log space): ``log k + log p ≥ tie_threshold(log μ)``. On rational inputs
    with ``k·p = μ`` exactly the rule stops, however the product rounds. The
    sampler stops at draw ``k`` iff ``k ≥ c(max_{j≤k} p_j)`` and the exact laws
    use the same ``c``, so both agree even at floating-point boundaries.
    """
    p = np.exp(log_p)
    reach = math.exp(float(tie_threshold(math.log(mu))))  # μ lowered by the tie tolerance
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        c = np.ceil(reach / p)
        finite = np.isfinite(c)
        # ceil(reach/p) can be off by one from rounding; settle it on the predicate k·p ≥ reach itself.
        c = np.where(finite & (c > 1) & ((c - 1) * p >= reach), c - 1, c)
        c = np.where(finite & (c * p < reach), c + 1, c)
    return np.maximum(c, 1.0)


def adaptive_best_of_n(
    source,
    x,
    mu_stop,
    reward=None,
    max_samples=None,
    rng=None,
    tie_break="first",
    on_cap="raise",
    chunk_size=DEFAULT_CHUNK_SIZE,
    max_draws=DEFAULT_MAX_DRAWS,
) -> AdaptiveBestOfNResult:
    """Adaptive best-of-N with the stopping rule of Eq. (10) (Appendix D, Lemma I.1).

    For each prompt, draw ``y_1, y_2, ... ~ π_base(·|x)`` until
    ``1 / max_{j≤k} π_base(y_j|x) ≤ k / μ_stop`` (evaluated as ``k·max_j π_base(y_j|x) ≥ μ_stop``
    by the package's threshold rule, exact on rational inputs: see :func:`_stop_threshold`),
    then return the draw with the largest reward among the ``N_μ = k`` drawn
    (tie rule as in :func:`best_of_n`). Lemma I.1:
    ``E[N_μ] ≤ (μ_stop + 1/|y*|) / max_y π_base(y|x)`` and, for the
    log-likelihood reward, the pick misses ``y*(x)`` with probability
    ``≤ exp(-|y*(x)|·μ_stop)``.

    Prompts advance together in rounds of geometrically growing blocks (no loop
    over prompts). A block may run past a prompt's stopping time; those extra
    draws are discarded unseen — nothing returned depends on them — and only
    the ``N_μ`` draws used are charged to the oracle, so both the law of the
    picks and the count ``m = Σ N_μ`` (Definition D.1) are those of drawing one
    response at a time.

    Args:
      source: a :class:`~sharpsim.SampleEvaluateOracle` or a policy; an opaque
        base (``enumerable = False``) draws through ``sample_with_log_prob``
        when it has it and takes ``tie_break="first"``.
      x: int array ``[k]`` of prompts.
      mu_stop: stopping parameter ``μ_stop > 0`` (Theorem D.1 uses ``ln(2/δ)``).
      reward: ``None`` (log-likelihood) or a reward that is a fixed function of
        ``(x, y)``; the stopping rule always uses ``π_base``.
      max_samples: optional cap on the draws per prompt. A prompt reaching it
        before the rule fires raises ``RuntimeError`` (``on_cap="raise"``) or
        is flagged in ``result.stopped`` (``on_cap="flag"``); never silent.
      rng: seed or generator when ``source`` is a policy; ``None`` for an oracle.
      tie_break: ``"first"`` or ``"index"`` (needs an enumerable base).
      on_cap: ``"raise"`` or ``"flag"``.
      chunk_size: bound on the pairs drawn per round.
      max_draws: most responses drawn in this call (default ``10**10``, about
        ten minutes; ``None``: no cap). When even the first possible stop
        (``c(1) ≈ μ_stop`` draws per prompt) exceeds it, ``ValueError`` before
        any draw; when it runs out while prompts are still drawing, those
        prompts are capped like ``max_samples`` (``on_cap``).

    Returns:
      :class:`AdaptiveBestOfNResult`: ``responses``, ``log_probs``,
      ``samples_per_prompt`` ``[k]``, ``queries`` and ``stopped`` ``[k]``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.9, 0.1]])
      >>> res = ss.adaptive_best_of_n(pi, [0, 0, 0], mu_stop=1.0, rng=0)
      >>> res.responses.tolist(), res.samples_per_prompt.tolist(), res.queries
      ([0, 0, 0], [2, 2, 2], 6)
    """
    oracle = _as_oracle(source, rng)
    x = _check_prompts(x, oracle)
    mu = _check_mu_stop(mu_stop)
    reward = resolve_reward(reward)
    if reward.depends_on_group:
        raise ValueError("adaptive_best_of_n needs a reward that is a fixed function of (x, y)")
    max_samples = None if max_samples is None else check_int(max_samples, "max_samples", minimum=1)
    tie_break = _check_tie_break(tie_break, oracle.base)
    on_cap = _check_choice(on_cap, "on_cap", ("raise", "flag"))
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    max_draws = _check_max_draws(max_draws)
    first_stop = _stop_threshold(np.zeros(()), mu)  # no prompt can stop before draw c(1) ≈ ⌈μ⌉
    least = x.shape[0] * (first_stop if max_samples is None else min(first_stop, max_samples))
    if max_draws is not None and least > max_draws:
        raise ValueError(
            f"mu_stop = {mu:.6g} makes each of the {x.shape[0]} prompts draw at least {int(first_stop)} responses "
            f"({least:.4g} in all); at most max_draws = {max_draws}: lower mu_stop, set max_samples, or raise max_draws"
        )
    state = _AdaptiveState(x.shape[0])
    block = int(first_stop)
    oracle.check_request(x.shape[0] * (block if max_samples is None else min(block, max_samples)))
    active = np.arange(x.shape[0])
    while active.size:
        drawn = int(state.n_drawn[active[0]])  # active prompts have all drawn the same number
        size = min(block, max(1, chunk_size // active.size))
        if max_samples is not None:
            size = min(size, max_samples - drawn)
        if max_draws is not None:
            size = min(size, (max_draws - int(state.n_drawn.sum())) // active.size)
            if size < 1:
                state.budget_hit = max_draws
                break  # these prompts stay unstopped: raised or flagged by on_cap
        fired = state.advance(oracle, x, active, drawn, size, mu, reward, tie_break)
        active = active[~fired]
        if max_samples is not None and drawn + size >= max_samples:
            active = active[:0]
        block *= 2
    return state.result(oracle, on_cap, max_samples)


class _AdaptiveState:
    """Per-prompt state of the adaptive sampler: draws so far, running max ``log π``, best pick."""

    def __init__(self, k: int):
        self.n_drawn = np.zeros(k, np.int64)
        self.stopped = np.zeros(k, bool)
        self.log_max = np.full(k, -np.inf)
        self.best: _Best | None = None
        self.budget_hit = None  # max_draws, once it stopped the sampler

    def advance(self, oracle, x, active, drawn, size, mu, reward, tie_break) -> np.ndarray:
        """Draw a block for the active prompts; returns which of them stopped."""
        xa = x[active]
        y, lp = oracle._draw(xa, size)  # charged below: only the draws up to each stop
        run_max = np.maximum(self.log_max[active][:, None], np.maximum.accumulate(lp, axis=1))
        fire = (drawn + np.arange(1, size + 1)) >= _stop_threshold(run_max, mu)
        fired = fire.any(axis=1)
        used = np.where(fired, fire.argmax(axis=1) + 1, size)
        oracle.charge(int(used.sum()))
        valid = np.arange(size) < used[:, None]
        scores = _checked_score(reward, xa, y, lp)
        index = (
            _response_index(oracle.base, y)
            if tie_break == "index"
            else np.zeros(lp.shape, np.int64)
        )
        candidate = _Best.at(_best_position(scores, index, tie_break, valid), scores, y, lp, index)
        if self.best is None:
            self.best = candidate  # the first round covers every prompt
        else:
            self.best.update(candidate, tie_break, rows=active)
        self.log_max[active] = run_max[np.arange(active.size), used - 1]
        self.n_drawn[active] += used
        self.stopped[active] = fired
        return fired

    def result(self, oracle, on_cap: str, max_samples) -> AdaptiveBestOfNResult:
        capped = int(np.count_nonzero(~self.stopped))
        if capped and on_cap == "raise":
            cap = (
                f"max_samples={max_samples}"
                if self.budget_hit is None
                else f"max_draws={self.budget_hit} in all"
            )
            raise RuntimeError(
                f"{capped} of {self.stopped.size} prompts reached {cap} before the stopping "
                f"rule of Eq. (10) fired; pass on_cap='flag' to keep their best-so-far picks (result.stopped)"
            )
        if self.best is None and self.stopped.size and self.budget_hit is not None:
            raise RuntimeError(
                f"max_draws={self.budget_hit} left no draw for the {self.stopped.size} prompts"
            )
        if self.best is None:  # no prompts
            empty = _empty_responses(oracle.base)
            return AdaptiveBestOfNResult(empty, np.zeros(0), self.n_drawn, 0, self.stopped)
        return AdaptiveBestOfNResult(
            self.best.response,
            self.best.log_prob,
            self.n_drawn,
            int(self.n_drawn.sum()),
            self.stopped,
        )


def _adaptive_log_blocks(sorted_lp: np.ndarray, mu: float, leader_lp: np.ndarray):
    """Blocks ``B_i = Σ_{c_{i+1} < k ≤ c_i} S_i^{k-1}`` of ``E[N_μ] = Σ_{k≥1} P(N_μ ≥ k)``, in log space.

    Rows are sorted by ``log π`` ascending; ``c_i = c(π_i)`` (non-increasing)
    and ``S_i`` is the mass of the first ``i+1`` entries. ``N_μ ≥ k`` iff the
    first ``k-1`` draws all have ``c > k-1``, which has probability ``S_i^{k-1}``
    for ``c_{i+1} < k ≤ c_i``; the top entry contributes ``B = c_top`` (no draw
    can stop before ``c_top``).
    """
    c = _stop_threshold(leader_lp, mu)  # one threshold per tie group
    log_cdf, log_above = _log_cdf_parts(sorted_lp)
    c_here, c_next = c[:, :-1], c[:, 1:]
    log_s = log_cdf[:, :-1]
    with np.errstate(
        invalid="ignore", over="ignore"
    ):  # c·log S may overflow to -inf: S^c underflows to 0
        gap = np.where(c_here == c_next, 0.0, c_here - c_next)
        # Σ_{k=a+1}^{b} S^{k-1} = S^a (1 - S^{b-a}) / (1 - S), with 1 - S the exact suffix mass.
        head = np.where(log_s > -np.inf, c_next * log_s, -np.inf)
        tail = np.where(gap > 0, _log1mexp(np.where(gap > 0, gap, 1.0) * log_s), -np.inf)
    blocks = head + tail - log_above[:, :-1]
    return np.concatenate([blocks, np.log(c[:, -1:])], axis=1), c, log_cdf


def _adaptive_rows(log_probs: np.ndarray, mu: float):
    """Exact ``E[N_μ]`` ``[R]`` and log-law of the adaptive pick ``[R, Y]`` (log-likelihood reward)."""
    order = np.argsort(log_probs, axis=1, kind="stable")
    lp = np.take_along_axis(log_probs, order, axis=1)
    new_group = tie_group_starts(lp)  # levels of π: values equal up to TIE_RTOL
    start, end = _run_bounds(new_group)
    log_blocks, c, log_cdf = _adaptive_log_blocks(lp, mu, np.take_along_axis(lp, end, axis=1))
    expected = np.exp(logsumexp(log_blocks, axis=1))
    log_mass = _group_log_mass(lp, new_group)
    stop_at_c = _log_power_difference(np.take_along_axis(log_cdf, end, axis=1), log_mass, c)
    below = np.logaddexp.accumulate(log_blocks, axis=1)
    log_t = np.where(
        start > 0, np.take_along_axis(below, np.maximum(start - 1, 0), axis=1), -np.inf
    )
    log_group_law = np.logaddexp(stop_at_c, log_mass + log_t)
    return expected, _unsort(_spread_in_group(log_group_law, lp, log_mass), order)


def adaptive_best_of_n_expected_samples(pi, mu_stop) -> np.ndarray:
    """Exact ``E[N_μ(x)]`` of the stopping time of Eq. (10), per prompt.

    With ``c(p) = min{k : k·p ≥ μ_stop}``, sampling stops at the first ``k``
    with ``k ≥ c(max_{j≤k} π(y_j|x))``, so ``P(N_μ ≥ k)`` is the probability that
    the first ``k-1`` draws all have ``c > k-1``: ``S_k^{k-1}`` with ``S_k`` the
    mass of those responses. ``S_k`` is piecewise constant in ``k``, so
    ``E[N_μ] = Σ_k P(N_μ ≥ k)`` is a finite sum of geometric series, summed in
    log space (tiny masses make some pieces astronomically long). Compare
    Lemma I.1: ``E[N_μ] ≤ (μ_stop + 1/|y*(x)|) / max_y π(y|x)``.

    Args:
      pi: base policy ``[n_contexts, n_responses]``.
      mu_stop: ``μ_stop > 0``.

    Returns:
      float array ``[n_contexts]``.

    Example:
      >>> import sharpsim as ss
      >>> pi = ss.TabularPolicy([[0.9, 0.1]])
      >>> adaptive_best_of_n_expected_samples(pi, 1.0).round(6).tolist()   # 2 + Σ_{k=2}^{9} 0.1^k
      [2.011111]
    """
    tab = as_tabular(pi, "pi")
    mu = _check_mu_stop(mu_stop)
    expected = _by_row_blocks(lambda lp: _adaptive_rows(lp, mu)[0][:, None], tab.log_probs)
    return expected[:, 0]


def adaptive_best_of_n_law(pi, mu_stop) -> TabularPolicy:
    """Exact law ``π^AdaBoN_μ(·|x)`` of the adaptive best-of-N pick (Eq. 10, Assumption D.1).

    Log-likelihood reward, ``tie_break="first"`` (the pick is uniform over the
    drawn maximal level, as in :func:`best_of_n_law`). For a level ``v`` of
    ``π(·|x)`` (responses with probability ``v``, equal up to the package's tie
    rule, :data:`~sharpsim.policies.base.TIE_RTOL`; ``c`` is that of the level's leader), with ``c = c(v)`` as in
    :func:`adaptive_best_of_n_expected_samples`, ``G(v)``/``G_<(v)`` the mass
    of responses with probability ``≤ v`` / ``< v`` and ``m_v = G(v) - G_<(v)``:
    stopping exactly at ``c`` with maximum ``v`` has probability
    ``G(v)^c - G_<(v)^c``; stopping later at ``k > c`` means the first ``k-1``
    draws had ``c > k-1`` (all below ``v``) and draw ``k`` is in level ``v``:
    ``m_v·P(N_μ ≥ k)``. So
    ``P(level v) = G(v)^c - G_<(v)^c + m_v·Σ_{k>c} P(N_μ ≥ k)``.

    Args:
      pi: base policy ``[n_contexts, n_responses]``.
      mu_stop: ``μ_stop > 0``.

    Returns:
      :class:`~sharpsim.TabularPolicy` ``[n_contexts, n_responses]``; its
      mass off ``y*(x)`` is at most ``exp(-|y*(x)|·μ_stop)`` (Lemma I.1).

    Example:
      >>> import sharpsim as ss
      >>> law = adaptive_best_of_n_law(ss.TabularPolicy([[0.9, 0.1]]), 1.0)
      >>> float(law.probs[0, 1].round(15))   # only if the first ten draws all give the 0.1 response
      1e-10
    """
    tab = as_tabular(pi, "pi")
    mu = _check_mu_stop(mu_stop)
    return TabularPolicy.from_log_probs(
        _by_row_blocks(lambda lp: _adaptive_rows(lp, mu)[1], tab.log_probs)
    )
