"""RLHF-Sharpening with offline DPO (Eq. (4) / Eq. (8), Theorem 4.2).

Data ``(x, y, y')`` with ``x ~ μ`` and two responses ``y, y' ~ π_base(·|x)``
from the oracle (``N = 2``, ``m = 2n``). The default is the paper's
reward-based regression (Eq. (8)):

    π̂ = argmin_{π∈Π} Σ ( β log π(y|x)/π_base(y|x) − β log π(y'|x)/π_base(y'|x)
                          − (r(y|x) − r(y'|x)) )²,

whose population minimiser is ``π*_β ∝ π_base·exp(r/β)`` (Section 2.2). The
``loss="logistic"`` option is standard DPO (Rafailov et al., 2023) on
preference labels drawn from the Bradley–Terry model of the self-reward:

    P(y ≻ y') = σ(r(y|x) − r(y'|x)),   loss = −log σ(β log π(y_w)/π_base(y_w) − β log π(y_l)/π_base(y_l)),

whose implicit reward ``β log(π/π_base)`` matches ``r`` up to a per-prompt
constant at the optimum, so its minimiser is again ``π*_β``. For
``r = log π_base`` the label probability is ``π_base(y)/(π_base(y) + π_base(y'))``.
The labels are drawn by the learner from the observed log-likelihoods, so
they cost no query.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .._validation import check_int, check_real
from ..measures import tilted
from ..oracle import SampleEvaluateOracle
from .result import (
    SharpeningResult,
    check_model_class,
    realizability_check_wanted,
    resolve_seed,
    solver_options,
    solver_rng,
)
from .result import check_realizable as _assert_realizable

_SOLVERS = {"regression": "fit_regression", "logistic": "fit_logistic_dpo"}
#: Largest ``n`` accepted: the ``n`` pairs, their likelihoods and targets are held in memory.
MAX_PAIRS = 10**7


def dpo_sharpening(
    base,
    n: int,
    beta: float,
    model_class,
    mu=None,
    rng=None,
    *,
    loss: str = "regression",
    reward=None,
    keep_data: bool = False,
    check_realizable: bool | None = None,
) -> SharpeningResult:
    """RLHF-Sharpening via DPO on ``n`` pairs from the base model (Eq. (8), Theorem 4.2).

    Args:
      base: the base policy ``π_base`` (reached only through the oracle); an
        opaque one (``enumerable = False``, a real LM: see
        :class:`~sharpsim.policies.base.Policy`) works as is, and ``π*_β`` is
        never computed from it.
      n: number of prompts, each with two responses (``>= 1``; ``m = 2n``).
      beta: KL regularisation ``β > 0`` (Eq. (3)).
      model_class: a class with ``fit_regression(x, y, y_ref, target, beta, base)``
        (``loss="regression"``) or ``fit_logistic_dpo(x, y_win, y_lose, beta, base)``
        (``loss="logistic"``); ``base`` is handed over as the pair of observed
        log-likelihood arrays, so the learner sees ``π_base`` only through the oracle.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      rng: ``None``, an int seed or a ``numpy.random.Generator``.
      loss: ``"regression"`` (Eq. (8)) or ``"logistic"`` (Bradley–Terry DPO, see
        the module docstring).
      reward: self-reward object (``None``: ``log π_base``, Eq. (2)); its
        ``score(x, y, log_prob)`` is computed from the observed likelihoods.
      keep_data: keep the pairs, their log-likelihoods and the targets in ``.data``.
      check_realizable: raise ``ValueError`` when ``model_class.contains``
        rejects ``π*_β`` (Assumption 4.3, needed by Theorem 4.2). ``None``
        (default) checks when it can: an enumerable base and a class with
        ``contains``; ``True`` demands the check (``ValueError`` for an opaque
        base); ``False`` skips it.

    Returns:
      :class:`SharpeningResult` with ``queries == 2n``; ``diagnostics`` holds
      ``loss`` and ``target_mean_abs`` (mean ``|r(y) − r(y')|``).

    Raises:
      ValueError: ``n > MAX_PAIRS`` (``10**7``; the pairs are held in memory),
        before anything is drawn; ``check_realizable=True`` with an opaque base.

    The class's random restarts (if it has any) come from a child stream of the
    run's seed, so the same seed gives the same fit byte for byte.

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> base = ss.TabularPolicy([[0.5, 0.3, 0.2]])
      >>> res = ss.dpo_sharpening(base, 40, 0.5, ss.TabularClass(1, 3), rng=0)
      >>> res.queries, bool(np.allclose(res.policy.probs, ss.tilted(base, 0.5).probs))
      (80, True)
    """
    n = check_int(n, "n", minimum=1, maximum=MAX_PAIRS)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    if loss not in _SOLVERS:
        raise ValueError(f"loss must be one of {tuple(_SOLVERS)}; got {loss!r}")
    check_model_class(model_class, base, _SOLVERS[loss])
    if realizability_check_wanted(check_realizable, model_class, base):
        _assert_realizable(model_class, tilted(base, beta, reward), "π*_β (Assumption 4.3)")
    gen, seed = resolve_seed(rng)
    oracle = SampleEvaluateOracle(base, mu, rng=gen)
    x = oracle.draw_prompts(n)
    y, log_prob = oracle.sample(x, 2)
    r = self_reward(reward, x, y, log_prob)
    target = r[:, 0] - r[:, 1]
    data = {"x": x, "y": y[:, 0], "y_ref": y[:, 1], "log_prob": log_prob, "target": target}
    if loss == "regression":
        observed = (log_prob[:, 0], log_prob[:, 1])  # log π_base as the oracle revealed it
        options = solver_options(model_class.fit_regression, rng=solver_rng(seed))
        policy = model_class.fit_regression(x, y[:, 0], y[:, 1], target, beta, observed, **options)
    else:
        first_wins = gen.random(n) < expit(
            target
        )  # Bradley–Terry label P(y ≻ y') = σ(r(y) − r(y'))
        rows, w, lo = np.arange(n), np.where(first_wins, 0, 1), np.where(first_wins, 1, 0)
        observed = (log_prob[rows, w], log_prob[rows, lo])
        options = solver_options(model_class.fit_logistic_dpo, rng=solver_rng(seed))
        policy = model_class.fit_logistic_dpo(x, y[rows, w], y[rows, lo], beta, observed, **options)
        data["first_wins"] = first_wins
    return SharpeningResult(
        policy=policy,
        queries=oracle.queries,
        seed=seed,
        data=data if keep_data else None,
        diagnostics={"loss": loss, "target_mean_abs": float(np.mean(np.abs(target)))},
        samples_per_prompt=np.full(n, 2, dtype=np.int64),
    )


def self_reward(reward, x: np.ndarray, y: np.ndarray, log_prob: np.ndarray) -> np.ndarray:
    """The self-reward of observed responses, ``[k, N]``, from their base log-likelihoods.

    ``None`` is the maximum-likelihood reward ``r = log π_base(y|x)`` (Eq. (2));
    any other reward object is asked for ``score(x, y, log_prob)``.

    Example:
      >>> self_reward(None, np.array([0]), np.array([[1, 2]]), np.array([[-0.5, -1.0]])).tolist()
      [[-0.5, -1.0]]
    """
    if reward is None:
        return log_prob
    return np.asarray(reward.score(x, y, log_prob), dtype=float)
