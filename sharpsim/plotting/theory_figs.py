"""Figures of the lower bound, RLHF-sharpening (DPO/XPO) and decoding."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy import stats

from . import style
from .stats import LEVEL, distinct, select, summarize


def phase_curves(records):
    """``{(d, M): (ratio, exact/Δ, mc/Δ, half-width/Δ)}``, MC pooled over seeds with a normal CI at ``LEVEL``.

    The half-width is ``z·sqrt(Σ se²)/k`` over the ``k`` seeds (independent means).
    """
    z = stats.norm.ppf((1 + LEVEL) / 2)
    out = {}
    for d in sorted(distinct(records, "d")):
        for M in sorted(distinct(records, "M")):
            rows = select(records, {"d": d, "M": M})
            if not rows:
                continue
            by = defaultdict(list)
            for r in rows:
                by[r["m"]].append(r)
            ms = sorted(by)
            delta = rows[0]["Delta"]
            ratio = np.array([by[m][0]["ratio"] for m in ms])
            exact = np.array([by[m][0]["error_exact"] for m in ms]) / delta
            mc = np.array([np.mean([r["error_mc"] for r in by[m]]) for m in ms]) / delta
            half = (
                np.array(
                    [
                        z * np.sqrt(np.sum([r["error_mc_se"] ** 2 for r in by[m]])) / len(by[m])
                        for m in ms
                    ]
                )
                / delta
            )
            out[(d, M)] = (ratio, exact, mc, half)
    return out


def phase_transition(records, out_dir):
    """Thm 3.1′: Bayes-optimal error vs m/(dM/Δ), exact and Monte Carlo."""
    fig, (ax,) = style.new_figure(width=5.0, height=3.5)
    for i, ((d, M), (ratio, exact, mc, half)) in enumerate(phase_curves(records).items()):
        c = style.color(i)
        ax.plot(ratio, exact, "-", color=c, label=f"d={d}, M={M}: exact Bayes error")
        ax.errorbar(
            ratio,
            mc,
            yerr=half,
            fmt="o",
            color=c,
            ms=3.5,
            capsize=2,
            label=f"d={d}, M={M}: Monte Carlo (Bayes learner via oracle)",
        )
    ax.axvline(1.0, **style.THEORY, label=r"$m = dM/\Delta$ (Lemma H.3 scale, constant 1)")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"$m\,/\,(dM/\Delta)$ (queries over the Thm 3.1' scale, log)")
    ax.set_ylabel(r"Bayes-optimal error / $\Delta$")
    ax.set_title("Thm 3.1' phase transition (lower-bound family, N=1, Delta=0.2)")
    style.legend_outside(ax)
    style.note(
        fig,
        "Error bars: 95% normal CI of the Monte Carlo mean pooled over seeds. "
        "Error = P_x[pi_hat(y*_gamma|x) <= 1/2], gamma = 1/2.",
    )
    return fig


METHOD_STYLE = {"SFT (exact)": ("o", 0), "XPO": ("s", 2), "DPO": ("^", 1)}


def separation(records, out_dir):
    """Example J.1: queries to reach ε for SFT (exact), DPO and XPO as d grows (log scale)."""
    fig, (ax,) = style.new_figure(width=5.0, height=3.6)
    for method in distinct(records, "method"):
        marker, ci = METHOD_STYLE.get(method, ("o", 3))
        c = style.color(ci)
        rows = select(records, {"method": method})
        reached = [r for r in rows if r["reached"]]
        if reached:
            s = summarize([{**r, "logq": np.log10(r["queries"])} for r in reached], "d", "logq")
            ax.fill_between(s.x, 10**s.lo, 10**s.hi, color=c, alpha=0.2, linewidth=0)
            growth = ""
            if s.x.size >= 2:  # least-squares growth factor per dimension of the geometric means
                growth = f" (x{10 ** np.polyfit(s.x, s.y, 1)[0]:.2g} per dim)"
            ax.plot(s.x, 10**s.y, marker=marker, color=c, label=f"{method}: reached eps{growth}")
        missed = [r for r in rows if not r["reached"]]
        if missed:
            ax.plot(
                [r["d"] for r in missed],
                [r["queries"] for r in missed],
                marker=marker,
                color=c,
                linestyle="none",
                markerfacecolor="none",
                ms=7,
                label=f"{method}: not reached within budget (shown at budget)",
            )
    sizes = summarize(records, "d", "n_responses")
    ax.plot(
        sizes.x, sizes.y, ":", color="0.4", label=r"$|Y|$ (packing size, $\propto C_{\rm cov}$)"
    )
    ax.set_yscale("log")
    ax.set_xticks(sizes.x)
    ax.set_xlabel("feature dimension d")
    ax.set_ylabel("queries to sharpening error <= eps (log)")
    ax.set_title("Example J.1: queries to reach eps as d grows")
    ax.legend(loc="upper left", fontsize=6.5)
    style.note(
        fig,
        "eps = delta = 0.1; band: 95% bootstrap CI of the geometric mean over seeds (one packing each). "
        "SFT: exact min n*N (tabular); DPO/XPO: linear softmax class.",
    )
    return fig


def xpo_dynamics(records, out_dir):
    """Thm J.1: per-iteration J_β gap, sharpening error and queries of XPO."""
    fig, axes = style.new_figure(ncols=3, width=3.4, height=3.2)
    ax = axes[0]
    style.band(
        ax,
        summarize(records, "t", "gap"),
        style.color(0),
        marker=None,
        linestyle="-",
        label=r"$J_\beta(\pi^*_\beta)-J_\beta(\pi^{(t)})$ (exact)",
    )
    kl = summarize(records, "t", "beta_kl")
    ax.plot(
        kl.x,
        kl.y,
        "o",
        color=style.color(1),
        ms=2.5,
        label=r"$\beta\,KL(\pi^{(t)}\|\pi^*_\beta)$ (exact)",
    )
    b = summarize(records, "t", "bound")
    ax.plot(b.x, b.y, **style.THEORY, label="Thm J.1 bound, constant 1")
    ax.set_yscale("log")
    for a in axes:
        style.integer_ticks(a)
    ax.set_xlabel("iteration t")
    ax.set_ylabel("KL-regularised suboptimality (nats)")
    ax.set_title("(a) objective gap")
    ax.legend(loc="center right", fontsize=6)
    style.band(
        axes[1], summarize(records, "t", "error"), style.color(2), marker=None, linestyle="-"
    )
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_xlabel("iteration t")
    axes[1].set_ylabel(r"sharpening error ($\delta=0.1$)")
    axes[1].set_title("(b) sharpening error of $\\pi^{(t)}$")
    q = summarize(records, "t", "queries")
    axes[2].plot(q.x, q.y, "-", color=style.color(3))
    axes[2].set_xlabel("iteration t")
    axes[2].set_ylabel("queries spent (sample + evaluate)")
    axes[2].set_title("(c) queries")
    beta = records[0]["beta"]
    style.note(
        fig,
        f"{style.BAND_NOTE}. Example J.1, beta = {beta:.3g} (Thm 4.3), alpha = "
        f"{records[0].get('alpha', 'n/a')}; bound: rho=0.05, eps_disc=0.01, SEC=d log(t+1), "
        "R_max = max log 1/pi_base, V_max = beta R_max.",
    )
    fig.tight_layout()
    return fig


def decoding(records, out_dir):
    """Decoders on Markov worlds and MAX-CUT: mode hit rate and log-likelihood (dot plot)."""
    worlds = distinct(records, "world")
    fig, axes = style.new_figure(ncols=len(worlds), nrows=2, width=4.2, height=2.9)
    for j, world in enumerate(worlds):
        rows = select(records, {"world": world})
        methods = distinct(rows, "method")
        pos = np.arange(len(methods))
        for k, (metric, label) in enumerate(
            (
                ("hit", "P[returns a sequence mode]"),
                ("loglik", r"mean $\log\pi_{\rm base}(y|x)$ (nats)"),
            )
        ):
            ax = axes[k * len(worlds) + j]
            for p, m in zip(pos, methods):
                sub = select(rows, {"method": m})
                ex = summarize(sub, "world", f"{metric}_exact")
                mc = summarize(sub, "world", f"{metric}_mc")
                exact_color = style.color(0) if sub[0]["has_exact"] else "0.55"
                ax.plot(ex.y[0], p - 0.12, "D", color=exact_color, ms=5)
                ax.errorbar(
                    mc.y[0],
                    p + 0.12,
                    xerr=[[mc.y[0] - mc.lo[0]], [mc.hi[0] - mc.y[0]]],
                    fmt="o",
                    color=style.color(1),
                    ms=3.5,
                    capsize=2,
                )
            ax.set_yticks(pos)
            ax.set_yticklabels(methods if j == 0 else [""] * len(methods), fontsize=7)
            ax.set_ylim(len(methods) - 0.5, -0.5)
            ax.set_xlabel(label)
            if k == 0:
                ax.set_xlim(-0.03, 1.03)
                ax.set_title(
                    "random Markov worlds" if world == "markov" else "MAX-CUT instance (Prop. E.1)"
                )
    handles = [
        axes[0].plot([], [], "D", color=style.color(0), ms=5, label="exact")[0],
        axes[0].plot(
            [], [], "D", color="0.55", ms=5, label="exact target law (MCMC) / n->inf limit (SFT)"
        )[0],
        axes[0].plot(
            [],
            [],
            "o",
            color=style.color(1),
            ms=3.5,
            label="Monte Carlo, 95% bootstrap CI over seeds",
        )[0],
    ]
    fig.tight_layout()
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=7)
    style.note(
        fig,
        "Markov: 8 prompts, V=3, H=5, Dirichlet(0.4) rows; MAX-CUT: random 6-vertex graph "
        "(H=8), greedy/beam break the uniform ties by the lowest token. One world per seed; "
        "markers average over seeds. Best-of-N and SFT use N=8 and the log-likelihood reward.",
    )
    return fig
