"""
The power sampler's Markov chain, exactly
=========================================

Karan & Du (2025, "Reasoning with Sampling") sample from the sequence-level
power law ``π^α/Z`` with Metropolis–Hastings: from the current sequence ``y``,
pick a cut ``t``, keep ``y_{<t}``, regenerate the suffix from ``π`` at token
temperature ``1/α`` and accept with ``min(1, w(y')/w(y))``, ``w = π^α/q``.
``sharpsim.power_sample_mcmc`` runs that chain; for a model small enough to
enumerate, ``sharpsim.power_chain_kernel`` writes down its exact
``|Y| × |Y|`` transition matrix ``K``. Then the law after ``k`` steps is the
start law times ``K^k`` — no sampling error — and the spectral gap and the
mixing time are exact numbers rather than diagnostics.

This example builds a random Markov model with ``V = 3`` tokens and
``H = 5`` positions (243 sequences), checks that ``π^α`` is stationary, and
draws the exact total variation to ``π^α`` against the number of MH steps for
several cut spacings ``B`` (``B = 1``: cut anywhere; ``B = H``: every move
redraws the whole sequence, an independence sampler) and for Karan & Du's
schedule that grows the sequence ``G`` tokens at a time, beside greedy
decoding and token-temperature-``1/α`` decoding, and beside chains actually
sampled.
"""

# %%
# A small autoregressive model and the exact kernel
# -------------------------------------------------
# The kernel's rows sum to one and it satisfies detailed balance with respect
# to ``π^α``, so ``π^α K = π^α``.
import matplotlib.pyplot as plt
import numpy as np

import sharpsim as ss

rng = np.random.default_rng(0)
V, H, alpha = 3, 5, 4.0
policy = ss.MarkovPolicy(
    rng.dirichlet(np.full(V, 0.5), size=1), rng.dirichlet(np.full(V, 0.5), size=(1, H - 1, V))
)
target = ss.power_law(policy, alpha).probs[0]
K = ss.power_chain_kernel(policy, 0, alpha, proposal_temperature=1 / alpha)
flow = target[:, None] * K
print(f"|Y| = {K.shape[0]}, max |row sum - 1| = {np.abs(K.sum(1) - 1).max():.1e}")
print(f"detailed balance error {np.abs(flow - flow.T).max():.1e}")
print(f"stationarity error {np.abs(target @ K - target).max():.1e}")

# %%
# Spectral gap and mixing time for each cut spacing
# -------------------------------------------------
# ``t_mix`` is the first ``k`` with TV(start law × K^k, π^α) ≤ ε = 0.01,
# started, as in Karan & Du, from the proposal itself (``init="proposal"``);
# the worst-case version maximises over every starting sequence, and the
# relaxation bound ``log(1/(ε π_min))/gap`` bounds it from above.
steps = np.unique(np.round(np.geomspace(1, 400, 30)).astype(int))
steps = np.concatenate([[0], steps])
chains = {f"B = {b}": b for b in (1, 2, H)}
curves = {}
for label, block in chains.items():
    kw = {"proposal_temperature": 1 / alpha, "block_size": block, "init": "proposal"}
    curves[label] = ss.power_chain_law(policy, 0, alpha, steps, **kw).tv
    mix = ss.power_chain_mixing(policy, 0, alpha, eps=0.01, worst_case=True, **kw)
    print(
        f"{label}: gap {mix.spectral_gap:.4f}, t_mix(0.01) {mix.mixing_time}, "
        f"worst-case {mix.worst_case_mixing_time}, relaxation bound {mix.relaxation_bound:.0f}"
    )

# %%
# Karan & Du's growth schedule
# ----------------------------
# Their Algorithm 1 does not start from a complete sequence: it generates
# ``G`` tokens at a time from the proposal and runs the MH steps on the prefix
# generated so far, targeting the power of the prefix marginal. With
# ``growth_block=G`` the sampler runs that schedule and ``power_chain_law``
# gives its exact output law (``k`` steps per stage; ``H/G`` stages).
grown = {}
for G in (1, 2):
    per_stage = np.array([0, 1, 2, 4, 8, 16, 32, 64])
    stages = -(-H // G)
    kw = {"proposal_temperature": 1 / alpha, "init": "proposal", "growth_block": G}
    grown[G] = (per_stage * stages, ss.power_chain_law(policy, 0, alpha, per_stage, **kw).tv)
    print(f"G = {G}: TV after 2 steps per stage ({2 * stages} in all): {grown[G][1][2]:.4f}")

# %%
# Exact TV against MH steps, with the decoders as references
# ----------------------------------------------------------
# Greedy decoding returns one sequence, so its TV to ``π^α`` is
# ``1 − π^α(greedy)``; token temperature ``1/α`` is the chain's start law.
# The markers are the empirical TV of 2000 sampled chains (they include
# sampling noise of order ``√(|Y|/2000)``, hence the plateau).
greedy = ss.encode_sequences(ss.greedy_decode(policy, [0])[0], V)
token = ss.token_temperature_law(policy, 1 / alpha).probs[0]
fig, ax = plt.subplots(figsize=(6.4, 4.0))
for i, (label, tv) in enumerate(curves.items()):
    shown = np.where(tv >= 1e-5, tv, np.nan)  # the exact TV reaches 0 only in the limit
    ax.plot(steps, shown, color=f"C{i}", label=f"exact, {label}")
    for k in (1, 10, 100):
        res = ss.power_sample_mcmc(
            policy,
            [0],
            alpha,
            k,
            2000,
            rng=k,
            proposal_temperature=1 / alpha,
            block_size=chains[label],
            init="proposal",
        )
        freq = np.bincount(ss.encode_sequences(res.samples[0], V), minlength=V**H) / 2000
        ax.plot(k, 0.5 * np.abs(freq - target).sum(), "o", color=f"C{i}")
for j, (G, (total, tv)) in enumerate(grown.items()):
    shown = np.where(tv >= 1e-5, tv, np.nan)
    ax.plot(total, shown, "--", color=f"C{3 + j}", label=f"grown by G = {G} (total steps)")
ax.axhline(1 - target[greedy], color="k", linestyle="--", label="greedy decoding")
ax.axhline(
    0.5 * np.abs(token - target).sum(),
    color="0.5",
    linestyle=":",
    label="token temperature 1/alpha",
)
ax.plot([], [], "o", color="0.3", label="2000 sampled chains")
ax.set_xscale("symlog", linthresh=1)
ax.set_yscale("log")
ax.set_xlabel("Metropolis-Hastings steps k")
ax.set_ylabel(r"total variation to $\pi^\alpha/Z$")
ax.set_title(rf"Power sampler's exact chain, $\alpha={alpha:g}$, $|Y|={V**H}$")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
