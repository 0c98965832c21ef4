"""One paper style for every figure: rc parameters, palette, saving PNG + PDF.

matplotlib is imported inside the functions, only when a figure is drawn.
Figures are built with the object-oriented API (``matplotlib.figure.Figure``,
rendered by the Agg canvas when saved): no pyplot, no global backend switch,
no global rcParams change (the style applies inside :func:`styled`).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

#: Colour-blind-safe palette (Okabe–Ito), in the order series are drawn.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: Exact curves are solid, theory overlays dashed, Monte Carlo markers hollow-free dots.
THEORY = {"linestyle": "--", "color": "0.35", "linewidth": 1.3}
RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "legend.frameon": False,
    "pdf.fonttype": 42,
    "savefig.bbox": "tight",
}
#: The band note printed on figures whose shaded regions come from seeds.
BAND_NOTE = "shaded: 95% bootstrap CI of the mean over seeds (2000 resamples, seed 0)"


def styled():
    """Context manager applying the paper style (``RC``) without touching the global rcParams."""
    import matplotlib

    return matplotlib.rc_context(RC)


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.2):
    """A figure with ``nrows × ncols`` axes (call inside :func:`styled`); Agg canvas, no pyplot."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel()


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def band(ax, summary, color, label=None, marker="o", linestyle="none", **kw):
    """Mean markers (or line) with the shaded seed band of a :class:`~sharpsim.plotting.stats.Summary`."""
    ax.fill_between(summary.x, summary.lo, summary.hi, color=color, alpha=0.2, linewidth=0)
    ax.plot(
        summary.x, summary.y, color=color, marker=marker, linestyle=linestyle, label=label, **kw
    )


def note(fig, text: str) -> None:
    """A footnote under the axes (band definition, constants), wrapped to the figure width."""
    width = int(fig.get_figwidth() * 17)
    fig.text(
        0.01,
        _below_axes(fig),
        textwrap.fill(text, width),
        fontsize=6.5,
        color="0.3",
        ha="left",
        va="top",
    )


def _below_axes(fig) -> float:
    """Figure y just under every axes' labels (tick labels and x label included), at most -0.01."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    lowest = min((ax.get_tightbbox(renderer).y0 for ax in fig.axes), default=0.0)
    y = fig.transFigure.inverted().transform((0.0, lowest))[1]
    return min(-0.01, float(y) - 0.01)


def log2_ticks(ax, values) -> None:
    """Log-2 x axis labelled with the plain values (1, 2, 4, ..., not 2^k)."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(values))
    ax.set_xticklabels([f"{v:g}" for v in values])
    ax.minorticks_off()


def plain_log_ticks(ax, values=None, axis: str = "x") -> None:
    """Label a log axis with plain numbers (10, 20, 40) instead of 2×10^1; ticks at ``values`` if given."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    if values is None:
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    else:
        target.set_major_locator(FixedLocator(sorted(values)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1000 else f"{v:.3g}"))
    target.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def integer_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def legend_outside(ax, **kw) -> None:
    """Legend to the right of the axes (keeps the data unobstructed)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kw)


def save(fig, out_dir, name: str) -> list[Path]:
    """Write ``<out_dir>/<name>.png`` and ``.pdf``; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    for p in paths:
        fig.savefig(p, metadata={"CreationDate": None} if p.suffix == ".pdf" else None)
    return paths
