"""Figures of inference-time sharpening: best-of-N lift, log-likelihood by correctness, concentration."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from . import style
from .stats import distinct, select, summarize

REWARD_ORDER = ("log-likelihood", "length-normalised", "majority vote")


def _with_lift(records, key):
    return [{**r, "lift": 100.0 * (r[key] - r["greedy_accuracy"])} for r in records]


def bon_lift(records, out_dir):
    """Fig. 1a/2/3 analogue: accuracy lift of best-of-N over greedy (percentage points) vs N."""
    fig, (ax,) = style.new_figure(width=4.4, height=3.4)
    exact, mc = _with_lift(records, "accuracy_exact"), _with_lift(records, "accuracy_mc")
    for i, reward in enumerate(r for r in REWARD_ORDER if r in distinct(records, "reward")):
        where = {"reward": reward}
        s = summarize(exact, "N", "lift", where)
        label = (
            "majority vote (population vote, exact law)"
            if reward == "majority vote"
            else f"{reward} (exact law)"
        )
        style.band(ax, s, style.color(i), label=label, marker=None, linestyle="-")
        m = summarize(mc, "N", "lift", where)
        ax.errorbar(
            m.x,
            m.y,
            yerr=[m.y - m.lo, m.hi - m.y],
            fmt="o",
            color=style.color(i),
            ms=3.5,
            capsize=2,
            label=(
                "empirical vote of the N draws (sampled)"
                if reward == "majority vote"
                else f"{reward} (sampled BoN)"
            ),
        )
    skyline = summarize(
        _with_lift(select(records, {"reward": REWARD_ORDER[0]}), "pass_at_n"), "N", "lift"
    )
    style.band(
        ax,
        skyline,
        "black",
        label="pass@N skyline (uses the true answer; exact)",
        marker=None,
        linestyle=":",
    )
    ax.axhline(0.0, color="0.5", linewidth=0.8)
    style.log2_ticks(ax, sorted(distinct(records, "N")))
    ax.set_xlabel("N (responses per prompt, log scale)")
    ax.set_ylabel("accuracy lift over greedy (percentage points)")
    ax.set_title("Best-of-N self-improvement on hidden-knowledge tasks")
    style.legend_outside(ax)
    style.note(
        fig,
        f"{style.BAND_NOTE}; error bars: same CI for the sampled runs. "
        "Each seed draws a new task (48 prompts in --quick).",
    )
    return fig


def bon_loglik(records, out_dir):
    """Fig. 4 analogue: mean log π_base of the best-of-N pick vs N, exact law and sampled."""
    fig, (ax,) = style.new_figure(width=4.4, height=3.4)
    for i, reward in enumerate(r for r in REWARD_ORDER if r in distinct(records, "reward")):
        where = {"reward": reward}
        majority = reward == "majority vote"
        style.band(
            ax,
            summarize(records, "N", "loglik_exact", where),
            style.color(i),
            label=f"{reward}: {'population vote, ' if majority else ''}exact BoN law",
            marker=None,
            linestyle="-",
        )
        m = summarize(records, "N", "loglik_mc", where)
        ax.errorbar(
            m.x,
            m.y,
            yerr=[m.y - m.lo, m.hi - m.y],
            fmt="o",
            color=style.color(i),
            ms=3.5,
            capsize=2,
            label=f"{reward}: {'empirical vote, ' if majority else ''}sampled BoN",
        )
    style.log2_ticks(ax, sorted(distinct(records, "N")))
    ax.set_xlabel("N (responses per prompt, log scale)")
    ax.set_ylabel(r"mean $\log\pi_{\rm base}(y_{\rm BoN}|x)$ (nats)")
    ax.set_title("Log-likelihood of the best-of-N pick rises with N")
    style.legend_outside(ax)
    style.note(fig, style.BAND_NOTE)
    return fig


def _histograms(records):
    """``{(source, correct): (bins, mean mass over seeds, mean of the conditional means)}``."""
    seeds = sorted({(r.get("cell", 0), r.get("seed", 0)) for r in records})
    out = {}
    for source in ("exact", "sampled"):
        for side in (True, False):
            rows = select(records, {"source": source, "correct": side})
            if not rows:
                continue
            mass = defaultdict(float)
            means = {}
            for r in rows:
                mass[r["bin_lo"]] += r["mass"] / len(seeds)  # absent bins count as zero mass
                means[(r.get("cell", 0), r.get("seed", 0))] = r["mean"]
            bins = np.array(sorted(mass))
            out[(source, side)] = (
                bins,
                np.array([mass[b] for b in bins]),
                float(np.mean(list(means.values()))),
            )
    return out


def loglik_correctness(records, out_dir):
    """Fig. 1c/6 analogue: distribution of log π_base(y|x) given correct / incorrect, exact and sampled."""
    fig, (ax,) = style.new_figure(width=5.0, height=3.4)
    width = _bin_width(records)
    for i, side in enumerate((True, False)):
        name = "correct" if side else "incorrect"
        hist = _histograms(records)
        if ("exact", side) in hist:
            bins, mass, mean = hist[("exact", side)]
            ax.stairs(
                mass / width,
                np.append(bins, bins[-1] + width),
                color=style.color(i),
                linewidth=1.6,
                label=f"{name}: exact law",
            )
            ax.axvline(
                mean,
                color=style.color(i),
                linestyle="--",
                linewidth=1.1,
                label=f"{name}: exact mean {mean:.2f}",
            )
        if ("sampled", side) in hist:
            bins, mass, mean = hist[("sampled", side)]
            ax.plot(
                bins + width / 2,
                mass / width,
                "o",
                color=style.color(i),
                ms=3.5,
                label=f"{name}: sampled (mean {mean:.2f})",
            )
    ax.set_xlabel(rf"$\log\pi_{{\rm base}}(y|x)$ (nats, bins of {width:.1f})")
    ax.set_ylabel("density given correctness (1/nat)")
    ax.set_title("Correct responses are more likely under the base model")
    ax.legend(loc="upper left")
    style.note(
        fig, "Densities averaged over seeds (one random task each); y ~ pi_base(.|x), x uniform."
    )
    return fig


def _bin_width(records):
    edges = np.unique([r["bin_lo"] for r in records])
    return float(np.min(np.diff(edges))) if edges.size > 1 else 1.0


def bon_concentration(records, out_dir):
    """Prop. C.1: P[BoN returns the mode] vs N; token temperature vs sequence-level power law (TV)."""
    fig, (ax, bx) = style.new_figure(ncols=2, width=4.3, height=3.4)
    bon = select(records, {"panel": "bon"})
    worlds = sorted(distinct(bon, "world"), key=lambda w: float(w.split("=")[1]))
    for i, world in enumerate(worlds):
        where = {"world": world}
        c = style.color(i)
        style.band(
            ax,
            summarize(bon, "x", "exact", where),
            c,
            marker=None,
            linestyle="-",
            label=f"{world}: exact",
        )
        m = summarize(bon, "x", "mc", where)
        ax.errorbar(m.x, m.y, yerr=[m.y - m.lo, m.hi - m.y], fmt="o", color=c, ms=3, capsize=2)
        b = summarize(bon, "x", "bound", where)
        ax.plot(b.x, b.y, linestyle="--", color=c, linewidth=1.1)
    ax.plot([], [], "o", color="0.3", ms=3, label="sampled BoN (dots)")
    ax.plot(
        [], [], "--", color="0.3", label=r"Prop. C.1 bound $1-e^{-N\pi(y^*)}$ (no hidden const.)"
    )
    style.log2_ticks(ax, sorted(distinct(bon, "x")))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("N (log scale)")
    ax.set_ylabel("P[best-of-N returns the mode]")
    ax.set_title("(a) BoN concentrates on the mode")
    ax.legend(loc="lower right", fontsize=6.5)
    power = select(records, {"panel": "power"})
    for i, world in enumerate(distinct(power, "world")):
        c = style.color(i + 4)
        where = {"world": world}
        style.band(
            bx,
            summarize(power, "x", "exact", where),
            c,
            marker=None,
            linestyle="-",
            label=f"{world}: exact TV",
        )
        m = summarize(power, "x", "mc", where)
        bx.errorbar(m.x, m.y, yerr=[m.y - m.lo, m.hi - m.y], fmt="s", color=c, ms=3, capsize=2)
        f = summarize(power, "x", "bound", where)
        bx.plot(f.x, f.y, ":", color=c, linewidth=1.1)
    bx.plot([], [], "s", color="0.3", ms=3, label="MCMC power sampler vs exact power law")
    bx.plot([], [], ":", color="0.3", label="noise floor: exact draws vs exact law")
    style.log2_ticks(bx, sorted(distinct(power, "x")))
    bx.set_xlabel(r"$\alpha$ (power; token temperature $1/\alpha$)")
    bx.set_ylabel("total variation distance")
    bx.set_title(r"(b) token temperature $\neq$ sequence power $\pi^\alpha$")
    bx.legend(loc="upper left", fontsize=6.5)
    style.note(
        fig,
        f"{style.BAND_NOTE}. (b): exact TV(token temperature 1/alpha, pi^alpha/Z); "
        "MC rows compare samples with the exact power law.",
    )
    fig.tight_layout()
    return fig
