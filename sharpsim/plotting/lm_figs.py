"""Figures of the real-LM study (Figure 1 and Table 1 analogues on a causal LM, issue 16 §2).

Intervals (bands, error bars) come from :func:`sharpsim.plotting.lm_stats.interval`:
Student-t over seeds with >= 2 seeds, a bootstrap over prompts with one.
"""

from __future__ import annotations

import numpy as np

from . import style
from .lm_stats import by_seed, interval, kinds_of

#: Columns of the heatmaps (N values shown), when the records reach them.
HEAT_N = (1, 2, 4, 8, 16, 32)
#: The heatmaps' outlined column (Table 1's best-of-N).
HIGHLIGHT_N = 16


def _setting(records) -> str:
    r = records[0]
    seeds = len({x["seed"] for x in records})
    how = "Student-t 95% CI over seeds" if seeds >= 2 else "95% bootstrap CI over prompts (1 seed)"
    return (
        f"Model {r['model']} ({r['dtype']}, {r['device']}); {seeds} seed(s); {r['n_test']} test "
        f"prompts per kind, at most {r['max_new_tokens']} new tokens; intervals: {how}."
    )


def _heat(ax, fig, values, kinds, ns, title, fmt, label):
    from matplotlib.patches import Rectangle

    bound = float(np.nanmax(np.abs(values))) or 1.0
    im = ax.imshow(values, cmap="RdBu", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(len(ns)), [str(n) for n in ns])
    ax.set_yticks(range(len(kinds)), kinds)
    ax.grid(False)
    for (i, j), v in np.ndenumerate(values):
        ink = "white" if abs(v) > 0.6 * bound else "black"
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7, color=ink)
    if HIGHLIGHT_N in ns:  # the N of Table 1 and of the paper's Figure 1 heatmap
        j = list(ns).index(HIGHLIGHT_N)
        ax.add_patch(Rectangle((j - 0.5, -0.5), 1, len(kinds), fill=False, lw=1.6, ec="k"))
    ax.set_xlabel("N (best-of-N candidates)")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=label, shrink=0.85)


def lm_bon_heatmap(records, out_dir):
    """Best-of-N lift over the base's greedy per task kind (rows) and N (columns): accuracy, log-lik."""
    kinds = [*kinds_of(records), "all kinds"]
    top = max(r["N"] for r in records)
    ns = [n for n in HEAT_N if n <= top]
    fig, (left, right) = style.new_figure(ncols=2, width=4.6, height=0.45 * len(kinds) + 1.8)

    def where(kind, n):
        return {"N": n} if kind == "all kinds" else {"kind": kind, "N": n}

    for ax, col, title, fmt, label in (
        (left, "accuracy_lift", "accuracy lift of best-of-N", "{:+.2f}", "accuracy lift"),
        (right, "log_likelihood_lift", "log-likelihood lift", "{:+.1f}", "nats"),
    ):
        values = np.array(
            [[interval(by_seed(records, col, where(k, n))).mean for n in ns] for k in kinds]
        )
        _heat(ax, fig, values, kinds, ns, title, fmt, label)
    greedy = {k: interval(by_seed(records, "greedy_correct", where(k, 1))).mean for k in kinds}
    left.set_yticks(range(len(kinds)), [f"{k} (greedy {greedy[k]:.2f})" for k in kinds])
    right.set_yticks(range(len(kinds)), ["" for _ in kinds])
    fig.suptitle("Best-of-N (log-likelihood self-reward) over greedy decoding, per task kind")
    fig.tight_layout()
    style.note(
        fig,
        "Cells: mean over test prompts and seeds of (best-of-N pick − the base's greedy response); "
        "log-likelihood under the base model; N nested prefixes of one set of draws; outlined: "
        f"N = {HIGHLIGHT_N}, Table 1's best-of-N. " + _setting(records),
    )
    return fig


def lm_bon_curves(records, out_dir):
    """Accuracy lift (left axis) and log-likelihood lift (right axis) vs N, one panel per task kind."""
    kinds = kinds_of(records)
    panels = [None, *kinds]
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = style.new_figure(ncols=ncols, nrows=nrows, width=2.9, height=2.3)
    ns = sorted({r["N"] for r in records})
    twins = []
    for k, (ax, kind) in enumerate(zip(axes, panels)):
        where = {} if kind is None else {"kind": kind}
        right = ax.twinx()
        twins.append(right)
        for axis, col, color, dash, label in (
            (ax, "accuracy_lift", style.color(0), "-", "accuracy lift"),
            (right, "log_likelihood_lift", style.color(1), "--", "log-likelihood lift (nats)"),
        ):
            cis = [interval(by_seed(records, col, {**where, "N": n})) for n in ns]
            axis.fill_between(ns, [c.lo for c in cis], [c.hi for c in cis], color=color, alpha=0.15)
            axis.plot(ns, [c.mean for c in cis], dash, color=color, label=label)
            axis.tick_params(axis="y", colors=color, labelsize=7)
        _align_zero(ax, right)
        ax.axhline(0, color="0.4", lw=0.8, ls=":")  # zero of both axes
        right.grid(False)
        right.spines["right"].set_visible(True)
        style.log2_ticks(ax, [n for n in HEAT_N if n <= ns[-1]])
        ax.set_title("all kinds pooled" if kind is None else kind, fontsize=9)
        if k % ncols == 0:
            ax.set_ylabel("accuracy lift", color=style.color(0))
        if k % ncols == ncols - 1 or k == len(panels) - 1:
            right.set_ylabel("log-lik. lift (nats)", color=style.color(1))
        if k >= len(panels) - ncols:
            ax.set_xlabel("N (candidates)")
    for ax in axes[len(panels) :]:
        ax.remove()
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.suptitle("Best-of-N − greedy vs N, per task kind", y=0.995)
    fig.legend(
        [axes[0].get_lines()[0], twins[0].get_lines()[0]],
        ["accuracy lift over greedy (left axis)", "log-likelihood lift over greedy (right axis)"],
        loc="upper center",
        bbox_to_anchor=(0.5, 0.96),
        ncol=2,
    )
    style.note(fig, "Shaded: 95% intervals. " + _setting(records))
    return fig


def _align_zero(a, b) -> None:
    """Extend the y ranges of twin axes ``a`` and ``b`` so that 0 sits at the same height on both."""
    limits = [(min(lo, 0.0), max(hi, 0.0)) for lo, hi in (a.get_ylim(), b.get_ylim())]
    fractions = [-lo / (hi - lo) if hi > lo else 0.5 for lo, hi in limits]
    f = min(max(sum(fractions) / 2, 0.1), 0.9)  # the common height of 0, from the bottom
    for axis, (lo, hi), g in zip((a, b), limits, fractions):
        if hi == lo:
            lo, hi = -f, 1 - f
        elif g < f:
            lo = -f * hi / (1 - f)
        elif g > f:
            hi = -lo * (1 - f) / f
        axis.set_ylim(lo, hi)


def _bars(ax, groups, labels, kinds, col, first_color=0):
    """Grouped bars (one group per kind, one bar per method) with interval error bars."""
    width = 0.8 / len(groups)
    for j, (label, rows, column) in enumerate(zip(labels, groups, col)):
        cis = [interval(by_seed(rows, column, {} if k == "all" else {"kind": k})) for k in kinds]
        x = np.arange(len(kinds)) + (j - (len(groups) - 1) / 2) * width
        means = np.array([c.mean for c in cis])
        err = np.array([[c.mean - c.lo for c in cis], [c.hi - c.mean for c in cis]])
        color = style.color(first_color + j)
        ax.bar(x, means, width, yerr=err, color=color, label=label, capsize=2)
    ax.set_xticks(range(len(kinds)), kinds, rotation=30, ha="right")
    ax.axhline(0, color="0.3", lw=0.8)


def lm_table(records, out_dir):
    """Table 1 as bars: accuracy of greedy decoding, base vs sharpened; paired Δ log-likelihood."""
    kinds = [*kinds_of(records), "all"]
    methods = list(dict.fromkeys(r["method"] for r in records))
    first = [r for r in records if r["method"] == methods[0]]
    groups = [first] + [[r for r in records if r["method"] == m] for m in methods]
    labels = ["base greedy"] + [m.split()[0].upper() + "-sharpened" for m in methods]
    fig, (acc, ll) = style.new_figure(ncols=2, width=max(4.6, 0.55 * len(kinds)), height=3.4)
    _bars(acc, groups, labels, kinds, ["greedy_correct"] + ["correct"] * len(methods))
    _bars(ll, groups[1:], labels[1:], kinds, ["log_likelihood_lift"] * len(methods), 1)
    acc.set_ylabel("accuracy of greedy decoding")
    acc.set_title("accuracy per task kind")
    ll.set_ylabel("Δ log π_base(greedy) vs base greedy (nats)")
    ll.set_title("paired log-likelihood gain under the base")
    handles, names = acc.get_legend_handles_labels()
    fig.legend(handles, names, loc="upper center", ncol=len(names), fontsize=7.5)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    style.note(fig, "Methods: " + "; ".join(methods) + ". " + _setting(records))
    return fig


def lm_ablation(records, out_dir):
    """SFT-sharpening settings: paired Δ accuracy and Δ base log-likelihood vs the base's greedy."""
    methods = list(dict.fromkeys(r["method"] for r in records))
    fig, (acc, ll) = style.new_figure(ncols=2, width=4.2, height=0.5 * len(methods) + 1.8)
    y = np.arange(len(methods))
    for ax, col, xlabel in (
        (acc, "accuracy_lift", "Δ accuracy vs base greedy"),
        (ll, "log_likelihood_lift", "Δ log π_base vs base greedy (nats)"),
    ):
        cis = [interval(by_seed(records, col, {"method": m})) for m in methods]
        means = np.array([c.mean for c in cis])
        err = np.array([[c.mean - c.lo for c in cis], [c.hi - c.mean for c in cis]])
        ax.barh(y, means, xerr=err, color=[style.color(i) for i in range(len(methods))], capsize=2)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, methods if ax is acc else ["" for _ in methods])
        ax.set_xlabel(xlabel)
    acc.invert_yaxis()  # the first setting on top, as in the report's table
    ll.invert_yaxis()
    acc.set_title("accuracy (paired)")
    ll.set_title("base log-likelihood (paired)")
    fig.suptitle("SFT-sharpening ablation (lora_r=0: full fine-tuning)")
    fig.tight_layout()
    style.note(fig, "All task kinds pooled. " + _setting(records))
    return fig
