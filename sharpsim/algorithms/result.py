"""The result object shared by the training-time sharpening algorithms (SPEC §7).

Every algorithm returns a :class:`SharpeningResult`: the fitted model, the true
number of sample-and-evaluate queries ``m`` (read from the oracle, Definition
3.2 / D.1), and the integer seed that replays the run. Helpers here turn the
``rng`` argument into a (generator, seed) pair and validate model classes.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_int, check_rng
from ..policies.base import is_enumerable


@dataclass
class SharpeningResult:
    """What a training-time sharpening run produced.

    Attributes:
      policy: the fitted model ``π̂``.
      queries: sample-and-evaluate queries ``m`` charged by the oracle.
      seed: the integer seed actually used; ``rng=seed`` replays the run.
      data: the data the learner saw (only with ``keep_data=True``, else ``None``).
      diagnostics: algorithm-specific summaries (arrays are per iteration for XPO).
      samples_per_prompt: responses drawn per prompt, int array ``[n]``
        (SFT: constant ``N``; adaptive SFT: the stopping times ``N_μ(x_i)``).

    ``policy`` must have ``log_prob``; ``queries`` and ``seed`` are
    non-negative integers (``TypeError`` / ``ValueError`` naming the field).

    Example:
      >>> import sharpsim as ss
      >>> r = SharpeningResult(policy=ss.TabularPolicy([[0.5, 0.5]]), queries=12, seed=3)
      >>> r.queries, r.data is None
      (12, True)
      >>> SharpeningResult(None, 12, 3)
      Traceback (most recent call last):
      TypeError: policy must be a policy with log_prob; got NoneType
    """

    policy: Any
    queries: int
    seed: int
    data: dict | None = None
    diagnostics: dict = field(default_factory=dict)
    samples_per_prompt: np.ndarray | None = None

    def __post_init__(self):
        if not callable(getattr(self.policy, "log_prob", None)):
            raise TypeError(
                f"policy must be a policy with log_prob; got {type(self.policy).__name__}"
            )
        self.queries = check_int(self.queries, "queries", minimum=0)
        self.seed = check_int(self.seed, "seed", minimum=0)
        if self.data is not None and not isinstance(self.data, dict):
            raise TypeError(f"data must be a dict or None; got {type(self.data).__name__}")
        if not isinstance(self.diagnostics, dict):
            raise TypeError(f"diagnostics must be a dict; got {type(self.diagnostics).__name__}")


def resolve_seed(rng) -> tuple[np.random.Generator, int]:
    """Return ``(generator, seed)`` such that ``numpy.random.default_rng(seed)`` replays the run.

    ``None`` draws fresh entropy from ``SeedSequence``; an int is used as is; a
    ``Generator`` is asked for a 63-bit seed (advancing it once), so that even
    a run driven by a caller's generator can be replayed from ``result.seed``.

    Example:
      >>> gen, seed = resolve_seed(5)
      >>> seed, bool(gen.integers(100) == np.random.default_rng(5).integers(100))
      (5, True)
    """
    if rng is None:
        seed = int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]  # an int when fresh
    elif isinstance(rng, np.random.Generator):
        seed = int(rng.integers(2**63 - 1))
    else:
        check_rng(rng)  # raises TypeError / ValueError naming rng
        seed = int(rng)
    return np.random.default_rng(seed), seed


#: ``spawn_key`` of the stream a run's model-class solvers draw their restarts from.
_SOLVER_STREAM = (0x501E,)


def solver_rng(seed: int) -> np.random.Generator:
    """The generator of a run's solver restarts: a child stream of ``seed`` independent of the data's.

    The data stream (``numpy.random.default_rng(seed)``) is left untouched, so
    how many restarts a class draws never changes which data a run sees.

    Example:
      >>> a, b = solver_rng(5).random(), solver_rng(5).random()
      >>> a == b, a == np.random.default_rng(5).random()
      (True, False)
    """
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=_SOLVER_STREAM))


def solver_options(method, **options) -> dict:
    """The keyword ``options`` that ``method`` accepts (a duck-typed class may take fewer).

    Example:
      >>> def fit(x, *, init=None): ...
      >>> solver_options(fit, init=1, rng=2)
      {'init': 1}
    """
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    return {k: v for k, v in options.items() if k in params}


def check_model_class(model_class, base, method: str) -> None:
    """Check that ``model_class`` has ``method`` and the base model's shape.

    Raises ``TypeError`` when the solver is missing and ``ValueError`` when the
    class declares ``n_contexts`` / ``n_responses`` different from ``base``.

    Example:
      >>> import sharpsim as ss
      >>> check_model_class(ss.TabularClass(1, 2), ss.TabularPolicy([[0.5, 0.5]]), "fit_mle")  # passes
      >>> check_model_class(ss.TabularClass(2, 2), ss.TabularPolicy([[0.5, 0.5]]), "fit_mle")
      Traceback (most recent call last):
      ValueError: model_class.n_contexts=2 does not match base.n_contexts=1
    """
    if not callable(getattr(model_class, method, None)):
        raise TypeError(
            f"model_class must provide {method}(...); got {type(model_class).__name__} without it"
        )
    for attr in ("n_contexts", "n_responses"):
        want, got = getattr(base, attr, None), getattr(model_class, attr, None)
        if want is not None and got is not None and int(want) != int(got):
            raise ValueError(f"model_class.{attr}={got} does not match base.{attr}={want}")


def check_realizable(model_class, target, what: str) -> None:
    """Raise ``ValueError`` when ``model_class`` says it cannot represent ``target``.

    Uses ``model_class.contains(target)`` when the class provides it; classes
    without a membership test are trusted (nothing to check against).

    Example:
      >>> import sharpsim as ss
      >>> cls = ss.FiniteClass([ss.TabularPolicy([[0.5, 0.5]])])
      >>> check_realizable(cls, ss.TabularPolicy([[0.9, 0.1]]), "the target")
      Traceback (most recent call last):
      ValueError: model_class FiniteClass cannot represent the target, which the theorem needs (realizability); pass check_realizable=False to run misspecified on purpose
    """
    contains = getattr(model_class, "contains", None)
    if callable(contains) and not contains(target):
        raise ValueError(
            f"model_class {type(model_class).__name__} cannot represent {what}, which the theorem "
            "needs (realizability); pass check_realizable=False to run misspecified on purpose"
        )


def realizability_check_wanted(check_realizable, model_class, base) -> bool:
    """Whether a run checks realizability: ``check_realizable`` read against the base and the class.

    ``None`` checks when it can: an enumerable base (the target law is
    computed exactly from it) and a class with ``contains``. ``True`` demands
    the check, so an opaque base (``enumerable = False``) is a ``ValueError``;
    ``False`` skips it.

    Example:
      >>> import sharpsim as ss
      >>> class Opaque:
      ...     enumerable = False
      >>> realizability_check_wanted(None, ss.TabularClass(1, 2), Opaque())
      False
      >>> realizability_check_wanted(True, ss.TabularClass(1, 2), Opaque())
      Traceback (most recent call last):
      ValueError: check_realizable=True computes the target law exactly from base, which needs an enumerable base; Opaque is opaque (enumerable=False): pass check_realizable=None or False
    """
    if check_realizable is None:
        return is_enumerable(base) and callable(getattr(model_class, "contains", None))
    if not isinstance(check_realizable, (bool, np.bool_)):
        raise TypeError(
            f"check_realizable must be None, True or False; got {type(check_realizable).__name__}"
        )
    if check_realizable and not is_enumerable(base):
        raise ValueError(
            "check_realizable=True computes the target law exactly from base, which needs an "
            f"enumerable base; {type(base).__name__} is opaque (enumerable=False): pass "
            "check_realizable=None or False"
        )
    return bool(check_realizable)


class Progress:
    """A one-line ``i/total`` counter on stderr, active only when asked and stderr is a TTY."""

    def __init__(self, total: int, label: str, enabled: bool):
        self.total, self.label = total, label
        self.enabled = bool(enabled) and sys.stderr.isatty()
        self._every = max(1, total // 100)

    def update(self, done: int) -> None:
        if self.enabled and (done % self._every == 0 or done == self.total):
            sys.stderr.write(f"\r{self.label} {done}/{self.total}")
            if done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
