"""Paper-style figures from experiment records (matplotlib is imported only when a figure is drawn).

``FIGURES`` maps each figure name to the registered experiment whose records
it draws and a one-line caption; ``figure(name, records, out_dir)`` writes
``<out_dir>/<name>.png`` and ``.pdf``. Records are the runner's rows:
``{"experiment", "cell", "seed", **cell_params, **measured}``.

Example:
    >>> from sharpsim import plotting
    >>> plotting.FIGURES["sft_error"].experiment
    'sft_error'
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import NamedTuple


class FigureSpec(NamedTuple):
    """A figure: the experiment whose records feed it and its one-line caption."""

    experiment: str
    caption: str


FIGURES: dict[str, FigureSpec] = {
    "bon_lift": FigureSpec(
        "bon_lift",
        "Accuracy lift of best-of-N over greedy vs N for three self-rewards, pass@N skyline "
        "(Figs. 1a/2/3 analogue).",
    ),
    "loglik_correctness": FigureSpec(
        "loglik_correctness",
        "Distribution of log pi_base(y|x) given correct / incorrect, exact and sampled "
        "(Figs. 1c/6 analogue).",
    ),
    "bon_loglik": FigureSpec(
        "bon_loglik",
        "Mean log-likelihood of the best-of-N pick vs N, exact law and sampled (Fig. 4).",
    ),
    "sft_error": FigureSpec(
        "sft_error",
        "SFT-sharpening error vs n for several N: Monte Carlo, exact expected error, Thm 4.1' bound.",
    ),
    "sample_size": FigureSpec(
        "sample_size",
        "Exact sample size to (eps, delta)-sharpen vs C_cov and vs 1/eps on the lower-bound family, "
        "fitted slopes beside theory (1 and 2).",
    ),
    "adaptive_sft": FigureSpec(
        "adaptive_sft", "Adaptive vs plain SFT: queries vs 1/eps (slopes ~1 vs ~2)."
    ),
    "phase_transition": FigureSpec(
        "phase_transition",
        "Thm 3.1' phase transition: Bayes-optimal error vs m/(dM/Delta), exact and Monte Carlo.",
    ),
    "separation": FigureSpec(
        "separation", "Example J.1: queries to reach eps for SFT, DPO and XPO as d grows."
    ),
    "xpo_dynamics": FigureSpec(
        "xpo_dynamics",
        "XPO per-iteration J_beta gap, KL to pi*_beta, sharpening error and queries, "
        "Thm J.1 bound.",
    ),
    "decoding": FigureSpec(
        "decoding",
        "Greedy, beam, exact mode, best-of-N, power sampling (exact, MCMC) and the SFT-amortized "
        "model on Markov worlds and MAX-CUT.",
    ),
    "amortization": FigureSpec(
        "amortization",
        "Amortization: accuracy and log-likelihood lift of the SFT-sharpened model over greedy "
        "vs N and n, against inference-time BoN (Table 1 / Figs. 7-9 analogue).",
    ),
    "bon_concentration": FigureSpec(
        "bon_concentration",
        "P[BoN returns the mode] vs N with Prop. C.1's bound; token temperature vs "
        "sequence-level power law (TV).",
    ),
    "power_chain": FigureSpec(
        "power_chain",
        "Power sampler's exact chain: TV to pi^alpha vs MH steps for several block sizes and "
        "alpha, sampled chains, greedy and token-temperature-1/alpha references.",
    ),
    "imperfect_scaling": FigureSpec(
        "imperfect_scaling",
        "Beyond the paper: regret vs N of best-of-N (U-shaped, minimiser moving left as eps grows) "
        "and InferenceTimePessimism (monotone) with an adversarial proxy reward, exact.",
    ),
    "imperfect_rates": FigureSpec(
        "imperfect_rates",
        "Beyond the paper: tuned regret of best-of-N and ITP vs eps and vs coverage beside sqrt(C eps^2).",
    ),
    "itp_heatmap": FigureSpec(
        "itp_heatmap",
        "Beyond the paper: exact InferenceTimePessimism regret over (beta, N), beta* = eps/sqrt(C1) marked.",
    ),
    "lm_bon_heatmap": FigureSpec(
        "lm_bon",
        "Real LM: best-of-N accuracy and log-likelihood lift over greedy per task kind and N "
        "(Fig. 1 analogue).",
    ),
    "lm_bon_curves": FigureSpec(
        "lm_bon",
        "Real LM: accuracy lift and log-likelihood lift of best-of-N over greedy vs N per task "
        "kind, with 95% intervals (Fig. 1 analogue).",
    ),
    "lm_table": FigureSpec(
        "lm_table",
        "Real LM: greedy decoding of SFT-, DPO- and XPO-sharpened models vs the base "
        "(Table 1 analogue).",
    ),
    "lm_ablation": FigureSpec(
        "lm_ablation", "Real LM: SFT-sharpening ablation (learning rate, LoRA rank, N)."
    ),
}


#: Where each figure is drawn: ``module:function`` inside this package.
_DRAWERS = {
    name: f"{module}:{name}"
    for module, names in {
        "inference_figs": ("bon_lift", "bon_loglik", "loglik_correctness", "bon_concentration"),
        "sft_figs": ("sft_error", "sample_size", "adaptive_sft", "amortization"),
        "theory_figs": ("phase_transition", "separation", "xpo_dynamics", "decoding"),
        "power_chain_figs": ("power_chain",),
        "imperfect_figs": ("imperfect_scaling", "imperfect_rates", "itp_heatmap"),
        "lm_figs": ("lm_bon_heatmap", "lm_bon_curves", "lm_table", "lm_ablation"),
    }.items()
    for name in names
}


def figure(name: str, records, out_dir) -> list[Path]:
    """Draw figure ``name`` from its experiment's ``records`` into ``out_dir`` (PNG and PDF).

    Args:
      name: a key of ``FIGURES``.
      records: list of dicts, the rows of ``FIGURES[name].experiment``
        (rows of other experiments are ignored).
      out_dir: folder (created if missing).

    Returns:
      ``[out_dir/name.png, out_dir/name.pdf]``.
    """
    if name not in FIGURES:
        raise KeyError(f"no figure named {name!r}; known: {', '.join(sorted(FIGURES))}")
    spec = FIGURES[name]
    rows = [r for r in records if r.get("experiment", spec.experiment) == spec.experiment]
    if not rows:
        raise ValueError(
            f"figure {name!r} needs records of experiment {spec.experiment!r}; none given"
        )
    from . import style

    module, func = _DRAWERS[name].split(":")
    draw = getattr(importlib.import_module(f"{__name__}.{module}"), func)
    with style.styled():
        fig = draw(rows, out_dir)
        return style.save(fig, out_dir, name)


def figures_of(experiment: str) -> list[str]:
    """Names of the figures drawn from ``experiment``'s records."""
    return [name for name, spec in FIGURES.items() if spec.experiment == experiment]


__all__ = ["FIGURES", "FigureSpec", "figure", "figures_of"]
