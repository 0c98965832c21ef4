"""RLHF-Sharpening with online exploration: reward-based XPO (Algorithm 1, Theorems 4.3, J.1–J.3).

Start from ``π^(1) = π_base``. At each iteration draw ``x ~ μ``, a response
``y ~ π^(t)(·|x)`` from the learner's *own* current model and a reference
response ``ỹ ~ π_base(·|x)`` from the oracle; the learner also evaluates
``π_base(y|x)`` for its own ``y`` (the slightly larger framework of
Theorem 4.3), so every iteration costs exactly two queries (at ``t = 1``,
where ``π^(1) = π_base``, both responses are drawn from the oracle). Then

    π^(t+1) = argmin_{π∈Π} α Σ_D log π(ỹ|x)
              + Σ_D ( β log π(y|x)/π_base(y|x) − β log π(ỹ|x)/π_base(ỹ|x) − (r(x,y) − r(x,ỹ)) )²

(``model_class.fit_xpo``; SPEC §7 explains the sign of the squared term).
The first term is the optimism bonus: it pushes mass away from where
``π_base`` already samples. The output is the iterate with the largest
``J_β`` — computed exactly (``select="exact"``, a simulation shortcut that
uses no query) or estimated on validation prompts (``select="validation"``,
whose queries are counted) — or the last iterate (``select="last"``).
``prompts_per_iteration = b`` draws ``b`` prompts (``2b`` queries) per
iteration before its one fit. On an opaque base (a real LM, ``enumerable =
False``) the loop needs only the oracle and the iterates' own ``sample`` and
``log_prob`` (or ``sample_with_log_prob``); nothing exact is computed.
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import check_int, check_real
from ..measures import kl_divergence, regularized_objective, sharpening_error, tilted
from ..oracle import SampleEvaluateOracle
from ..policies.base import is_enumerable
from .dpo import self_reward
from .result import (
    Progress,
    SharpeningResult,
    check_model_class,
    realizability_check_wanted,
    resolve_seed,
    solver_options,
    solver_rng,
)
from .result import check_realizable as _assert_realizable

_SELECT = ("exact", "validation", "last")
#: Largest ``T`` accepted: the run keeps ``T + 1`` iterates in memory and solves ``T`` problems.
MAX_ITERATIONS = 10**6
#: Largest ``T·prompts_per_iteration`` accepted: the pairs, their likelihoods and targets are held in memory.
MAX_PAIRS = 10**7
#: Largest ``(T + 1)·n_contexts·n_responses`` for a tabular base: the iterates' tables held in memory (~2 GiB).
MAX_ITERATE_ENTRIES = 2**27


def xpo_sharpening(
    base,
    T: int,
    beta: float,
    alpha: float,
    model_class,
    mu=None,
    rng=None,
    *,
    select: str = "exact",
    n_validation: int = 200,
    reward=None,
    delta: float | None = None,
    gamma: float = 0.0,
    keep_data: bool = False,
    check_realizable: bool | None = None,
    progress: bool = False,
    warm_start: bool = False,
    prompts_per_iteration: int = 1,
) -> SharpeningResult:
    """Reward-based XPO (Algorithm 1) for maximum-likelihood sharpening.

    Args:
      base: the base policy ``π_base``. An enumerable one (tabular, linear,
        autoregressive) also gets the exact per-iterate diagnostics; an opaque
        one (``enumerable = False``, a real LM: see
        :class:`~sharpsim.policies.base.Policy`) is reached only through the
        oracle and needs ``select="validation"`` or ``"last"``, no ``delta``
        and no realizability check; ``π*_β`` is never computed from it.
      T: number of iterations (``>= 1``); ``m = 2·T·prompts_per_iteration``
        plus validation queries.
      beta: KL regularisation ``β > 0``; Theorem 4.3 uses
        ``β = γ_margin / (2 log(2|Y|/δ))``.
      alpha: optimism coefficient ``α ≥ 0`` (Theorem J.1; ``0`` is online DPO
        without exploration bonus).
      model_class: a class with
        ``fit_xpo(x, y, y_ref, target, beta, alpha, base, init=None) -> policy``;
        ``base`` is handed over as the observed log-likelihood arrays and the
        previous iterate as ``init`` (warm start; none at ``t = 1``, where it
        is ``π_base`` itself). The iterates it returns are the learner's own
        policies (sampled with ``sample``, scored with ``log_prob`` or
        ``sample_with_log_prob`` when they have it). Its
        random restarts are drawn from a child stream of the run's seed
        (passed as ``rng=`` when the method takes it), so the same seed gives
        the same run byte for byte.
      mu: prompt distribution ``[n_contexts]``; ``None`` is uniform.
      rng: ``None``, an int seed or a ``numpy.random.Generator``.
      select: which iterate is returned: ``"exact"`` (largest exact ``J_β``;
        needs an enumerable base), ``"validation"`` (largest ``J_β`` estimated
        on validation prompts) or ``"last"`` (``π^(T+1)``; no estimate, and
        without ``keep_data`` only the current iterate is held in memory).
      n_validation: validation prompts for ``select="validation"``; each
        iterate is scored on them with one own response per prompt whose base
        likelihood is evaluated through the oracle (``(T+1)·n_validation``
        more queries).
      reward: self-reward object (``None``: ``log π_base``).
      delta, gamma: if ``delta`` is given (enumerable base only), the
        per-iteration sharpening error ``P_x[π^(t)(y*_γ|x) < 1 − δ]`` is recorded.
      keep_data: keep the dataset ``D`` and every iterate in ``.data``.
      check_realizable: raise ``ValueError`` when ``model_class.contains``
        rejects ``π*_β`` (Assumption J.3). ``None`` (default) checks when it
        can (an enumerable base and a class with ``contains``); ``True``
        demands it (``ValueError`` for an opaque base); ``False`` skips it.
      progress: show an iteration counter on stderr (only if it is a TTY).
      warm_start: passed to ``fit_xpo``: from ``t = 2`` on, start the solver
        only from the previous iterate and the DPO regression solution (no
        cold or random starts). Several times faster; off by default because
        before the data span the parameters (``t < d`` for the linear class)
        a local solution near the previous iterate can differ from the
        restarted one (benchmarks/bench_xpo.py reports both).
      prompts_per_iteration: prompts ``b >= 1`` drawn at each iteration, each
        with one own and one reference response (``2b`` queries), before the
        iteration's single ``fit_xpo`` call on all pairs so far. ``1`` is
        Algorithm 1 as written.

    Raises:
      ValueError: ``T > MAX_ITERATIONS`` (``10**6``), ``T·prompts_per_iteration
        > MAX_PAIRS`` (``10**7``), or ``(T + 1)·|X|·|Y| > MAX_ITERATE_ENTRIES``
        for a tabular base (the iterates would not fit in memory), before
        anything is drawn; ``select="exact"``, ``delta`` or
        ``check_realizable=True`` with an opaque base.

    Returns:
      :class:`SharpeningResult` whose ``policy`` is the selected iterate and
      whose ``diagnostics`` holds per-iterate arrays ``[T+1]`` (index ``t−1``
      is ``π^(t)``): ``queries`` (queries spent when ``π^(t)`` was produced),
      for an enumerable base ``objective`` (exact ``J_β``), ``kl_to_optimum``
      (``KL(π^(t) ‖ π*_β)``) and optionally ``sharpening_error``, and with
      ``select="validation"`` ``validation_objective``; plus ``selected``
      (index of the output) and the wall-clock split ``seconds_sampling`` /
      ``seconds_solver`` / ``seconds_diagnostics``.

    Example:
      >>> import numpy as np, sharpsim as ss
      >>> phi = np.array([[[1.0, 0.0], [0.0, 1.0], [-0.6, 0.8]]])
      >>> base = ss.LinearSoftmaxPolicy(phi, [1.0, 0.0])
      >>> cls = ss.LinearSoftmaxClass(phi, B=50.0)
      >>> res = ss.xpo_sharpening(base, 6, 0.1, 1e-3, cls, rng=0, delta=0.1)
      >>> res.queries, float(res.diagnostics["sharpening_error"][res.diagnostics["selected"]])
      (12, 0.0)

      Two prompts per iteration, keeping the last iterate: ``2·T·b`` queries.

      >>> res = ss.xpo_sharpening(base, 3, 0.1, 1e-3, cls, rng=0, select="last",
      ...                         prompts_per_iteration=2)
      >>> res.queries, res.diagnostics["selected"], res.diagnostics["queries"].tolist()
      (12, 3, [0, 4, 8, 12])
    """
    T = check_int(T, "T", minimum=1, maximum=MAX_ITERATIONS)
    per_iteration = check_int(prompts_per_iteration, "prompts_per_iteration", minimum=1)
    if T * per_iteration > MAX_PAIRS:
        raise ValueError(
            f"T = {T} iterations of prompts_per_iteration = {per_iteration} prompts keep "
            f"{T * per_iteration} pairs in memory; at most MAX_PAIRS = {MAX_PAIRS}"
        )
    table = getattr(base, "log_probs", None)
    if table is not None and (T + 1) * int(np.size(table)) > MAX_ITERATE_ENTRIES:
        raise ValueError(
            f"T = {T} keeps T + 1 iterates of {np.size(table)} log-probabilities each, more than "
            f"MAX_ITERATE_ENTRIES = {MAX_ITERATE_ENTRIES}; use T <= "
            f"{MAX_ITERATE_ENTRIES // int(np.size(table)) - 1}"
        )
    if not isinstance(warm_start, (bool, np.bool_)):
        raise TypeError(f"warm_start must be a bool; got {type(warm_start).__name__}")
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    alpha = check_real(alpha, "alpha", low=0.0)
    if select not in _SELECT:
        raise ValueError(f"select must be one of {_SELECT}; got {select!r}")
    enumerable = is_enumerable(base)
    _refuse_exact_options(base, enumerable, select, delta)
    n_validation = check_int(n_validation, "n_validation", minimum=1)
    check_model_class(model_class, base, "fit_xpo")
    optimum = tilted(base, beta, reward) if enumerable else None
    if realizability_check_wanted(check_realizable, model_class, base):
        _assert_realizable(model_class, optimum, "π*_β (Assumption J.3)")
    if delta is not None:
        delta = check_real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    gen, seed = resolve_seed(rng)
    oracle = SampleEvaluateOracle(base, mu, rng=gen)

    options = solver_options(model_class.fit_xpo, rng=solver_rng(seed), warm_start=bool(warm_start))
    if warm_start and "warm_start" not in options:
        raise TypeError(
            f"warm_start=True needs model_class.fit_xpo to take warm_start; "
            f"{type(model_class).__name__}.fit_xpo does not"
        )
    exact = _Exact(base, optimum, beta, reward, mu, delta, gamma) if enumerable else None
    keep = select != "last" or bool(keep_data)  # "last" alone holds only the current iterate
    run = _Run(
        base, oracle, gen, model_class, (beta, alpha, reward), (T, per_iteration), options, keep
    )
    bar = Progress(T, "XPO", progress)
    if exact is not None:
        exact.record(base)
    for t in range(T):
        run.step(t)
        if exact is not None:
            exact.record(run.current)
        bar.update(t + 1)
    diag = _diagnostics(run, exact)
    if select == "validation":
        diag["validation_objective"] = _validation_objectives(run, n_validation)
        diag["selected"] = int(np.argmax(diag["validation_objective"]))
    elif select == "exact":
        diag["selected"] = int(np.argmax(diag["objective"]))
    else:
        diag["selected"] = T
    return SharpeningResult(
        policy=run.current if select == "last" else run.iterates[diag["selected"]],
        queries=oracle.queries,
        seed=seed,
        data=run.data() if keep_data else None,
        diagnostics=diag,
    )


def _refuse_exact_options(base, enumerable: bool, select: str, delta) -> None:
    """``ValueError`` for an option that needs the exact law of an opaque base."""
    if enumerable:
        return
    what = type(base).__name__
    if select == "exact":
        raise ValueError(
            f"select='exact' picks the iterate of largest exact J_β, which needs an enumerable base; "
            f"{what} is opaque (enumerable=False): use select='validation' or 'last'"
        )
    if delta is not None:
        raise ValueError(
            f"delta={delta!r} records the exact sharpening error of every iterate, which needs an enumerable "
            f"base; {what} is opaque (enumerable=False): leave delta=None"
        )


class _Run:
    """The state of one XPO run: dataset ``D``, iterates, query counts and timings."""

    def __init__(self, base, oracle, gen, model_class, objective, sizes, options, keep_iterates):
        self.base, self.oracle, self.gen, self.options = base, oracle, gen, options
        self.model_class, (self.beta, self.alpha, self.reward) = model_class, objective
        T, self.per_iteration = sizes
        self.current = base
        self.keep_iterates = keep_iterates  # every iterate in self.iterates (else only π_base)
        self.iterates = [base]
        self.queries = [0]
        self.x = np.empty(T * self.per_iteration, dtype=np.int64)
        self.buffers = (
            None  # y, y_ref [T·b, 2, ...] and log-likelihoods [T·b, 2], allocated at t = 0
        )
        self.target = np.empty(T * self.per_iteration)
        self.seconds = {"sampling": 0.0, "solver": 0.0}

    def step(self, t: int) -> None:
        start = time.perf_counter()
        b = self.per_iteration
        x = self.oracle.draw_prompts(b)
        y, log_prob = self._sample_pair(x, self.current)
        if self.buffers is None:
            self.buffers = (
                np.empty((self.x.shape[0],) + y.shape[1:], dtype=y.dtype),
                np.empty((self.x.shape[0], 2)),
            )
        ys, log_probs = self.buffers
        rows = slice(t * b, (t + 1) * b)
        self.x[rows], ys[rows], log_probs[rows] = x, y, log_prob
        r = self_reward(self.reward, x, y, log_prob)
        self.target[rows] = r[:, 0] - r[:, 1]
        mid = time.perf_counter()
        seen = slice(0, (t + 1) * b)
        observed = (log_probs[seen, 0], log_probs[seen, 1])  # log π_base as the oracle revealed it
        policy = self.model_class.fit_xpo(
            self.x[seen],
            ys[seen, 0],
            ys[seen, 1],
            self.target[seen],
            self.beta,
            self.alpha,
            observed,
            init=None if t == 0 else self.current,
            **self.options,
        )
        self.seconds["sampling"] += mid - start
        self.seconds["solver"] += time.perf_counter() - mid
        self.current = policy
        if self.keep_iterates:
            self.iterates.append(policy)
        self.queries.append(self.oracle.queries)

    def _sample_pair(self, x, current):
        """``(y, ỹ)`` as ``[b, 2, ...]`` with ``log π_base`` ``[b, 2]``: two queries per prompt either way."""
        if current is self.base:  # π^(1) = π_base: both responses come from the oracle
            return self.oracle.sample(x, 2)
        own = current.sample(x, 1, rng=self.gen)  # the learner's own model: no query
        _check_width(own, self.buffers[0].shape[2:], "the current iterate's sample")
        own_log_prob = self.oracle.evaluate(x, own)  # ... but evaluating π_base(y|x) is one
        ref, ref_log_prob = self.oracle.sample(x, 1)
        _check_width(ref, self.buffers[0].shape[2:], "the base's sample")
        return np.concatenate([own, ref], axis=1), np.concatenate(
            [own_log_prob, ref_log_prob], axis=1
        )

    def data(self) -> dict:
        ys, log_probs = self.buffers
        return {
            "x": self.x,
            "y": ys[:, 0],
            "y_ref": ys[:, 1],
            "log_prob": log_probs[:, 0],
            "log_prob_ref": log_probs[:, 1],
            "target": self.target,
            "iterates": list(self.iterates),
        }


def _check_width(y: np.ndarray, width: tuple, what: str) -> None:
    """Responses ``[b, n, ...]`` must share the trailing shape (one ``H``, padded with ``-1``)."""
    if y.shape[2:] != tuple(width):
        raise ValueError(
            f"{what} gave responses of shape {y.shape[2:]}; the run's are {tuple(width)}: "
            "every response of a run must have one width H (shorter ones padded with -1)"
        )


class _Exact:
    """Exact per-iterate quantities (simulation only: they read ``π_base`` directly, no query)."""

    def __init__(self, base, optimum, beta, reward, mu, delta, gamma):
        self.base, self.optimum, self.beta, self.reward = base, optimum, beta, reward
        self.mu, self.delta, self.gamma = mu, delta, gamma
        self.values: dict[str, list] = {"objective": [], "kl_to_optimum": []}
        if delta is not None:
            self.values["sharpening_error"] = []
        self.seconds = 0.0

    def record(self, policy) -> None:
        start = time.perf_counter()
        self.values["objective"].append(
            regularized_objective(policy, self.base, self.beta, self.reward, self.mu)
        )
        self.values["kl_to_optimum"].append(kl_divergence(policy, self.optimum, self.mu))
        if self.delta is not None:
            self.values["sharpening_error"].append(
                sharpening_error(policy, self.base, self.delta, self.mu, self.gamma)
            )
        self.seconds += time.perf_counter() - start


def _diagnostics(run: _Run, exact: _Exact | None) -> dict:
    """Per-iterate arrays ``[T+1]`` (the exact ones for an enumerable base) and the timings."""
    diag: dict[str, np.ndarray | float] = {}
    if exact is not None:
        diag["objective"] = np.array(exact.values["objective"])
        diag["kl_to_optimum"] = np.array(exact.values["kl_to_optimum"])
    diag["queries"] = np.array(run.queries, dtype=np.int64)
    if exact is not None and exact.delta is not None:
        diag["sharpening_error"] = np.array(exact.values["sharpening_error"])
    diag["seconds_sampling"] = run.seconds["sampling"]
    diag["seconds_solver"] = run.seconds["solver"]
    diag["seconds_diagnostics"] = 0.0 if exact is None else exact.seconds
    return diag


def _validation_objectives(run: _Run, n_validation: int) -> np.ndarray:
    """Monte Carlo ``Ĵ_β(π^(t))`` on fresh validation prompts, one own response each (queries counted).

    ``Ĵ = mean( r(x,y) − β·(log π^(t)(y|x) − log π_base(y|x)) )``, unbiased for
    ``J_β(π^(t))`` (Eq. (3)); the base likelihoods come from the oracle.
    """
    x = run.oracle.draw_prompts(n_validation)
    scores = np.empty(len(run.iterates))
    for t, policy in enumerate(run.iterates):
        if policy is run.base:
            y, log_base = run.oracle.sample(x, 1)
            log_own = log_base
        else:
            y, log_own = _own_sample(policy, x, run.gen)
            log_base = run.oracle.evaluate(x, y)
        r = self_reward(run.reward, x, y, log_base)
        scores[t] = float(np.mean(r - run.beta * (log_own - log_base)))
    return scores


def _own_sample(policy, x: np.ndarray, gen: np.random.Generator):
    """One response per prompt from an iterate and its own ``log π^(t)`` ``[k, 1]`` (no query).

    One ``sample_with_log_prob`` pass when the iterate has it (a real LM), else
    ``sample`` then ``log_prob``; both consume ``gen`` alike.
    """
    joint = getattr(policy, "sample_with_log_prob", None)
    if joint is not None:
        y, log_own = joint(x, 1, rng=gen)
        return y, np.asarray(log_own, dtype=float)
    y = policy.sample(x, 1, rng=gen)
    return y, policy.log_prob(x[:, None], y)
