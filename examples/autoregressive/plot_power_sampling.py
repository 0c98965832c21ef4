r"""
Power sampling is not low-temperature sampling
==============================================

Sequence-level power sampling, exact and by MCMC, against token temperature.

Sharpening at the *sequence* level targets the power law :math:`\pi^\alpha/Z` (:math:`\alpha \ge 1`), which for
:math:`\alpha = 1 + 1/\beta` is the tilted model :math:`\pi^\star_\beta`. Sampling each *token* at temperature
:math:`1/\alpha` gives a different law, because the normaliser of every conditional is raised too.
On a small model both are exact by enumeration (:func:`sharpsim.power_law`,
:func:`sharpsim.token_temperature_law`); Metropolis–Hastings over suffixes
(:func:`sharpsim.power_sample_mcmc`) samples the power law without enumerating. See
:ref:`theory-autoregressive`.
"""

# %%
# A random Markov model, V = 3, H = 4
# -----------------------------------
import matplotlib.pyplot as plt
import numpy as np

import sharpsim as ss

rng = np.random.default_rng(2)
base = ss.MarkovPolicy(rng.dirichlet(np.ones(3), size=1), rng.dirichlet(np.ones(3), size=(1, 3, 3)))
alpha = 4.0
power = ss.power_law(base, alpha).probs[0]
token = ss.token_temperature_law(base, 1 / alpha).probs[0]
print(f"TV(power law, token temperature) = {0.5 * np.abs(power - token).sum():.3f}")

# %%
# The MCMC sampler against the exact power law
# --------------------------------------------
result = ss.power_sample_mcmc(base, np.array([0]), alpha, n_steps=30, n_chains=4000, rng=0)
codes = ss.encode_sequences(result.samples[0], 3)
freq = np.bincount(codes, minlength=power.size) / codes.size
print(
    f"acceptance rate {result.acceptance_rate:.2f};  TV(MCMC, power law) = {0.5 * np.abs(freq - power).sum():.3f}"
)

order = np.argsort(-power)[:20]
fig, ax = plt.subplots(figsize=(8, 3.6))
pos = np.arange(order.size)
ax.bar(pos - 0.27, power[order], 0.27, label=r"power law $\pi^\alpha/Z$ (exact)")
ax.bar(pos, freq[order], 0.27, label="MCMC (4000 chains, 30 steps)")
ax.bar(pos + 0.27, token[order], 0.27, label=r"token temperature $1/\alpha$ (exact)")
ax.set(
    xlabel="sequence (20 most likely under the power law)",
    ylabel="probability",
    title=rf"$\alpha = {alpha:g}$",
)
ax.legend()
fig.tight_layout()
plt.show()
