"""Figures of SFT-sharpening: error vs n, sample-size rates, adaptive SFT, amortization."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..theory.bounds import lower_bound_samples
from ..theory.instances.lower_bound import SFT_WORLD
from . import style
from .stats import distinct, fit_loglog_slope, select, slope_label, summarize


def sft_error(records, out_dir):
    """Thm 4.1′: SFT error vs n for several N — Monte Carlo, the exact expected error and the bound."""
    fig, (ax,) = style.new_figure(width=4.4, height=3.6)
    for i, N in enumerate(sorted(distinct(records, "N"))):
        c, where = style.color(i), {"N": N}
        exact = summarize(records, "n", "error_exact", where)
        ax.plot(exact.x, exact.y, "-", color=c, label=f"N={N}: exact E[error] (tabular)")
        style.band(ax, summarize(records, "n", "error_mc", where), c, marker="o", ms=3.5)
        f = summarize(records, "n", "error_mc_finite", where)
        ax.plot(f.x, f.y, "x", color=c, ms=4)
        b = summarize(records, "n", "bound", where)
        ax.plot(b.x, b.y, "--", color=c, linewidth=1.1)
    ax.plot([], [], "o", color="0.3", ms=3.5, label="Monte Carlo, tabular class")
    ax.plot([], [], "x", color="0.3", label="Monte Carlo, finite realizable class")
    ax.plot([], [], "--", color="0.3", label="Thm 4.1' bound, constant 1, rho=0.05")
    style.log2_ticks(ax, sorted(distinct(records, "n")))
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 20.0)
    ax.set_xlabel("n (prompts, log scale)")
    ax.set_ylabel(r"error $P_x[\hat\pi(y^*|x) < 1-2\delta]$")
    w = SFT_WORLD
    ax.set_title(
        f"SFT-sharpening error (lower-bound family d={w['d']}, M={w['M']}, delta={w['delta']})"
    )
    style.legend_outside(ax)
    style.note(
        fig,
        f"{style.BAND_NOTE}. Log axis: Monte Carlo means equal to 0 are not drawn. "
        f"log|Pi| = d log M; C_cov exact = {records[0]['C_cov']:.2f}.",
    )
    return fig


def _slope_panel(ax, x, y, color, label, marker="o"):
    """Points, and their log-log least-squares line with the slope CI in the legend (needs >= 2 points)."""
    ax.plot(x, y, marker, color=color, label=label)
    if len(x) < 2:
        return None
    fit = fit_loglog_slope(x, y)
    grid = np.geomspace(min(x), max(x), 50)
    ax.plot(
        grid,
        np.exp(fit.intercept) * grid**fit.slope,
        "-",
        color=color,
        linewidth=1.0,
        alpha=0.8,
        label=f"fit: {slope_label(fit)}",
    )
    return fit


def _reference(ax, x, y, slope, label):
    """A theory line of the given slope through the geometric mean of the points (constant free)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    anchor = np.exp(np.mean(np.log(y)) - slope * np.mean(np.log(x)))
    grid = np.geomspace(x.min(), x.max(), 50)
    ax.plot(grid, anchor * grid**slope, **style.THEORY, label=label)


def sample_size(records, out_dir):
    """Thm 3.1/4.1′: exact sample size to (ε, δ)-sharpen vs C_cov and vs 1/ε, log-log, fitted slopes."""
    fig, axes = style.new_figure(ncols=2, width=4.3, height=3.5)
    panels = (
        ("C_cov", "C_cov", r"$C_{\rm cov}$ (exact, log scale)", 1.0),
        ("1/eps", "inv_eps", r"$1/\varepsilon$ (log scale)", 2.0),
    )
    for ax, (sweep, key, xlabel, theory) in zip(axes, panels):
        rows = sorted(
            select(records, {"sweep": sweep}),
            key=lambda r: r["epsilon"] if key == "inv_eps" else r["C_cov"],
        )
        if len(rows) < 2:
            ax.set_visible(False)
            continue
        x = [r["C_cov"] if key == "C_cov" else 1.0 / r["epsilon"] for r in rows]
        y = [r["m"] for r in rows]
        _slope_panel(ax, x, y, style.color(0), "exact min m = nN (SFT, tabular)")
        _reference(ax, x, y, theory, f"theory slope {theory:g} (Thm 3.1 / 4.1', constant fitted)")
        lb = [lower_bound_samples(r["epsilon"], r["C_cov"], r["log_class_size"]) for r in rows]
        ax.plot(
            x,
            lb,
            ":",
            color=style.color(1),
            label="Thm 3.1 rate with constant 1 (its hidden constant is < 1 here)",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        style.plain_log_ticks(ax, x)
        style.plain_log_ticks(ax, axis="y")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("queries m to reach (eps, delta=1/2)")
        ax.legend(loc="upper left", fontsize=6.5)
    fixed = select(records, {"sweep": "C_cov"})
    axes[0].set_title(
        f"(a) vs coverage, eps={fixed[0]['epsilon']:g}" if fixed else "(a) vs coverage"
    )
    axes[1].set_title("(b) vs 1/eps, C=5 (M = C/eps)")
    style.note(
        fig,
        "Worst-case (lower-bound) family of SPEC §9: d=4 hard prompts, Delta=2 eps, mode mass 2/M; "
        "m exact (binomial sums), minimised over a grid of N. Slope CIs: Student t on the log-log fit.",
    )
    fig.tight_layout()
    return fig


def adaptive_sft(records, out_dir):
    """Thm D.1 vs Thm 4.1′: adaptive SFT's E[m] ~ 1/ε, plain SFT's ~ 1/ε²."""
    fig, (ax,) = style.new_figure(width=5.2, height=3.8)
    ex = summarize(records, "epsilon", "m_plain")
    ad = summarize(records, "epsilon", "m_adaptive")
    _slope_panel(ax, 1 / ex.x, ex.y, style.color(0), "plain SFT: exact min m")
    _slope_panel(ax, 1 / ad.x, ad.y, style.color(2), "adaptive SFT: exact E[m]", marker="s")
    eps, mean, half = adaptive_mc(records)
    ax.errorbar(
        1 / eps,
        mean,
        yerr=half,
        fmt="^",
        color=style.color(1),
        ms=4,
        capsize=2,
        label="adaptive SFT: Monte Carlo mean m (95% normal CI)",
    )
    _reference(ax, 1 / ex.x, ex.y, 2.0, "theory slope 2 (Thm 4.1')")
    _reference(ax, 1 / ad.x, ad.y, 1.0, None)
    ax.lines[-1].set_label("theory slope 1 (Thm D.1)")
    ax.lines[-1].set_linestyle("-.")
    ax.set_xscale("log")
    ax.set_yscale("log")
    style.plain_log_ticks(ax, 1 / ex.x)
    style.plain_log_ticks(ax, axis="y")
    ax.set_xlabel(r"$1/\varepsilon$ (log scale)")
    ax.set_ylabel("queries m to reach (eps, delta=1/2)")
    ax.set_title("Adaptive vs plain SFT-sharpening (lower-bound family, C=5)")
    ax.legend(loc="upper left", fontsize=6.5)
    style.note(
        fig,
        "Theory lines: slope only, constant fitted through the points. Slope CIs: Student t, 95%.",
    )
    return fig


def adaptive_mc(records, level: float = 0.95):
    """Monte Carlo mean queries per ε pooled over seeds and its normal CI half-width ``z·sqrt(Σ se²)/k``."""
    z = stats.norm.ppf((1 + level) / 2)
    eps = np.array(sorted({r["epsilon"] for r in records}))
    rows = [[r for r in records if r["epsilon"] == e] for e in eps]
    mean = np.array([np.mean([r["m_adaptive_mc"] for r in g]) for g in rows])
    half = np.array(
        [z * np.sqrt(np.sum([r["m_adaptive_mc_se"] ** 2 for r in g])) / len(g) for g in rows]
    )
    return eps, mean, half


def amortization(records, out_dir):
    """Table 1 / Figs. 7–9 analogue: SFT-sharpened model vs greedy vs inference-time BoN."""
    fig, axes = style.new_figure(ncols=2, width=4.3, height=3.5)
    for ax, metric, unit in (
        (axes[0], "accuracy", "percentage points"),
        (axes[1], "loglik", "nats"),
    ):
        scale = 100.0 if metric == "accuracy" else 1.0
        lifted = [
            {
                **r,
                **{
                    k: scale * (r[f"{metric}_{k}"] - r[f"{metric}_greedy"])
                    for k in ("sft", "bon", "limit")
                },
            }
            for r in records
        ]
        style.band(
            ax,
            summarize(select(lifted, {"visits": lifted[0]["visits"]}), "N", "bon"),
            "black",
            label="inference-time BoN (exact law)",
            marker=None,
            linestyle="-",
        )
        lim = summarize(select(lifted, {"visits": lifted[0]["visits"]}), "N", "limit")
        ax.plot(lim.x, lim.y, "--", color="0.4", label=r"SFT limit $n\to\infty$ (exact)")
        for i, v in enumerate(sorted(distinct(records, "visits"))):
            style.band(
                ax,
                summarize(lifted, "N", "sft", {"visits": v}),
                style.color(i),
                marker="o",
                linestyle="-",
                linewidth=1.0,
                label=f"SFT model, n = {v}|X| prompts",
            )
        ax.axhline(0, color="0.5", linewidth=0.8)
        style.log2_ticks(ax, sorted(distinct(records, "N")))
        ax.set_xlabel("N (BoN responses per SFT prompt, log scale)")
        ax.set_ylabel(
            f"{'accuracy' if metric == 'accuracy' else 'mean log-likelihood'} lift over greedy ({unit})"
        )
    axes[0].set_title("(a) accuracy lift of the greedy output")
    axes[1].set_title(r"(b) $\log\pi_{\rm base}$ lift of the greedy output")
    axes[1].legend(loc="lower right", fontsize=6.5)
    style.note(
        fig,
        f"{style.BAND_NOTE}. SFT: prefix-tree (tabular) class, decoded greedily; "
        "unseen prompts fall back to the uniform model.",
    )
    fig.tight_layout()
    return fig
