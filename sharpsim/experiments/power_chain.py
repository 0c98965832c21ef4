"""The power sampler's chain, exactly (SPEC §11): TV to ``π^α`` vs MH steps, by block size and α.

``power_chain`` builds, on one random Markov world per seed, the exact kernel
of :func:`~sharpsim.power_sample_mcmc` (Karan & Du's proposal: ``π`` at token
temperature ``1/α``, started from that proposal) for several cut-point
spacings ``B`` (``B = 1``: cut anywhere; ``B = H``: the independence sampler),
plus the base-model proposal (``τ = 1``, started from ``π``) for comparison
and Karan & Du's growth schedule (generate ``G = 2`` tokens at a time, MH
steps after each chunk; exact output law by :func:`~sharpsim.power_chain_law`),
and records the exact total variation to ``π^α/Z`` after ``k`` steps, the
spectral gap and the mixing time ``t_mix(1/4)``; the sampled chains' TV at a
few ``k``; and the TV of greedy decoding and of token-temperature-``1/α``
decoding as references.
"""

from __future__ import annotations

import numpy as np

from ..inference import (
    greedy_decode,
    power_chain_law,
    power_chain_mixing,
    power_law,
    power_sample_mcmc,
    token_temperature_law,
)
from ..policies import MarkovPolicy, encode_sequences
from .registry import register

#: Step counts of the exact curves and of the sampled markers.
EXACT_STEPS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)
SAMPLED_STEPS = (1, 4, 16, 64)


def _world(rng, vocab: int, horizon: int, concentration: float = 0.5) -> MarkovPolicy:
    initial = rng.dirichlet(np.full(vocab, concentration), size=1)
    transition = rng.dirichlet(np.full(vocab, concentration), size=(1, horizon - 1, vocab))
    return MarkovPolicy(initial, transition)


#: Karan & Du's generation block in the growth-schedule curve.
GROWTH = 2


def _chains(horizon: int):
    """``(label, τ as 'inverse' or 1, block size, init, growth block or 0)`` for each chain drawn."""
    blocks = sorted({1, 2, max(1, horizon // 2), horizon})
    rows: list[tuple[str, str | float, int, str | None, int]] = [
        (f"B={b}, tau=1/alpha", "inverse", b, "proposal", 0) for b in blocks
    ]
    rows.append(("B=1, tau=1 (base model)", 1.0, 1, None, 0))
    rows.append(
        (f"grown by G={GROWTH} (Karan & Du), B=1, tau=1/alpha", "inverse", 1, "proposal", GROWTH)
    )
    return rows


@register(
    "power_chain",
    description="Power sampler's exact chain: TV to pi^alpha vs MH steps by block size and alpha; "
    "gap, t_mix, sampled chains, greedy and temperature-1/alpha references",
    grid={"alpha": [2.0, 4.0, 8.0], "vocab": [3], "horizon": [6], "draws": [4000]},
    quick_grid={"alpha": [2.0, 4.0], "vocab": [2], "horizon": [5], "draws": [400]},
    figures=("power_chain",),
    seeds=5,
    quick_seeds=2,
)
def power_chain(rng, alpha, vocab, horizon, draws):
    """One random Markov world per seed (one prompt). Every record has the same keys:

    * ``kind="exact"``: ``chain`` (its label), ``block``, ``tau``, ``step``, ``tv``
      (exact TV of the chain's law after ``step`` steps to ``π^α/Z``),
      ``tv_noise = 0``, ``gap`` (spectral gap ``1 − λ₂``), ``t_mix`` (exact
      ``t_mix(1/4)`` from the start law, −1 if over 10⁴ steps);
    * ``kind="sampled"``: the same, with ``tv`` the TV of the empirical law of
      ``draws`` sampled chains (it includes sampling noise of order
      ``√(|Y|/draws)``) and ``tv_noise`` the same statistic for ``draws`` exact
      draws from the chain's exact law (the noise reference);
    * ``kind="reference"``: ``chain`` = the decoding method (greedy; token
      temperature ``1/α``), ``tau`` its token temperature (0 for greedy), its exact
      ``tv``; ``block = step = t_mix = −1`` and ``gap = tv_noise = −1.0`` (not applicable).

    ``growth`` is the generation block ``G`` of Karan & Du's schedule (0: the plain
    chain); for it ``step`` counts MH steps over all stages (``k`` per stage times the
    number of stages) and ``gap = −1.0``, ``t_mix = −1`` (the schedule is not one
    homogeneous chain). Also ``n_states = V**H``.
    """
    policy = _world(rng, vocab, horizon)
    target = power_law(policy, alpha).probs[0]
    base = {"n_states": int(policy.n_responses)}
    nothing = {"block": -1, "step": -1, "tv_noise": -1.0, "gap": -1.0, "t_mix": -1, "growth": 0}
    greedy = int(encode_sequences(greedy_decode(policy, [0])[0], vocab))
    token = token_temperature_law(policy, 1.0 / alpha).probs[0]
    rows = [
        {**base, **nothing, "kind": "reference", "chain": method, "tau": tau, "tv": float(tv)}
        for method, tau, tv in (
            ("greedy decoding", 0.0, 1.0 - target[greedy]),
            ("token temperature 1/alpha", 1.0 / alpha, 0.5 * np.abs(token - target).sum()),
        )
    ]
    for label, how, block, init, growth in _chains(horizon):
        tau = 1.0 / alpha if how == "inverse" else 1.0
        kw = {"proposal_temperature": tau, "block_size": block, "init": init}
        chain = {**base, "chain": label, "block": int(block), "tau": float(tau), "growth": growth}
        if growth:
            rows += _grown_rows(rng, policy, alpha, kw, chain, draws, target)
            continue
        mixing = power_chain_mixing(policy, 0, alpha, max_steps=10_000, **kw)
        chain["gap"] = mixing.spectral_gap
        chain["t_mix"] = -1 if mixing.mixing_time is None else int(mixing.mixing_time)
        steps = sorted(set(EXACT_STEPS) | set(SAMPLED_STEPS))
        exact = power_chain_law(policy, 0, alpha, steps, **kw)
        laws = dict(zip(steps, exact.laws))
        for k, tv in zip(steps, exact.tv):
            if k in EXACT_STEPS:
                rows.append({**chain, "kind": "exact", "step": k, "tv": float(tv), "tv_noise": 0.0})
        for k in SAMPLED_STEPS:
            res = power_sample_mcmc(policy, [0], alpha, k, draws, rng=rng, **kw)
            rows.append(_sampled_row(rng, chain, k, res.samples[0], vocab, laws[k], target))
    return rows


def _grown_rows(rng, policy, alpha, kw, chain, draws, target) -> list[dict]:
    """The growth schedule: ``step`` counts MH steps over all stages (``k`` per stage)."""
    stages = -(-policy.horizon // GROWTH)
    chain = {**chain, "gap": -1.0, "t_mix": -1}  # not one homogeneous chain: no gap
    per_stage = [k for k in sorted(set(EXACT_STEPS) | set(SAMPLED_STEPS)) if k * stages <= 128]
    exact = power_chain_law(policy, 0, alpha, per_stage, growth_block=GROWTH, **kw)
    rows = [
        {**chain, "kind": "exact", "step": k * stages, "tv": float(tv), "tv_noise": 0.0}
        for k, tv in zip(per_stage, exact.tv)
    ]
    laws = dict(zip(per_stage, exact.laws))
    for k in (k for k in SAMPLED_STEPS if k in laws):
        res = power_sample_mcmc(policy, [0], alpha, k, draws, rng=rng, growth_block=GROWTH, **kw)
        rows.append(
            _sampled_row(rng, chain, k * stages, res.samples[0], policy.vocab_size, laws[k], target)
        )
    return rows


def _sampled_row(rng, chain, step, samples, vocab, law, target) -> dict:
    """TV of ``samples [draws, H]`` to ``π^α``, and of as many exact draws of ``law`` (noise reference)."""
    draws = samples.shape[0]
    freq = np.bincount(encode_sequences(samples, vocab), minlength=law.shape[0])
    exact_draws = rng.multinomial(draws, law / law.sum())
    return {
        **chain,
        "kind": "sampled",
        "step": step,
        "tv": float(0.5 * np.abs(freq / draws - target).sum()),
        "tv_noise": float(0.5 * np.abs(exact_draws / draws - target).sum()),
    }
