"""Decoding on autoregressive worlds: token-level heuristics vs the sequence-level mode (Prop. 3.1, E.1).

``decoding`` compares, on random Markov worlds and on the MAX-CUT instance of
Proposition E.1: greedy, beam search, the exact mode (Viterbi / enumeration),
best-of-N, power sampling (exact law and Metropolis–Hastings) and the
SFT-amortized model (greedy decoding of the SFT fit) — the rate at which each
returns a sequence mode and the mean ``log π_base`` of what it returns.
"""

from __future__ import annotations

import numpy as np

from ..algorithms import sft_sharpening
from ..classes import MarkovClass, PrefixTreeClass
from ..inference import (
    beam_search,
    best_of_n,
    best_of_n_law,
    greedy_decode,
    power_law,
    power_sample_mcmc,
)
from ..measures import mode_mask
from ..policies import JointAutoregressivePolicy, MarkovPolicy, decode_responses, encode_sequences
from ..theory.instances import maxcut_instance
from .registry import register

#: Best-of-N size, power exponent and MCMC steps shared by both worlds.
DECODING = {"N": 8, "alpha": 4.0, "mcmc_steps": 20, "sft_visits": 64}


def _markov_world(rng, n_prompts=8, vocab=3, horizon=5, concentration=0.4):
    initial = rng.dirichlet(np.full(vocab, concentration), size=n_prompts)
    transition = rng.dirichlet(np.full(vocab, concentration), size=(n_prompts, horizon - 1, vocab))
    policy = MarkovPolicy(initial, transition)
    return policy, MarkovClass(n_prompts, vocab, horizon)


def _maxcut_world(rng, n_vertices=6, p_edge=0.5):
    while True:
        upper = np.triu(rng.random((n_vertices, n_vertices)) < p_edge, 1)
        adjacency = (upper | upper.T).astype(int)
        if adjacency.any():
            break
    policy = maxcut_instance(adjacency, coupling=1.0 / max(1, int(upper.sum()))).base
    return policy, PrefixTreeClass(1, 2, policy.horizon)


@register(
    "decoding",
    description="Greedy vs beam vs exact mode vs BoN vs power sampling (exact, MCMC) vs SFT-amortized: mode hits",
    grid={"world": ["markov", "maxcut"], "draws": [2000]},
    quick_grid={"world": ["markov", "maxcut"], "draws": [200]},
    figures=("decoding",),
    seeds=5,
    quick_seeds=3,
)
def decoding(rng, world, draws):
    """One random world per seed. Records ``method``, ``hit_exact`` / ``loglik_exact`` (exact, or for
    a deterministic decoder its value; ``has_exact=False`` for the MCMC sampler and SFT, whose
    exact columns then hold the target law's value — the exact power law for MCMC, the
    ``n → ∞`` SFT limit (greedy on the BoN law) for SFT), ``hit_mc`` / ``loglik_mc`` (Monte
    Carlo over ``draws`` draws per prompt), ``mode_mass`` (mean ``π_base(y*|x)``).
    """
    policy, cls = _markov_world(rng) if world == "markov" else _maxcut_world(rng)
    table = policy.to_tabular()
    mask = mode_mask(table)
    x = np.arange(policy.n_contexts)
    V = policy.vocab_size

    def score(seqs):  # seqs [k, H] or [k, n, H] -> (hit rate, mean log π_base)
        ids = encode_sequences(seqs, V).reshape(len(x), -1)
        return float(mask[x[:, None], ids].mean()), float(table.log_probs[x[:, None], ids].mean())

    def law_score(law):
        probs = law.probs
        pos = probs > 0
        ll = np.where(pos, probs * np.where(pos, table.log_probs, 0.0), 0.0).sum(axis=1)
        return float((probs * mask).sum(axis=1).mean()), float(ll.mean())

    rows = []

    def add(method, exact, mc, has_exact=True):
        rows.append(
            {
                "method": method,
                "hit_exact": exact[0],
                "loglik_exact": exact[1],
                "hit_mc": mc[0],
                "loglik_mc": mc[1],
                "has_exact": has_exact,
                "mode_mass": float((table.probs * mask).sum(axis=1).mean()),
            }
        )

    for name, seqs in (
        ("greedy", greedy_decode(policy, x)),
        ("beam (width 2)", beam_search(policy, x, 2)),
        ("beam (width 4)", beam_search(policy, x, 4)),
        ("exact mode", policy.mode(x)),
    ):
        add(name, score(seqs), score(seqs))
    N, alpha = DECODING["N"], DECODING["alpha"]
    reps = np.repeat(x, draws)
    bon = best_of_n(policy, reps, N, method="faithful", rng=rng).responses
    add(f"best-of-{N}", law_score(best_of_n_law(policy, N)), score(bon.reshape(len(x), draws, -1)))
    target = power_law(policy, alpha)
    exact_draws = decode_responses(target.sample(x, draws, rng=rng), V, policy.horizon)
    add(f"power a={alpha:g} (exact law)", law_score(target), score(exact_draws))
    chains = power_sample_mcmc(
        policy, x, alpha, DECODING["mcmc_steps"], n_chains=draws, rng=rng
    ).samples
    add(
        f"power a={alpha:g} (MCMC, {DECODING['mcmc_steps']} steps)",
        law_score(target),
        score(chains),
        False,
    )
    fit = sft_sharpening(policy, DECODING["sft_visits"] * len(x), N, cls, rng=rng).policy
    limit = score(greedy_decode(_joint(best_of_n_law(policy, N), policy), x))
    add(f"SFT-amortized (N={N}, greedy)", limit, score(greedy_decode(fit, x)), False)
    return rows


def _joint(law, policy):
    return JointAutoregressivePolicy(law, policy.vocab_size, policy.horizon)
