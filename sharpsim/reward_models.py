"""Imperfect self-rewards: a true reward ``r*`` and the proxy ``r̂`` an algorithm sees (SPEC §11).

Huang, Block, Liu, Jiang, Krishnamurthy, Foster (ICML 2025, arXiv 2503.21878)
study inference-time alignment when the reward is a proxy: per prompt a
reference ``π_ref``, a true reward ``r* ∈ [0, 1]`` and a proxy ``r̂ ∈ [0, 1]``
with error ``ε²(x) = E_{y∼π_ref}[(r̂ − r*)²]``. A :class:`RewardModel` pairs
the two tables ``[n_contexts, n_responses]``; it *is* a reward object (``table``
and ``score`` return the proxy), so ``best_of_n_law(pi, n, reward=rm)`` and the
samplers see only ``r̂``, while :meth:`RewardModel.value` and
:meth:`RewardModel.regret` score with ``r*``.

Coverage of a comparator ``π*``: ``C_∞ = max_y π*(y)/π_ref(y)`` and
``C_1 = E_{π*}[π*/π_ref] = 1 + χ²(π*‖π_ref)`` (:func:`comparator_coverage`).

Proxies built from sharpsim's self-rewards (:func:`self_reward_model`), each
mapped to ``[0, 1]`` by the *likelihood ratio to the row's best*
``φ(v) = exp(v − max_y v)`` (:func:`normalized_log_likelihood`; zero-mass
responses get 0):

* ``"length_normalized"``: ``r* = φ(log π)`` and ``r̂ = φ(log π / |y|)``;
* ``"perturbed"``: ``r* = φ(log π)`` and ``r̂ = φ(log π + σ·Z)``, ``Z`` standard
  normal per response (a smaller model's likelihood, say);
* ``"majority"``: ``r*`` the population answer mass (``MajorityVoteReward.table``)
  and ``r̂`` the answer frequency among ``k`` fixed draws of ``π``.

:func:`adversarial_reward_model` spends a fixed error budget ``ε²`` on the
rarest responses, where best-of-N with large ``N`` finds it.

References:
  Huang et al., "Is Best-of-N the Best of Them? Coverage, Scaling, and
  Optimality in Inference-Time Alignment", ICML 2025 (arXiv 2503.21878).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ._validation import as_real_array, check_int, check_mu, check_real, check_rng
from .policies.base import canonical_ties
from .policies.tabular import TabularPolicy, as_tabular
from .rewards import LengthNormalizedReward, MajorityVoteReward, TableReward

__all__ = [
    "RewardModel",
    "comparator_coverage",
    "optimal_comparator",
    "normalized_log_likelihood",
    "self_reward_model",
    "adversarial_reward_model",
]


def _check_unit_table(values, name: str) -> np.ndarray:
    arr = as_real_array(values, name)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty array [n_contexts, n_responses]; got shape {arr.shape}"
        )
    if np.any(np.isnan(arr)) or arr.min() < 0.0 or arr.max() > 1.0:
        bad = arr[np.isnan(arr) | (arr < 0) | (arr > 1)].ravel()[0]
        raise ValueError(f"{name} entries must be in [0, 1]; got {bad}")
    return arr.copy()


class RewardModel:
    """A true reward ``r*`` and its proxy ``r̂``, tables ``[n_contexts, n_responses]`` in ``[0, 1]``.

    As a reward object (``table``, ``score``) it reveals only the proxy, so the
    exact laws and samplers of best-of-N and :func:`~sharpsim.chi2_regularized`
    optimise ``r̂``; :meth:`value` and :meth:`regret` score with ``r*``.

    Args:
      true: ``r*`` ``[n_contexts, n_responses]``, entries in ``[0, 1]``.
      proxy: ``r̂``, same shape, entries in ``[0, 1]``.
      name: a label for figures and reports.

    Example:
      >>> import sharpsim as ss
      >>> rm = ss.RewardModel([[1.0, 0.0, 0.0]], [[0.5, 0.0, 1.0]])
      >>> ref = ss.TabularPolicy([[0.5, 0.3, 0.2]])
      >>> rm.error(ref).round(3).tolist()      # 0.5·0.25 + 0.2·1
      [0.325]
      >>> round(rm.regret(ss.best_of_n_law(ref, 2, reward=rm), ref), 4)   # BoN picks y=2 w.p. 0.36
      0.45
    """

    depends_on_group = False

    def __init__(self, true, proxy, name: str = "reward model"):
        self.true = _check_unit_table(true, "true")
        self.proxy = _check_unit_table(proxy, "proxy")
        if self.true.shape != self.proxy.shape:
            raise ValueError(
                f"proxy must have the shape of true {self.true.shape}; got {self.proxy.shape}"
            )
        self.name = str(name)
        self._table_reward = TableReward(self.proxy)

    @property
    def shape(self) -> tuple[int, int]:
        return self.true.shape

    def _ref(self, pi, name: str = "pi") -> TabularPolicy:
        tab = as_tabular(pi, name)
        if tab.probs.shape != self.shape:
            raise ValueError(
                f"{name} must have shape {self.shape} to match the reward model; got {tab.probs.shape}"
            )
        return tab

    # --- the reward-object view: the proxy only ---
    def table(self, base) -> np.ndarray:
        """The proxy ``r̂`` ``[n_contexts, n_responses]`` (checked against ``base``'s shape)."""
        self._ref(base, "base")
        return self.proxy

    def score(self, x, y, log_prob) -> np.ndarray:
        """``r̂[x, y]`` of sampled responses ``y [k, N]``; float ``[k, N]``."""
        return self._table_reward.score(x, y, log_prob)

    # --- exact quantities ---
    def error(self, pi) -> np.ndarray:
        """``ε²(x) = E_{y∼π_ref}[(r̂ − r*)²]`` per prompt, float ``[n_contexts]``."""
        tab = self._ref(pi)
        return np.einsum("xy,xy->x", tab.probs, (self.proxy - self.true) ** 2)

    def mean_error(self, pi, mu=None) -> float:
        """``E_{x∼μ}[ε²(x)]`` (``mu=None``: uniform)."""
        tab = self._ref(pi)
        return float(check_mu(mu, tab.n_contexts) @ self.error(tab))

    def value(self, policy, which: str = "true") -> np.ndarray:
        """``J(π)(x) = E_{y∼π}[r(y)]`` per prompt with ``r = r*`` (``"true"``) or ``r̂`` (``"proxy"``), ``[n_contexts]``."""
        table = {"true": self.true, "proxy": self.proxy}.get(which)
        if table is None:
            raise ValueError(f"which must be 'true' or 'proxy'; got {which!r}")
        return np.einsum("xy,xy->x", self._ref(policy, "policy").probs, table)

    def regret(self, policy, pi, comparator=None, mu=None) -> float:
        """``E_{x∼μ}[J(π*)(x) − J(π̂)(x)]`` under ``r*``.

        Args:
          policy: the output law ``π̂`` ``[n_contexts, n_responses]``.
          pi: the reference ``π_ref`` (used for the default comparator).
          comparator: ``π*``; default :func:`optimal_comparator` (argmax of ``r*``, split ∝ ``π_ref``).
          mu: prompt distribution (``None``: uniform).
        """
        ref = self._ref(pi)
        comp = (
            optimal_comparator(ref, self)
            if comparator is None
            else self._ref(comparator, "comparator")
        )
        gap = self.value(comp) - self.value(policy)
        return float(check_mu(mu, ref.n_contexts) @ gap)

    def __repr__(self) -> str:
        return f"RewardModel(name={self.name!r}, shape={self.shape})"


def _true_table(reward) -> np.ndarray:
    return reward.true if isinstance(reward, RewardModel) else _check_unit_table(reward, "true")


def optimal_comparator(pi, true) -> TabularPolicy:
    """The comparator ``π*``: ``π_ref`` restricted to the arg-max set of ``r*`` (ties by the package rule).

    Args:
      pi: reference ``π_ref`` ``[n_contexts, n_responses]``.
      true: a :class:`RewardModel` or the table ``r*``.

    Returns:
      :class:`~sharpsim.TabularPolicy`; responses of zero ``π_ref`` mass are never chosen.

    Example:
      >>> import sharpsim as ss
      >>> optimal_comparator(ss.TabularPolicy([[0.2, 0.2, 0.6]]), [[1.0, 1.0, 0.0]]).probs.tolist()
      [[0.5, 0.5, 0.0]]
    """
    ref = as_tabular(pi, "pi")
    r = _true_table(true)
    if r.shape != ref.probs.shape:
        raise ValueError(f"true must have shape {ref.probs.shape}; got {r.shape}")
    r = canonical_ties(np.where(ref.probs > 0, r, -np.inf))
    top = r == r.max(axis=1, keepdims=True)
    log_p = np.where(top, ref.log_probs, -np.inf)
    return TabularPolicy.from_log_probs(log_p - logsumexp(log_p, axis=1, keepdims=True))


def comparator_coverage(comparator, pi) -> tuple[np.ndarray, np.ndarray]:
    """Coverage of ``π*`` by ``π_ref``: ``(C_∞, C_1)`` per prompt, each float ``[n_contexts]``.

    ``C_∞ = max_y π*(y)/π_ref(y)`` and ``C_1 = Σ_y π*(y)²/π_ref(y) = 1 + χ²(π*‖π_ref)``,
    computed in log space; ``inf`` where ``π*`` puts mass outside ``π_ref``'s support.
    ``1 ≤ C_1 ≤ C_∞`` always (``C_1`` is a ``π*``-average of the ratio).

    Example:
      >>> import sharpsim as ss
      >>> c_inf, c_1 = comparator_coverage(ss.TabularPolicy([[1.0, 0.0]]), ss.TabularPolicy([[0.25, 0.75]]))
      >>> c_inf.tolist(), c_1.tolist()
      ([4.0], [4.0])
    """
    comp, ref = as_tabular(comparator, "comparator"), as_tabular(pi, "pi")
    if comp.probs.shape != ref.probs.shape:
        raise ValueError(f"comparator must have shape {ref.probs.shape}; got {comp.probs.shape}")
    on = comp.log_probs > -np.inf
    with np.errstate(invalid="ignore"):
        log_ratio = np.where(on, comp.log_probs - ref.log_probs, -np.inf)
    c_inf = np.exp(log_ratio.max(axis=1))
    c_1 = np.exp(logsumexp(np.where(on, comp.log_probs + log_ratio, -np.inf), axis=1))
    return c_inf, c_1


def normalized_log_likelihood(log_values) -> np.ndarray:
    """``φ(v) = exp(v − max_y v)`` per row: a log-score mapped to ``[0, 1]``, 1 at the row's best, 0 at ``-inf``.

    Example:
      >>> normalized_log_likelihood([[np.log(0.5), np.log(0.25), -np.inf]]).tolist()
      [[1.0, 0.5, 0.0]]
    """
    v = as_real_array(log_values, "log_values")
    if v.ndim != 2 or np.any(np.isnan(v)) or np.any(v == np.inf):
        raise ValueError("log_values must be a 2-d array without NaN or +inf")
    top = v.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return np.where(v > -np.inf, np.exp(v - np.where(top > -np.inf, top, 0.0)), 0.0)


_PROXIES = ("length_normalized", "perturbed", "majority")


def self_reward_model(
    base, proxy: str, *, end_token=None, sigma=None, answers=None, k=None, rng=None
):
    """A :class:`RewardModel` whose proxy is one of sharpsim's self-rewards (module docstring gives the maps).

    Args:
      base: the base policy (``π_ref``); autoregressive for ``"length_normalized"``.
      proxy: ``"length_normalized"`` (needs ``end_token``), ``"perturbed"``
        (needs ``sigma >= 0``), or ``"majority"`` (needs ``answers``, as for
        :class:`~sharpsim.MajorityVoteReward`, and ``k >= 1`` draws).
      rng: randomness of the perturbation / the ``k`` draws.

    Returns:
      :class:`RewardModel` with tables ``[n_contexts, n_responses]``.

    Example:
      >>> import sharpsim as ss
      >>> ref = ss.TabularPolicy([[0.5, 0.3, 0.2]])
      >>> rm = self_reward_model(ref, "majority", answers=[[0, 1, 1]], k=4, rng=0)
      >>> rm.true.tolist(), rm.proxy.shape
      ([[0.5, 0.5, 0.5]], (1, 3))
    """
    if proxy not in _PROXIES:
        raise ValueError(f"proxy must be one of {_PROXIES}; got {proxy!r}")
    tab = as_tabular(base, "base")
    rng = check_rng(rng)
    if proxy == "majority":
        if answers is None:
            raise ValueError("answers is required for proxy='majority'")
        k = check_int(k, "k", minimum=1)
        vote = MajorityVoteReward(answers)
        x = np.arange(tab.n_contexts)
        draws = tab.sample(x, k, rng=rng)
        ids = vote._table_ids(base, tab.n_contexts, tab.n_responses)
        drawn_ids = ids[x[:, None], draws]
        freq = (ids[:, :, None] == drawn_ids[:, None, :]).mean(axis=2)
        return RewardModel(vote.table(base), freq, name=f"majority vote, k={k}")
    true = normalized_log_likelihood(tab.log_probs)
    if proxy == "length_normalized":
        if end_token is None:
            raise ValueError("end_token is required for proxy='length_normalized'")
        scores = LengthNormalizedReward(end_token).table(base)
        return RewardModel(true, normalized_log_likelihood(scores), name="length-normalised")
    sigma = check_real(sigma, "sigma", low=0.0)
    noisy = tab.log_probs + sigma * rng.standard_normal(tab.log_probs.shape)
    return RewardModel(true, normalized_log_likelihood(noisy), name=f"perturbed, sigma={sigma:g}")


def adversarial_reward_model(pi, true, eps, n_rare: int) -> RewardModel:
    """Spend the error budget ``ε²`` on the ``n_rare`` least likely responses, pushing ``r̂`` up.

    Per prompt, the ``n_rare`` responses of smallest positive ``π_ref`` mass
    (arg-max responses of ``r*`` excluded) each get an equal share: ``r̂ = r* + Δ_y``
    with ``Δ_y = min(1 − r*(y), ε/√(n_rare·π_ref(y)))``, so ``π_ref(y)Δ_y² ≤ ε²/n_rare``
    and ``E_{π_ref}(r̂ − r*)² ≤ ε²`` (less where the cap 1 bites). The rarer the
    response the larger its error: best-of-N with ``N ≈ 1/π_ref(y)`` finds it
    (error ``≈ ε√(N/n_rare)``, SPEC §11).

    Args:
      pi: reference ``π_ref`` ``[n_contexts, n_responses]``.
      true: ``r*`` table in ``[0, 1]``.
      eps: error level ``ε >= 0``.
      n_rare: number of corrupted responses per prompt, ``>= 1``.

    Example:
      >>> import sharpsim as ss
      >>> ref = ss.TabularPolicy([[0.9, 0.09, 0.01]])
      >>> rm = adversarial_reward_model(ref, [[1.0, 0.5, 0.0]], eps=0.05, n_rare=1)
      >>> rm.proxy.round(3).tolist(), bool(rm.error(ref)[0] <= 0.05**2 + 1e-15)
      ([[1.0, 0.5, 0.5]], True)
    """
    ref = as_tabular(pi, "pi")
    r = _check_unit_table(true, "true")
    if r.shape != ref.probs.shape:
        raise ValueError(f"true must have shape {ref.probs.shape}; got {r.shape}")
    eps = check_real(eps, "eps", low=0.0)
    n_rare = check_int(n_rare, "n_rare", minimum=1)
    eligible = (ref.probs > 0) & ~(optimal_comparator(ref, r).probs > 0)
    key = np.where(eligible, ref.probs, np.inf)
    order = np.argsort(key, axis=1, kind="stable")[:, :n_rare]
    rows = np.arange(ref.n_contexts)[:, None]
    chosen = eligible[rows, order]
    p = ref.probs[rows, order]
    with np.errstate(divide="ignore"):
        delta = np.where(chosen, np.minimum(1.0 - r[rows, order], eps / np.sqrt(n_rare * p)), 0.0)
    proxy = r.copy()
    proxy[rows, order] += delta
    return RewardModel(r, np.minimum(proxy, 1.0), name=f"adversarial, eps={eps:g}")
