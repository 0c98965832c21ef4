"""The implementations ``verify`` checks, gathered so a test can swap one for a broken version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

from ... import algorithms, inference, measures
from .. import bounds, instances


@dataclass(frozen=True)
class Toolkit:
    """Every function a check calls. ``Toolkit.default()`` holds sharpsim's own.

    Replace one (``Toolkit.default().with_(best_of_n_law=broken)``) to see that
    the checks catch it; :mod:`.mutants` holds one plausible wrong version of
    each, and every row names the ones it catches.

    Example:
      >>> tk = Toolkit.default()
      >>> tk.with_(coverage=len).coverage is len, Toolkit.default().coverage is tk.coverage
      (True, True)
    """

    best_of_n_law: Callable
    best_of_n: Callable
    bon_failure_probability: Callable
    adaptive_best_of_n_expected_samples: Callable
    adaptive_best_of_n_law: Callable
    adaptive_best_of_n: Callable
    power_law: Callable
    power_sample_mcmc: Callable
    greedy_decode: Callable
    power_chain_kernel: Callable
    tilted: Callable
    coverage: Callable
    concentrability: Callable
    margin: Callable
    mode_mask: Callable
    kl_divergence: Callable
    regularized_objective: Callable
    sharpening_error: Callable
    expected_sft_error: Callable
    sft_error_plateau: Callable
    expected_adaptive_sft_error: Callable
    sft_sharpening: Callable
    adaptive_sft_sharpening: Callable
    xpo_sharpening: Callable
    dpo_sharpening: Callable
    lower_bound_bayes_error: Callable
    # imperfect rewards (SPEC §11, verify/imperfect.py)
    chi2_regularized: Callable
    itp_law: Callable
    inference_time_pessimism: Callable
    bon_regret_bound: Callable
    reward_hacking_lower_bound: Callable
    itp_regret_bound: Callable
    minimax_lower_bound: Callable

    @classmethod
    def default(cls) -> Toolkit:
        sources = (inference, measures, algorithms, instances, bounds)
        return cls(**{f.name: _find(f.name, sources) for f in fields(cls)})

    def with_(self, **replacements) -> Toolkit:
        """A copy with some implementations replaced."""
        return replace(self, **replacements)


def _find(name: str, modules) -> Callable:
    for module in modules:
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(name)  # pragma: no cover - a programming error
