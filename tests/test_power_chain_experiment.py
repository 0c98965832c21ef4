"""The ``power_chain`` experiment and figure: records checked against the core, the figure's data read back."""

import math

import numpy as np
import pytest

import sharpsim as ss
from sharpsim import experiments, plotting
from sharpsim.experiments.power_chain import EXACT_STEPS, SAMPLED_STEPS, _chains, _world

LEVEL = 1e-3  # family-wise level of the statistical check below
TINY = {"alpha": 3.0, "vocab": 2, "horizon": 4, "draws": 300}
KEYS = {"kind", "chain", "block", "tau", "step", "tv", "tv_noise", "gap", "t_mix", "n_states"}
KEYS |= {"growth"}


@pytest.fixture(scope="module")
def records():
    return experiments.get("power_chain").func(np.random.default_rng(5), **TINY)


def test_records_have_documented_keys_and_types_and_are_reproducible(records):
    exp = experiments.get("power_chain")
    assert (
        exp.figures == ("power_chain",) and plotting.FIGURES["power_chain"].experiment == exp.name
    )
    for r in records:
        assert set(r) == KEYS
        assert all(type(v) in (int, float, bool, str) for v in r.values())
    again = exp.func(np.random.default_rng(5), **TINY)
    assert [str(r) for r in again] == [str(r) for r in records]


def test_exact_rows_and_references_match_the_core(records):
    policy = _world(np.random.default_rng(5), TINY["vocab"], TINY["horizon"])  # the first draw
    alpha = TINY["alpha"]
    target = ss.power_law(policy, alpha).probs[0]
    greedy = ss.encode_sequences(ss.greedy_decode(policy, [0])[0], 2)
    refs = {r["chain"]: r["tv"] for r in records if r["kind"] == "reference"}
    assert refs["greedy decoding"] == pytest.approx(1.0 - target[greedy], abs=1e-12)
    token = ss.token_temperature_law(policy, 1 / alpha).probs[0]
    assert refs["token temperature 1/alpha"] == pytest.approx(0.5 * np.abs(token - target).sum())
    for label, how, block, init, growth in _chains(TINY["horizon"]):
        tau = 1 / alpha if how == "inverse" else 1.0
        kw = {"proposal_temperature": tau, "block_size": block, "init": init}
        rows = [r for r in records if r["kind"] == "exact" and r["chain"] == label]
        if growth:
            stages = -(-TINY["horizon"] // growth)
            per_stage = [r["step"] // stages for r in rows]
            assert [k * stages for k in per_stage] == [r["step"] for r in rows]
            want = ss.power_chain_law(policy, 0, alpha, per_stage, growth_block=growth, **kw).tv
            np.testing.assert_allclose([r["tv"] for r in rows], want, rtol=0, atol=1e-12)
            assert {r["gap"] for r in rows} == {-1.0}
            continue
        assert [r["step"] for r in rows] == list(EXACT_STEPS)
        want = ss.power_chain_law(policy, 0, alpha, list(EXACT_STEPS), **kw).tv
        np.testing.assert_allclose([r["tv"] for r in rows], want, rtol=0, atol=1e-12)
        mixing = ss.power_chain_mixing(policy, 0, alpha, **kw)
        assert rows[0]["gap"] == pytest.approx(mixing.spectral_gap, abs=1e-12)
        assert rows[0]["t_mix"] == mixing.mixing_time


def test_sampled_tv_is_within_a_stated_band_of_the_exact_tv(records):
    """|TV(emp, π^α) − TV(law_k, π^α)| <= TV(emp, law_k) <= E + sqrt(log(1/δ)/(2n)) (McDiarmid),
    E <= ½ Σ_y sqrt(p_y(1 − p_y)/n); δ = LEVEL / #rows (Bonferroni)."""
    policy = _world(np.random.default_rng(5), TINY["vocab"], TINY["horizon"])
    n, alpha = TINY["draws"], TINY["alpha"]
    sampled = [r for r in records if r["kind"] == "sampled"]
    delta = LEVEL / len(sampled)
    for r in sampled:
        kw = {"proposal_temperature": r["tau"], "block_size": r["block"]}
        init = "proposal" if "1/alpha" in r["chain"] else None
        steps = r["step"]
        if r["growth"]:
            kw["growth_block"] = r["growth"]
            steps //= -(-TINY["horizon"] // r["growth"])
        law = ss.power_chain_law(policy, 0, alpha, [steps], init=init, **kw)
        p = law.laws[0]
        band = 0.5 * np.sqrt(p * (1 - p) / n).sum() + math.sqrt(math.log(1 / delta) / (2 * n))
        assert abs(r["tv"] - law.tv[0]) <= band
        assert abs(r["tv_noise"] - law.tv[0]) <= band
    assert {r["step"] for r in sampled if not r["growth"]} == set(SAMPLED_STEPS)


def test_figure_draws_the_records(records, tmp_path):
    pytest.importorskip("matplotlib")
    rows = [{"experiment": "power_chain", "cell": 0, "seed": 0, **TINY, **r} for r in records]
    paths = plotting.figure("power_chain", rows, tmp_path)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    from sharpsim.plotting import power_chain_figs, style

    with style.styled():
        fig = power_chain_figs.power_chain(rows, tmp_path)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    for label, *_ in _chains(TINY["horizon"]):
        exact = [r["tv"] for r in records if r["chain"] == label and r["kind"] == "exact"]
        want = np.array(exact)
        want[want < power_chain_figs.TV_FLOOR] = np.nan
        np.testing.assert_allclose(lines[label].get_ydata(), want)
    greedy = [r["tv"] for r in records if r["chain"] == "greedy decoding"][0]
    np.testing.assert_allclose(lines["greedy decoding"].get_ydata(), [greedy, greedy])
    assert (
        ax.get_xlabel()
        and ax.get_ylabel()
        and ax.get_title() == r"exact power-sampler chain, $\alpha = 3$"
    )
