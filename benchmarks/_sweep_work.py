"""The task of ``bench_experiments``' sweep, in its own importable module so worker processes can unpickle it."""

from __future__ import annotations

import os

import numpy as np

import sharpsim as ss


def work(rng, n_responses, N):
    """One task: the exact BoN law and the exact expected SFT error of a random world."""
    base = ss.TabularPolicy(rng.dirichlet(np.full(n_responses, 0.3), size=200))
    law = ss.best_of_n_law(base, N)
    error = ss.expected_sft_error(base, 64, N, 0.25)
    return [
        {
            "mode_mass": float(np.mean(np.sum(law.probs * ss.mode_mask(base), axis=1))),
            "error": float(error),
        }
    ]


def _warm(_):
    """A no-op task: starting a worker imports sharpsim, the pool's real start-up cost."""
    return os.getpid()
