"""Figure of the power sampler's exact chain: TV to ``π^α`` vs MH steps (SPEC §11)."""

from __future__ import annotations

import numpy as np

from . import style
from .stats import distinct, select, summarize

#: Lowest TV drawn (the exact curves reach 0 only in the limit; the y axis is logarithmic).
TV_FLOOR = 1e-4


def _shown(values):
    """``values`` with those below :data:`TV_FLOOR` blanked (NaN), so curves stop there."""
    values = np.asarray(values, dtype=float)
    return np.where(values >= TV_FLOOR, values, np.nan)


REFERENCES = (("greedy decoding", "k", "--"), ("token temperature 1/alpha", "0.45", ":"))


def power_chain(records, out_dir):
    """Exact TV to ``π^α`` vs MH steps, one panel per α: block sizes, proposals, sampled chains."""
    alphas = sorted(distinct(records, "alpha"))
    fig, axes = style.new_figure(ncols=len(alphas), width=3.6, height=3.4)
    for ax, alpha in zip(np.ravel(axes), alphas):
        _panel(ax, select(records, {"alpha": alpha}), alpha)
    first = np.ravel(axes)[0]
    first.set_ylabel(r"total variation to $\pi^\alpha/Z$ (log scale)")
    handles, labels = first.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, fontsize=6.5, frameon=False)
    n_states = sorted(distinct(records, "n_states"))
    style.note(
        fig,
        f"Exact lines: start law x K^k (Karan & Du's proposal pi at token temperature 1/alpha, "
        f"started from it; B = cut spacing, B = H the independence sampler; grey: base-model "
        f"proposal started from pi; 'grown by G': Karan & Du's schedule, G tokens at a time with k "
        f"MH steps after each chunk, plotted at k x (number of chunks)), mean over seeds (random Markov worlds, |Y| = "
        f"{', '.join(map(str, n_states))}); {style.BAND_NOTE}. Markers: sampled "
        f"chains' empirical TV; crosses: the same statistic for exact draws of the chain's law "
        f"(sampling-noise reference). Horizontal lines: exact TV of greedy and of token-"
        f"temperature-1/alpha decoding. Curves stop where the TV falls below {TV_FLOOR:g}.",
    )
    fig.tight_layout(rect=(0, 0, 1, 0.86))
    return fig


def _panel(ax, rows, alpha):
    exact = select(rows, {"kind": "exact"})
    chains = distinct(exact, "chain")
    for i, chain in enumerate(chains):
        color = "0.5" if "base model" in chain else style.color(i)
        s = summarize(exact, "step", "tv", {"chain": chain})
        s = s._replace(y=_shown(s.y), lo=_shown(s.lo), hi=_shown(s.hi))
        style.band(ax, s, color, label=f"{chain}", marker=None, linestyle="-")
        sampled = select(rows, {"kind": "sampled", "chain": chain})
        if sampled:
            m = summarize(sampled, "step", "tv")
            ax.plot(m.x, _shown(m.y), "o", color=color, ms=3.5)
            n = summarize(sampled, "step", "tv_noise")
            ax.plot(n.x, _shown(n.y), "x", color=color, ms=3.5)
    for method, color, dash in REFERENCES:
        ref = select(rows, {"kind": "reference", "chain": method})
        if ref:
            value = max(float(np.mean([r["tv"] for r in ref])), TV_FLOOR)
            ax.axhline(value, color=color, linestyle=dash, linewidth=1.1, label=method)
    ax.plot([], [], "o", color="0.3", ms=3.5, label="sampled chains")
    ax.plot([], [], "x", color="0.3", ms=3.5, label="exact draws (noise ref.)")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_yscale("log")
    ax.set_ylim(TV_FLOOR * 0.7, 1.3)
    ax.set_xlabel("Metropolis-Hastings steps k")
    ax.set_title(rf"exact power-sampler chain, $\alpha = {alpha:g}$")
