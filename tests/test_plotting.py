"""Figures: every figure writes PNG + PDF; the data drawn is checked against the core (not pixels).

Records come from tiny cells of the registered experiments (two seeds, in the
runner's schema ``{"experiment", "cell", "seed", **cell, **record}``). The
drawn curves are read back from the matplotlib objects by their legend label.
"""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_experiments_defs import TINY

import sharpsim as ss
from sharpsim import experiments, plotting
from sharpsim.plotting.stats import bootstrap_ci, fit_loglog_slope, slope_label, summarize
from sharpsim.theory.bounds import lower_bound_samples
from sharpsim.theory.instances import lower_bound_bayes_error, lower_bound_family

matplotlib = pytest.importorskip("matplotlib")

SEEDS = 2


@pytest.fixture(scope="module")
def records():
    out = {}
    for name, cell in TINY.items():
        rows = []
        for seed in range(SEEDS):
            for r in experiments.get(name).func(np.random.default_rng(seed), **cell):
                rows.append({"experiment": name, "cell": 0, "seed": seed, **cell, **r})
        out[name] = rows
    # sample_size needs at least two points per sweep for its fits.
    out["sample_size"] = [
        {"experiment": "sample_size", "cell": c, "seed": 0, "sweep": sw, "k": k, **r}
        for c, (sw, k) in enumerate([("C_cov", 0), ("C_cov", 1), ("1/eps", 0), ("1/eps", 1)])
        for r in experiments.get("sample_size").func(None, sweep=sw, k=k)
    ]
    # The real-LM study (torch): its stored run, so its figures are drawn without torch.
    stored = Path(__file__).resolve().parents[1] / "docs" / "lectures" / "stored" / "lm_study"
    for name in ("lm_bon", "lm_table", "lm_ablation"):
        out[name] = experiments.read_results(stored / name / "results.csv")
    return out


def draw(name, rows, tmp_path):
    """The matplotlib Figure of ``name`` (not saved), for reading its data back."""
    import importlib

    module, func = plotting._DRAWERS[name].split(":")
    with (
        plotting.style.styled()
        if hasattr(plotting, "style")
        else importlib.import_module("sharpsim.plotting.style").styled()
    ):
        return getattr(importlib.import_module(f"sharpsim.plotting.{module}"), func)(rows, tmp_path)


def line(fig, label):
    """(x, y) of the line whose legend label starts with ``label`` (exactly one must)."""
    found = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_label().startswith(label)]
    assert len(found) == 1, [ln.get_label() for ax in fig.axes for ln in ax.get_lines()]
    return np.asarray(found[0].get_xdata(), float), np.asarray(found[0].get_ydata(), float)


@pytest.mark.parametrize("name", sorted(plotting.FIGURES))
def test_figure_writes_png_and_pdf(name, records, tmp_path):
    paths = plotting.figure(name, records[plotting.FIGURES[name].experiment], tmp_path / "out")
    assert [p.name for p in paths] == [f"{name}.png", f"{name}.pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    assert paths[0].stat().st_size < 300_000


def test_figures_cover_the_twelve_and_their_experiments_exist():
    assert len(plotting.FIGURES) >= 12
    for name, (experiment, caption) in plotting.FIGURES.items():
        assert name in experiments.get(experiment).figures and caption
        assert name in plotting._DRAWERS


def test_figure_rejects_bad_input(records, tmp_path):
    with pytest.raises(KeyError, match="no figure named"):
        plotting.figure("nope", [], tmp_path)
    with pytest.raises(ValueError, match="needs records of experiment 'sft_error'"):
        plotting.figure("sft_error", records["bon_lift"], tmp_path)


def test_imports_stay_lazy():
    code = (
        "import sys, sharpsim, sharpsim.experiments, sharpsim.plotting, sharpsim.plotting.sft_figs; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- data behind the figures


def test_sft_error_curves_are_the_exact_functions(records, tmp_path):
    rows = records["sft_error"]
    fig = draw("sft_error", rows, tmp_path)
    from sharpsim.experiments.sft import SFT_WORLD as w

    inst = lower_bound_family(w["d"], w["M"], w["Delta"], index=[2, 5])
    N = TINY["sft_error"]["N"]
    x, y = line(fig, f"N={N}: exact E[error]")
    expected = [ss.expected_sft_error(inst.base, int(n), N, 2 * w["delta"], inst.mu) for n in x]
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-15)


def test_sample_size_lower_bound_and_slopes(records, tmp_path):
    rows = records["sample_size"]
    fig = draw("sample_size", rows, tmp_path)
    eps_rows = sorted([r for r in rows if r["sweep"] == "1/eps"], key=lambda r: r["epsilon"])
    lines = [ln for ln in fig.axes[1].get_lines() if ln.get_label().startswith("Thm 3.1 rate")]
    assert len(lines) == 1
    expected = [
        lower_bound_samples(r["epsilon"], r["C_cov"], r["log_class_size"]) for r in eps_rows
    ]
    np.testing.assert_allclose(lines[0].get_ydata(), expected)
    fit = fit_loglog_slope([1 / r["epsilon"] for r in eps_rows], [r["m"] for r in eps_rows])
    labels = [ln.get_label() for ln in fig.axes[1].get_lines()]
    assert f"fit: {slope_label(fit)}" in labels


def test_phase_transition_curves(records, tmp_path):
    from sharpsim.plotting.theory_figs import phase_curves

    rows = records["phase_transition"]
    c = TINY["phase_transition"]
    ((key, (ratio, exact, mc, half)),) = phase_curves(rows).items()
    assert key == (c["d"], c["M"])
    delta = rows[0]["Delta"]
    ms = sorted({r["m"] for r in rows})
    np.testing.assert_allclose(
        exact, [float(lower_bound_bayes_error(c["d"], c["M"], delta, m, 1)) / delta for m in ms]
    )
    z = stats.norm.ppf(0.975)
    for m, h in zip(ms, half):
        ses = [r["error_mc_se"] for r in rows if r["m"] == m]
        assert h == pytest.approx(z * math.sqrt(sum(s * s for s in ses)) / len(ses) / delta)
    fig = draw("phase_transition", rows, tmp_path)
    x, y = line(fig, f"d={c['d']}, M={c['M']}: exact")
    np.testing.assert_allclose(y, exact)


def test_bon_concentration_bound_and_exact_lines(records, tmp_path):
    rows = records["bon_concentration"]
    fig = draw("bon_concentration", rows, tmp_path)
    x, y = line(fig, "C_cov = 3.33: exact")
    np.testing.assert_allclose(y, 1 - (1 - 0.3) ** x, atol=1e-12)
    dashed = [
        ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--" and len(ln.get_xdata())
    ]
    np.testing.assert_allclose(
        dashed[0].get_ydata(), -np.expm1(-0.3 * np.asarray(dashed[0].get_xdata()))
    )


def test_bon_lift_skyline_and_lifts(records, tmp_path):
    rows = records["bon_lift"]
    fig = draw("bon_lift", rows, tmp_path)
    x, y = line(fig, "pass@N skyline")
    ll = [r for r in rows if r["reward"] == "log-likelihood"]
    for N, v in zip(x, y):
        vals = [100 * (r["pass_at_n"] - r["greedy_accuracy"]) for r in ll if r["N"] == N]
        assert v == pytest.approx(np.mean(vals))
    x, y = line(fig, "log-likelihood (exact law)")
    assert y[0] == pytest.approx(
        np.mean([100 * (r["sample_accuracy"] - r["greedy_accuracy"]) for r in ll if r["N"] == 1])
    )


def test_loglik_histogram_masses(records, tmp_path):
    from sharpsim.plotting.inference_figs import _histograms

    hist = _histograms(records["loglik_correctness"])
    for (source, _side), (bins, mass, _mean) in hist.items():
        if source == "exact":  # every seed's exact histogram sums to 1, so does their average
            assert mass.sum() == pytest.approx(1.0)
        assert np.all(np.diff(bins) > 0)


def test_adaptive_and_separation_and_xpo_draw(records, tmp_path):
    fig = draw("adaptive_sft", records["adaptive_sft"], tmp_path)
    x, y = line(fig, "adaptive SFT: exact E[m]")
    rows = records["adaptive_sft"]
    eps = sorted({r["epsilon"] for r in rows}, reverse=True)
    np.testing.assert_allclose(x, [1 / e for e in eps])
    np.testing.assert_allclose(
        y, [np.mean([r["m_adaptive"] for r in rows if r["epsilon"] == e]) for e in eps]
    )
    rows = records["xpo_dynamics"]
    fig = draw("xpo_dynamics", rows, tmp_path)
    x, y = line(
        fig, "Thm J.1 bound"
    )  # each seed has its own packing (R_max): the line is their mean
    np.testing.assert_allclose(y, [np.mean([r["bound"] for r in rows if r["t"] == t]) for t in x])
    fig = draw("separation", records["separation"], tmp_path)
    x, y = line(fig, "SFT (exact): reached eps")  # geometric mean over seeds
    sft_rows = [r for r in records["separation"] if r["method"] == "SFT (exact)"]
    np.testing.assert_allclose(
        y, [10 ** np.mean([np.log10(r["queries"]) for r in sft_rows if r["d"] == d]) for d in x]
    )


# --------------------------------------------------------------------------- statistics


def test_fit_loglog_slope_exact_power_law():
    fit = fit_loglog_slope([1, 2, 4, 8, 16], [5 * v**1.5 for v in (1, 2, 4, 8, 16)])
    assert (
        fit.slope == pytest.approx(1.5)
        and fit.lo == pytest.approx(1.5)
        and fit.hi == pytest.approx(1.5)
    )
    assert math.exp(fit.intercept) == pytest.approx(5.0)
    two = fit_loglog_slope([1, 10], [1, 100])
    assert two.slope == pytest.approx(2.0) and math.isinf(two.hi) and "no CI" in slope_label(two)
    with pytest.raises(ValueError, match="positive"):
        fit_loglog_slope([1, 2, 3], [1, 0, 2])


def test_fit_loglog_slope_interval_covers_at_its_level():
    # 400 synthetic log-log data sets with Gaussian noise: the 95% t-interval must cover the true slope
    # in a fraction consistent with 0.95 (two-sided binomial test at level 1e-3).
    rng = np.random.default_rng(7)
    x = np.geomspace(1, 100, 6)
    hits = 0
    trials = 400
    for _ in range(trials):
        y = 3.0 * x**2 * np.exp(0.3 * rng.standard_normal(x.size))
        fit = fit_loglog_slope(x, y)
        hits += fit.lo <= 2.0 <= fit.hi
    assert stats.binomtest(hits, trials, 0.95).pvalue > 1e-3


def test_bootstrap_ci_is_seeded_and_matches_normal_theory():
    v = np.random.default_rng(1).standard_normal(400)
    m, lo, hi = bootstrap_ci(v)
    assert (m, lo, hi) == bootstrap_ci(v)
    half_normal = stats.norm.ppf(0.975) * v.std(ddof=1) / math.sqrt(v.size)
    assert (hi - lo) / 2 == pytest.approx(
        half_normal, rel=0.15
    )  # bootstrap SE error ~ 1/sqrt(2000) plus skew
    assert bootstrap_ci([2.5]) == (2.5, 2.5, 2.5)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([1.0, float("nan")])


def test_summarize_groups_and_filters():
    recs = [
        {"N": 2, "r": "a", "v": 1.0},
        {"N": 1, "r": "a", "v": 3.0},
        {"N": 1, "r": "b", "v": 9.0},
        {"N": 1, "r": "a", "v": 5.0},
    ]
    s = summarize(recs, "N", "v", {"r": "a"})
    assert s.x.tolist() == [1, 2] and s.y.tolist() == [4.0, 1.0] and s.count.tolist() == [2, 1]
    assert s.lo[0] >= 3.0 and s.hi[0] <= 5.0
    with pytest.raises(ValueError, match="no records match"):
        summarize(recs, "N", "v", {"r": "zzz"})
