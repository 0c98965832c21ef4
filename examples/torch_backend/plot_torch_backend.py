r"""
One algorithm, two backends: best-of-N on a torch causal LM
===========================================================

Best-of-N on a torch causal LM, checked against the NumPy model's exact law.

The torch backend (:mod:`sharpsim.torch`) runs the paper's algorithms on real causal language
models behind the same ``log_prob`` / ``sample`` protocol as the NumPy policies.
:func:`sharpsim.torch.as_causal_lm` wraps a NumPy Markov model as a torch module, so a run on
the language-model path can be checked against an exact computation: here the picks of
:func:`sharpsim.torch.best_of_n` (sampled by the LM's generation loop, scored by its own
log-likelihood, Eq. 2) are compared with the exact best-of-N law of the NumPy model
(:func:`sharpsim.best_of_n_law`). The same calls run on SmolLM2-135M
(:func:`sharpsim.torch.smollm2`). See :ref:`theory-torch`.

This script needs the ``torch`` extra (``pip install torch==2.13.0 ".[torch]"``).
"""

# %%
# A Markov model, wrapped as a causal LM
# --------------------------------------
import matplotlib.pyplot as plt
import numpy as np

import sharpsim as ss
from sharpsim.torch import as_causal_lm, best_of_n

rng = np.random.default_rng(4)
base = ss.MarkovPolicy(rng.dirichlet(np.ones(2), size=1), rng.dirichlet(np.ones(2), size=(1, 2, 2)))
lm = as_causal_lm(base)
seqs = ss.all_sequences(2, 3)
print(
    "log-likelihoods agree:",
    np.allclose(
        lm.log_prob(lm.prompts(np.zeros(8, int)), lm.responses(seqs)),
        base.log_prob(np.zeros(8, int), seqs),
    ),
)

# %%
# Best-of-4 on the LM path against the exact law
# ----------------------------------------------
# 600 prompts (all the same), four candidates each.
N, k = 4, 600
result = best_of_n(lm, lm.prompts(np.zeros(k, int)), N, max_new_tokens=4, rng=0)
picked = ss.encode_sequences(lm.sequences(result.token_ids), 2)
freq = np.bincount(picked, minlength=8) / k
law = ss.best_of_n_law(base.to_tabular(), N).probs[0]
print("queries charged:", result.queries)
print("TV(sampled picks, exact law) =", round(0.5 * float(np.abs(freq - law).sum()), 3))

fig, ax = plt.subplots(figsize=(6, 3.6))
pos = np.arange(8)
ax.bar(pos - 0.2, law, 0.4, label="exact best-of-4 law (NumPy)")
ax.bar(pos + 0.2, freq, 0.4, label="torch best_of_n picks (600 prompts)")
ax.set(
    xlabel="response (sequence code)", ylabel="probability", title="the same law on both backends"
)
ax.legend()
fig.tight_layout()
plt.show()
