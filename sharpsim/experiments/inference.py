"""Inference-time sharpening experiments: best-of-N on synthetic hidden-knowledge tasks (App. A).

* ``bon_lift`` — accuracy lift of best-of-N over greedy decoding and the mean
  log-likelihood of the pick, for three self-rewards (Figs. 1a/1b/2/3/4);
  every sampled number sits beside its exact best-of-N law value.
* ``loglik_correctness`` — the distribution of ``log π_base(y|x)`` for
  correct and incorrect responses (Figs. 1c/6), exact and sampled.
* ``bon_concentration`` — P[best-of-N returns the mode] vs N with
  Proposition C.1's bound, and token temperature vs the sequence-level power
  law (SPEC §6).
"""

from __future__ import annotations

import numpy as np

from ..inference import (
    best_of_n,
    best_of_n_law,
    power_law,
    power_sample_mcmc,
    token_temperature_law,
)
from ..measures import mode_mask
from ..policies import MarkovPolicy, TabularPolicy, decode_responses, encode_sequences
from ..rewards import LengthNormalizedReward, LogLikelihoodReward, MajorityVoteReward
from ..theory.instances import hidden_knowledge_task, power_sampling_pivot_example
from .registry import register

#: The N ladder of the best-of-N curves (the paper's N <= 50).
BON_NS = (1, 2, 4, 8, 16, 32, 50)


def _task(rng, n_prompts, bonus, n_answers=4, horizon=3):
    """A variable-length hidden-knowledge task (so length normalisation differs from log-likelihood)."""
    return hidden_knowledge_task(
        n_prompts, n_answers, bonus=bonus, horizon=horizon, variable_length=True, rng=rng
    )


def _rewards(task):
    details = task.details
    answers = details["answers"]
    vocab = details["vocab_size"]
    return {
        "log-likelihood": LogLikelihoodReward(),
        "length-normalised": LengthNormalizedReward(details["end_token"]),
        "majority vote": MajorityVoteReward(lambda seqs: answers[encode_sequences(seqs, vocab)]),
    }


def _law_stats(law, table, is_correct):
    """Exact accuracy and mean ``log π_base`` of a pick drawn from ``law`` (prompts uniform)."""
    probs = law.probs
    accuracy = float((probs * is_correct).sum(axis=1).mean())
    finite = probs > 0
    loglik = float(
        np.where(finite, probs * np.where(finite, table.log_probs, 0.0), 0.0).sum(axis=1).mean()
    )
    return accuracy, loglik


@register(
    "bon_lift",
    description="BoN accuracy lift over greedy and mean log-likelihood of the pick vs N (App. A, Figs. 1-4)",
    grid={"bonus": [0.5, 1.0, 2.0], "n_prompts": [256]},
    quick_grid={"bonus": [1.0], "n_prompts": [48]},
    figures=("bon_lift",),
    seeds=10,
    quick_seeds=3,
)
def bon_lift(rng, bonus, n_prompts):
    """One random task per seed; for each self-reward and N: exact law values and one faithful BoN run.

    Records: ``reward``, ``N``, ``accuracy_exact`` (exact BoN law; for majority
    vote the population vote ``Σ_{ans(y')=ans(y)} π(y')``), ``accuracy_mc``
    (faithful best-of-N over all prompts; majority uses the *empirical* vote
    of the N draws), ``loglik_exact`` / ``loglik_mc`` (mean ``log π_base`` of
    the pick), ``greedy_accuracy``, ``sample_accuracy``, ``mode_accuracy``
    and ``pass_at_n`` (exact ``E_x[1 − (1 − π(correct|x))^N]``, a skyline that
    uses the true answer).
    """
    task = _task(rng, n_prompts, bonus)
    base, claims, is_correct = task.base, task.claims, task.details["is_correct"]
    table = base.to_tabular()
    vocab = task.details["vocab_size"]
    mass_correct = (table.probs * is_correct).sum(axis=1)
    prompts = np.arange(n_prompts)
    records = []
    for name, reward in _rewards(task).items():
        for N in BON_NS:
            acc_exact, ll_exact = _law_stats(
                best_of_n_law(base, N, reward=reward), table, is_correct
            )
            res = best_of_n(base, prompts, N, reward=reward, method="faithful", rng=rng)
            picked = encode_sequences(res.responses, vocab)
            records.append(
                {
                    "reward": name,
                    "N": N,
                    "accuracy_exact": acc_exact,
                    "accuracy_mc": float(is_correct[prompts, picked].mean()),
                    "loglik_exact": ll_exact,
                    "loglik_mc": float(np.mean(res.log_probs)),
                    "greedy_accuracy": claims["greedy_accuracy"],
                    "sample_accuracy": claims["sample_accuracy"],
                    "mode_accuracy": claims["mode_accuracy"],
                    "pass_at_n": float(np.mean(1.0 - (1.0 - mass_correct) ** N)),
                }
            )
    return records


# Fig. 4 draws the same records (its own experiment, so every figure has one experiment of its name).
register(
    "bon_loglik",
    description="Mean log-likelihood of the best-of-N pick vs N, exact law and sampled (Fig. 4)",
    grid={"bonus": [0.5, 1.0, 2.0], "n_prompts": [256]},
    quick_grid={"bonus": [1.0], "n_prompts": [48]},
    figures=("bon_loglik",),
    seeds=10,
    quick_seeds=3,
)(bon_lift)

#: Width of the log-likelihood bins of ``loglik_correctness`` (nats).
LOGLIK_BIN = 0.5


@register(
    "loglik_correctness",
    description="Distribution of log pi_base(y|x) for correct vs incorrect responses, exact and sampled (Figs. 1c/6)",
    grid={"bonus": [1.0, 2.0], "n_prompts": [256], "n_samples": [64]},
    quick_grid={"bonus": [1.0], "n_prompts": [48], "n_samples": [16]},
    figures=("loglik_correctness",),
    seeds=10,
    quick_seeds=3,
)
def loglik_correctness(rng, bonus, n_prompts, n_samples):
    """Histogram rows (bins of width ``LOGLIK_BIN`` nats, no range cut): exact and sampled.

    Records: ``source`` (``"exact"`` or ``"sampled"``), ``correct`` (bool),
    ``bin_lo`` (left edge; every finite log-likelihood falls in some bin),
    ``mass`` (``P[log π ∈ bin | correct-ness]``), ``mean`` (the conditional
    mean ``E[log π | correct-ness]``, exact or sample mean) and ``count``
    (sampled responses on that side; for exact rows the number of (x, y)
    pairs with positive mass).
    """
    task = _task(rng, n_prompts, bonus)
    is_correct = task.details["is_correct"]
    table = task.base.to_tabular()
    lp = table.log_probs
    weights = table.probs / n_prompts
    records = []
    for side in (True, False):
        keep = (is_correct == side) & (weights > 0)
        records += _histogram_rows("exact", side, lp[keep], weights[keep], int(keep.sum()))
    prompts = np.repeat(np.arange(n_prompts), n_samples)
    seqs = task.base.sample(np.arange(n_prompts), n_samples, rng=rng).reshape(
        -1, task.details["horizon"]
    )
    ids = encode_sequences(seqs, task.details["vocab_size"])
    slp, sc = lp[prompts, ids], is_correct[prompts, ids]
    for side in (True, False):
        chosen = slp[sc == side]
        if chosen.size:
            records += _histogram_rows(
                "sampled", side, chosen, np.ones(chosen.size), int(chosen.size)
            )
    return records


def _histogram_rows(source, side, values, weights, count):
    total = weights.sum()
    bins = np.floor(values / LOGLIK_BIN).astype(np.int64)
    mean = float(np.sum(weights * values) / total)
    rows = []
    for b in np.unique(bins):
        rows.append(
            {
                "source": source,
                "correct": bool(side),
                "bin_lo": float(b * LOGLIK_BIN),
                "mass": float(weights[bins == b].sum() / total),
                "mean": mean,
                "count": count,
            }
        )
    return rows


def _coverage_world(rng, mode_mass):
    """One prompt whose unique mode has mass ``mode_mass``; ``K = ⌈2(1−p)/p⌉`` others share the rest.

    The others get ``(1 − p)·u_i/Σu`` with ``u_i ~ Uniform(1, 1.5)``, so each is at
    most ``1.5(1 − p)/K <= 0.75p < p``: ``C_cov = 1/p`` exactly, unique mode.
    """
    k = int(np.ceil(2.0 * (1.0 - mode_mass) / mode_mass))
    u = rng.uniform(1.0, 1.5, size=k)
    rest = (1.0 - mode_mass) * u / u.sum()
    if rest.max() >= mode_mass:
        raise ValueError(f"mode_mass={mode_mass} leaves no unique mode")
    return TabularPolicy(np.concatenate([[mode_mass], rest])[None, :])


def _random_markov(rng, n_contexts, vocab, horizon, concentration):
    initial = rng.dirichlet(np.full(vocab, concentration), size=n_contexts)
    transition = rng.dirichlet(np.full(vocab, concentration), size=(n_contexts, horizon - 1, vocab))
    return MarkovPolicy(initial, transition)


def _tv(p, q):
    return float(0.5 * np.abs(p.probs - q.probs).sum(axis=1).mean())


@register(
    "bon_concentration",
    description="P[BoN returns the mode] vs N with Prop. C.1's bound; token temperature vs power law (TV)",
    grid={"mode_mass": [0.3, 0.1, 0.03, 0.01], "draws": [4000]},
    quick_grid={"mode_mass": [0.3, 0.1, 0.03], "draws": [400]},
    figures=("bon_concentration",),
    seeds=5,
    quick_seeds=3,
)
def bon_concentration(rng, mode_mass, draws):
    """Panel ``"bon"``: a one-prompt world with ``C_cov = 1/mode_mass``; panel ``"power"``: random Markov worlds.

    Records (``panel``, ``world``, ``x``, ``exact``, ``mc``, ``bound``):
    for ``panel="bon"``, ``x = N``, ``exact = 1 − (1 − p)^N`` from the exact
    BoN law, ``mc`` the frequency of the mode among ``draws`` faithful
    best-of-N runs and ``bound = 1 − e^{−pN}`` (Prop. C.1: ``N ≥ log(1/ρ)/p``
    gives success ``≥ 1 − ρ``). For ``panel="power"``, ``x = α``, ``exact`` the
    total variation between token temperature ``1/α`` and the sequence-level
    power law ``π^α/Z`` (exact by enumeration), ``mc`` the total variation of
    the Metropolis–Hastings power sampler's empirical law (``draws`` chains)
    from the exact power law and ``bound`` its sampling-noise reference
    ``E TV`` of ``draws`` exact draws (a Monte Carlo estimate).
    """
    records = []
    world = _coverage_world(rng, mode_mass)
    mask = mode_mask(world)
    label = f"C_cov = {1 / mode_mass:.3g}"
    for N in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        exact = float((best_of_n_law(world, N).probs * mask).sum())
        picks = best_of_n(
            world, np.zeros(draws, dtype=np.int64), N, method="faithful", rng=rng
        ).responses
        records.append(
            {
                "panel": "bon",
                "world": label,
                "x": float(N),
                "exact": exact,
                "mc": float(mask[0, picks].mean()),
                "bound": float(-np.expm1(-mode_mass * N)),
            }
        )
    return records + _power_rows(rng, draws)  # every cell adds a replicate of the power panel


def _power_rows(rng, draws):
    rows = []
    worlds = {
        "pivot example (V=2, H=2)": power_sampling_pivot_example().base,
        "random Markov (V=3, H=4)": _random_markov(rng, 2, 3, 4, 0.5),
    }
    for name, policy in worlds.items():
        x = np.arange(policy.n_contexts)
        for alpha in (1.0, 2.0, 4.0, 8.0):
            target = power_law(policy, alpha)
            tv_exact = _tv(token_temperature_law(policy, 1.0 / alpha), target)
            chains = power_sample_mcmc(
                policy, x, alpha, n_steps=20, n_chains=draws, rng=rng
            ).samples
            empirical = _empirical_law(chains, policy)
            exact_draws = _empirical_law(_draw_sequences(target, draws, rng, policy), policy)
            rows.append(
                {
                    "panel": "power",
                    "world": name,
                    "x": alpha,
                    "exact": tv_exact,
                    "mc": _tv(empirical, target),
                    "bound": _tv(exact_draws, target),
                }
            )
    return rows


def _draw_sequences(law, draws, rng, policy):
    idx = law.sample(np.arange(law.n_contexts), draws, rng=rng)
    return decode_responses(idx, policy.vocab_size, policy.horizon)


def _empirical_law(seqs, policy):
    ids = encode_sequences(seqs, policy.vocab_size)
    counts = np.stack(
        [np.bincount(row, minlength=policy.vocab_size**policy.horizon) for row in ids]
    )
    return TabularPolicy(counts / counts.sum(axis=1, keepdims=True))
