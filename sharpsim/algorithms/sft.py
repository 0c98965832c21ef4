"""SFT-Sharpening and adaptive SFT-Sharpening (Section 2.1, Theorem 4.1, Appendix D).

SFT-Sharpening draws ``n`` prompts ``x ~ μ`` through the sample-and-evaluate
oracle, ``N`` responses each, keeps the best-of-N pick under the self-reward
and fits the model class by maximum likelihood on the picks. The adaptive
variant (Theorem D.1) replaces the fixed ``N`` by the stopping rule of
Eq. (10) with ``μ_stop = ln(2/δ)``.

For the tabular class the expected sharpening error of SFT is a finite
binomial sum, computed exactly in :mod:`.sft_error` (:func:`expected_sft_error`,
its ``n → ∞`` limit :func:`sft_error_plateau`; importable from here too).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_real
from ..inference.adaptive_bon import (
    adaptive_best_of_n,
    adaptive_best_of_n_law,
)
from ..inference.bon_law import best_of_n_law
from ..inference.bon_sampling import best_of_n
from ..oracle import SampleEvaluateOracle
from ..policies import as_tabular
from ..policies.base import is_enumerable
from .parameters import adaptive_mu_stop
from .result import (
    SharpeningResult,
    check_model_class,
    realizability_check_wanted,
    resolve_seed,
    solver_options,
    solver_rng,
)
from .result import check_realizable as _assert_realizable
from .sft_error import (  # noqa: F401  (the exact errors, importable from here as before)
    MAX_VISIT_CELLS,
    _check_choice,
    bon_mode_mass,
    expected_adaptive_sft_error,
    expected_sft_error,
    sft_error_plateau,
)

#: Most prompts one SFT run holds in memory (prompts, picks and their log-likelihoods: about
#: 1.6 GB for tabular responses); ``n`` above it is a ValueError before anything is drawn.
MAX_PROMPTS = 1 << 26


def _check_n_prompts(n) -> int:
    n = check_int(n, "n", minimum=1)
    if n > MAX_PROMPTS:
        raise ValueError(
            f"n = {n} prompts must each be held in memory (prompt, pick, log-likelihood); at most "
            f"MAX_PROMPTS = {MAX_PROMPTS}. For the tabular class, expected_sft_error gives the exact "
            f"expected error at any n"
        )
    return n


def sft_sharpening(
    base,
    n: int,
    N: int,
    model_class,
    mu=None,
    rng=None,
    *,
    reward=None,
    bon_method: str | None = None,
    tie_break: str = "first",
    keep_data: bool = False,
    check_realizable: bool | None = False,
) -> SharpeningResult:
    """SFT-Sharpening: maximum likelihood on best-of-N picks (Section 2.1, Theorem 4.1).

    ``π̂ = argmax_{π∈Π} Σ_i log π(y_i^BoN | x_i)`` with ``y_i^BoN`` the
    self-reward maximiser among ``N`` responses ``y ~ π_base(·|x_i)``.

    Args:
      base: the base policy ``π_base`` (reached only through the oracle); an
        opaque one (``enumerable = False``, a real LM: see
        :class:`~sharpsim.policies.base.Policy`) needs ``bon_method="faithful"``
        (its default), ``tie_break="first"`` and no realizability check.
      n: number of prompts ``x_i ~ μ`` (``>= 1``).
      N: responses per prompt (``>= 1``).
      model_class: a class with ``fit_mle(x, y, weights=None) -> policy``.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      rng: ``None``, an int seed or a ``numpy.random.Generator``.
      reward: self-reward object (``None``: log-likelihood, Eq. (2)).
      bon_method: ``"law"`` draws each pick from the exact BoN law (simulation
        shortcut, charged ``N`` queries per prompt; needs an enumerable base);
        ``"faithful"`` draws the ``N`` responses. Both count ``m = n·N``.
        ``None`` (default) is ``"law"`` for an enumerable base and
        ``"faithful"`` for an opaque one.
      tie_break: tie rule of the BoN pick (see ``best_of_n``).
      keep_data: keep ``x``, the picks and their base log-likelihoods in ``.data``.
      check_realizable: raise ``ValueError`` unless ``model_class.contains``
        accepts the BoN law (Assumption 4.1). Off by default because SFT is
        routinely run misspecified (e.g. a linear class on Example J.1);
        ``True`` needs an enumerable base, ``None`` checks when it can.

    Returns:
      :class:`SharpeningResult` with ``queries == n·N`` and
      ``samples_per_prompt`` ``[n]`` filled with ``N``; ``diagnostics`` holds
      ``bon_log_prob_mean`` (average ``log π_base`` of the picks, Fig. 4).

    Raises:
      ValueError: ``n > MAX_PROMPTS`` (``2**26``; checked before anything is
        drawn); ``bon_method="law"``, ``tie_break="index"`` or
        ``check_realizable=True`` with an opaque base.

    Example:
      >>> import sharpsim as ss
      >>> base = ss.TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
      >>> res = ss.sft_sharpening(base, 50, 8, ss.TabularClass(2, 3), rng=0)
      >>> res.queries, res.policy.probs.argmax(axis=1).tolist()
      (400, [0, 1])
    """
    n = _check_n_prompts(n)
    N = check_int(N, "N", minimum=1)
    bon_method = _resolve_bon_method(bon_method, base)
    check_model_class(model_class, base, "fit_mle")
    if realizability_check_wanted(check_realizable, model_class, base):
        _check_bon_realizable(model_class, base, N, reward, tie_break)
    gen, seed = resolve_seed(rng)
    oracle = SampleEvaluateOracle(base, mu, rng=gen)
    x = oracle.draw_prompts(n)
    bon = best_of_n(oracle, x, N, reward=reward, method=bon_method, tie_break=tie_break)
    policy = _fit_mle(model_class, x, bon.responses, seed)
    return SharpeningResult(
        policy=policy,
        queries=oracle.queries,
        seed=seed,
        data=_data(keep_data, x, bon),
        diagnostics={"bon_log_prob_mean": float(np.mean(bon.log_probs))},
        samples_per_prompt=np.full(n, N, dtype=np.int64),
    )


def adaptive_sft_sharpening(
    base,
    n: int,
    delta: float,
    model_class,
    mu=None,
    rng=None,
    *,
    mu_stop: float | None = None,
    max_samples: int | None = None,
    on_cap: str = "raise",
    keep_data: bool = False,
    check_realizable: bool | None = False,
) -> SharpeningResult:
    """Adaptive SFT-Sharpening (Appendix D, Theorem D.1).

    Each prompt draws responses until the stopping rule of Eq. (10),
    ``1 / max_{j≤k} π_base(y_j|x) ≤ k / μ_stop``, fires, keeps the most likely
    response drawn, and the class is fitted by maximum likelihood on the picks.
    Theorem D.1 sets ``μ_stop = ln(2/δ)``; then ``E[m] ≤ n·(1 + μ_stop)·C̄_cov``
    (Lemma I.1) and each pick misses ``y*(x)`` with probability ``≤ δ/2``.

    Args:
      base: the base policy ``π_base``; an opaque one (``enumerable = False``)
        is reached only through the oracle, as always.
      n: number of prompts (``>= 1``).
      delta: the sharpening level ``δ ∈ (0, 1)`` that fixes ``μ_stop``.
      model_class: a class with ``fit_mle(x, y, weights=None)``.
      mu, rng: prompt distribution and randomness, as everywhere.
      mu_stop: override of ``ln(2/δ)`` (``> 0``).
      max_samples: optional cap on the draws per prompt; a prompt reaching it
        before the rule fires raises ``RuntimeError`` (``on_cap="raise"``) or
        keeps its best-so-far pick and is counted in
        ``diagnostics["capped_prompts"]`` (``on_cap="flag"``); never silent.
      on_cap: ``"raise"`` or ``"flag"``, as in ``adaptive_best_of_n``.
      keep_data: keep the picks in ``.data``.
      check_realizable: raise ``ValueError`` unless ``model_class.contains``
        accepts the exact adaptive BoN law (Assumption D.1); ``True`` needs an
        enumerable base, ``None`` checks when it can.

    Returns:
      :class:`SharpeningResult`; ``queries`` is the realised total ``m`` and
      ``samples_per_prompt`` the stopping times ``N_μ(x_i)`` ``[n]``;
      ``diagnostics`` holds ``mu_stop`` and ``mean_samples_per_prompt``.

    Raises:
      ValueError: ``n > MAX_PROMPTS`` (``2**26``; checked before anything is
        drawn); ``check_realizable=True`` with an opaque base.

    Example:
      >>> import sharpsim as ss
      >>> base = ss.TabularPolicy([[0.9, 0.1], [0.2, 0.8]])
      >>> res = ss.adaptive_sft_sharpening(base, 20, 0.1, ss.TabularClass(2, 2), rng=0)
      >>> int(res.samples_per_prompt.sum()) == res.queries
      True
    """
    n = _check_n_prompts(n)
    delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    mu_stop = (
        adaptive_mu_stop(delta)
        if mu_stop is None
        else check_real(mu_stop, "mu_stop", low=0.0, low_open=True)
    )
    check_model_class(model_class, base, "fit_mle")
    if realizability_check_wanted(check_realizable, model_class, base):
        law = adaptive_best_of_n_law(as_tabular(base, "base"), mu_stop)
        _assert_realizable(model_class, law, "the adaptive best-of-N law (Assumption D.1)")
    gen, seed = resolve_seed(rng)
    oracle = SampleEvaluateOracle(base, mu, rng=gen)
    x = oracle.draw_prompts(n)
    ada = adaptive_best_of_n(oracle, x, mu_stop, max_samples=max_samples, on_cap=on_cap)
    policy = _fit_mle(model_class, x, ada.responses, seed)
    counts = np.asarray(ada.samples_per_prompt, dtype=np.int64)
    return SharpeningResult(
        policy=policy,
        queries=oracle.queries,
        seed=seed,
        data=_data(keep_data, x, ada),
        diagnostics={
            "mu_stop": mu_stop,
            "mean_samples_per_prompt": float(counts.mean()),
            "capped_prompts": int(np.count_nonzero(~np.asarray(ada.stopped))),
        },
        samples_per_prompt=counts,
    )


def _fit_mle(model_class, x, y, seed: int):
    """``model_class.fit_mle(x, y)``; a class whose fit is random (a gradient learner) gets ``rng=`` from
    a child stream of the run's seed, so the same seed gives the same fit."""
    return model_class.fit_mle(x, y, **solver_options(model_class.fit_mle, rng=solver_rng(seed)))


def _resolve_bon_method(bon_method, base) -> str:
    """``bon_method`` checked; ``None`` is ``"law"`` for an enumerable base, ``"faithful"`` otherwise."""
    if bon_method is None:
        return "law" if is_enumerable(base) else "faithful"
    _check_choice(bon_method, "bon_method", ("law", "faithful"))
    if bon_method == "law" and not is_enumerable(base):
        raise ValueError(
            "bon_method='law' draws each pick from the exact best-of-N law, which needs an enumerable "
            f"base; {type(base).__name__} is opaque (enumerable=False): use bon_method='faithful' "
            "(or None)"
        )
    return bon_method


def _check_bon_realizable(model_class, base, N, reward, tie_break) -> None:
    law = best_of_n_law(as_tabular(base, "base"), N, reward=reward, tie_break=tie_break)
    _assert_realizable(model_class, law, f"the best-of-{N} law (Assumption 4.1)")


def _data(keep: bool, x, picks) -> dict | None:
    if not keep:
        return None
    return {"x": x, "y": picks.responses, "log_prob": picks.log_probs}
