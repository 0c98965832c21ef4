r"""
Greedy, beam, the mode and best-of-N (the README's worked example)
==================================================================

The README's worked example: greedy, beam search, the exact mode and best-of-N.

For an autoregressive model :math:`\pi(y_{1:H}\mid x) = \prod_h \pi_h(y_h\mid y_{1:h-1}, x)`, greedy decoding
and beam search are token-level heuristics: Proposition 3.1 guarantees that greedy returns the
sequence-level mode only when the mode has mass above 1/2. The exact mode of a Markov model is
found by Viterbi (:meth:`sharpsim.MarkovPolicy.mode`); best-of-N reaches it with the probability
that its exact law (:func:`sharpsim.best_of_n_law`) gives. This is the worked example of the
README, with a figure. See :ref:`theory-autoregressive`.
"""

# %%
# A Markov base model over :math:`V^H = 4^6` sequences
# ----------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np

import sharpsim as ss

rng = np.random.default_rng(1)
base = ss.MarkovPolicy(
    rng.dirichlet(np.full(4, 0.5), size=3), rng.dirichlet(np.full(4, 0.5), size=(3, 5, 4))
)
table = base.to_tabular()  # exact enumeration (4096 responses per prompt)
print(f"C_cov = {ss.coverage(table):.2f}   margin = {ss.margin(table):.3f}")

# %%
# Four decoders, their picks' log-likelihoods
# -------------------------------------------
x = np.arange(3)
picks = {
    "mode (Viterbi)": base.mode(x),
    "greedy": ss.greedy_decode(base, x),
    "beam(4)": ss.beam_search(base, x, width=4),
    "best-of-64": ss.best_of_n(base, x, 64, rng=0).responses,
}
for name, seqs in picks.items():
    print(f"{name:15s}", base.log_prob(x, seqs).round(2))

# %%
# How often best-of-N returns the mode
# ------------------------------------
# The exact law of the best-of-64 pick (:func:`sharpsim.best_of_n_law`) gives the
# probability that it is a mode, without sampling; the same law for every N draws the curve.
law = ss.best_of_n_law(table, 64)  # the exact law of the best-of-64 pick
print("P[best-of-64 returns the mode] =", (law.probs * ss.mode_mask(table)).sum(axis=1).round(3))
Ns = [1, 2, 4, 8, 16, 32, 64, 128, 256]
hit = np.array([(ss.best_of_n_law(table, n).probs * ss.mode_mask(table)).sum(axis=1) for n in Ns])
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for prompt in x:
    ax.semilogx(Ns, hit[:, prompt], "o-", label=f"prompt {prompt}")
ax.set(xlabel="N", ylabel="P[best-of-N returns the mode]", title=r"Markov model, $V^H = 4^6$")
ax.legend()
fig.tight_layout()
plt.show()
