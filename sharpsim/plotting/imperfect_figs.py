"""Figures of an imperfect reward: best-of-N's over-optimisation and χ²-pessimism (SPEC §11)."""

from __future__ import annotations

import numpy as np

from . import style
from .stats import distinct, select


def imperfect_scaling(records, out_dir):
    """Regret vs N (log x): best-of-N (solid, its minimiser marked) and ITP (dashed) per ε."""
    fig, (ax,) = style.new_figure(width=5.6, height=3.6)
    for i, eps in enumerate(sorted(distinct(records, "eps"))):
        c = style.color(i)
        for method, ls in (("bon", "-"), ("itp", "--")):
            rows = sorted(select(records, {"eps": eps, "method": method}), key=lambda r: r["n"])
            n = np.array([r["n"] for r in rows])
            reg = np.array([r["regret"] for r in rows])
            name = "best-of-N" if method == "bon" else "ITP, beta=eps/sqrt(C1)"
            ax.plot(n, reg, ls, color=c, label=f"{name}, eps={rows[0]['eps_realised']:.2g}")
            if method == "bon":
                j = int(np.argmin(reg))
                ax.plot(n[j], reg[j], "v", color=c, ms=6)
    ax.set_xscale("log")
    ax.set_xlabel("N (draws from pi_ref)")
    ax.set_ylabel("regret J(pi*) - J(output) under r*")
    ax.set_title("Best-of-N over-optimises an imperfect reward; ITP does not")
    style.legend_outside(ax, fontsize=6.5)
    style.note(
        fig,
        "Exact laws, one prompt, |Y| = 2000 (Zipf pi_ref), adversarial proxy with error eps^2 on the "
        "1000 rarest responses. Triangles: best-of-N's best N (moves left as eps grows). ITP uses the "
        "population normaliser (sharpsim.itp_law).",
    )
    return fig


def imperfect_rates(records, out_dir):
    """Tuned regrets vs ε (middle C) and vs C (middle ε) on log-log axes, beside √(Cε²) and the bounds."""
    from matplotlib.ticker import NullFormatter

    fig, (left, right) = style.new_figure(ncols=2, width=3.9, height=3.3)
    covs, epss = sorted(distinct(records, "coverage")), sorted(distinct(records, "eps"))
    for ax, fixed, key, xlabel in (
        (
            left,
            {"coverage": covs[len(covs) // 2]},
            "eps_realised",
            "eps (proxy error, realised)",
        ),
        (right, {"eps": epss[len(epss) // 2]}, "c_1", "C_1 = 1 + chi2(pi*||pi_ref)"),
    ):
        rows = sorted(select(records, fixed), key=lambda r: r[key])
        x = np.array([r[key] for r in rows])
        for i, (col, label, marker) in enumerate(
            (
                ("bon_tuned", "best-of-N, best N", "o"),
                ("itp_tuned", "ITP, beta=eps/sqrt(C1), N=1e6", "s"),
            )
        ):
            y = np.array([r[col] for r in rows])
            keep = y > 0  # a regret of exactly 0 has no place on a log axis
            ax.plot(x[keep], y[keep], marker, color=style.color(i), label=label)
        ax.plot(x, [r["rate"] for r in rows], "-", color="0.3", label="sqrt(C1 eps^2)")
        ax.plot(x, [r["itp_bound"] for r in rows], ":", color=style.color(1), label="ITP bound")
        ax.plot(
            x,
            [r["bon_bound"] for r in rows],
            ":",
            color=style.color(0),
            label="BoN bound (tuned N)",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # 2×10⁻³, 3×10⁻³ ... overlap
        ax.set_xlabel(xlabel)
        ax.set_ylabel("regret under r*")
        ((name, value),) = fixed.items()
        ax.set_title(f"{name} = {value:g}")
    right.legend(fontsize=6.5, loc="lower right")
    fig.suptitle("Tuned regret with an imperfect reward vs the sqrt(C eps^2) rate", y=1.03)
    style.note(
        fig,
        "Exact; Zipf world, best response of mass ~1/C under-rated by the proxy, rare responses over-rated "
        "(error eps^2 in all). Bounds derived in "
        "sharpsim.theory.bounds.imperfect; the minimax floor eps*sqrt(C)/2 binds on the two-point pair.",
    )
    return fig


def itp_heatmap(records, out_dir):
    """ITP's exact regret over (β, N) as a heatmap, the tuned ``β* = ε/√C_1`` marked."""
    fig, (ax,) = style.new_figure(width=5.0, height=3.6)
    betas = np.array(sorted(distinct(records, "beta")))
    ns = np.array(sorted(distinct(records, "n")))
    grid = np.full((betas.size, ns.size), np.nan)
    for r in records:
        grid[np.searchsorted(betas, r["beta"]), np.searchsorted(ns, r["n"])] = r["regret"]
    mesh = ax.pcolormesh(_edges(ns), _edges(betas), grid, cmap="viridis", shading="flat")
    fig.colorbar(mesh, ax=ax, label="regret under r*")
    beta_star = records[0]["beta_star"]
    ax.axhline(
        beta_star, color="white", ls="--", lw=1.2, label=f"beta* = eps/sqrt(C1) = {beta_star:.2g}"
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (draws from pi_ref)")
    ax.set_ylabel("beta (chi2 weight)")
    ax.set_title(f"InferenceTimePessimism, eps = {records[0]['eps_realised']:.2g}")
    ax.legend(fontsize=7, loc="lower left")
    style.note(
        fig,
        "Exact population-lambda law; each row (fixed beta) is monotone in N: scaling-monotonic.",
    )
    return fig


def _edges(values):
    """Cell edges for a log-spaced axis: geometric midpoints, extended by half a step."""
    logs = np.log(values)
    mid = (logs[1:] + logs[:-1]) / 2
    return np.exp(np.concatenate([[2 * logs[0] - mid[0]], mid, [2 * logs[-1] - mid[-1]]]))
