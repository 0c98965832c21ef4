r"""
The exact error of SFT-sharpening
=================================

The exact expected error of SFT-sharpening, checked by Monte Carlo.

SFT-sharpening (Sec. 2.1) fits, by maximum likelihood, the best-of-N picks of :math:`n` prompts.
For a tabular class its expected sharpening error is a finite binomial sum, which
:func:`sharpsim.expected_sft_error` evaluates exactly — no Monte Carlo. Theorem 4.1′ bounds it by
:math:`\frac{1}{\delta}\frac{\log(|\Pi|/\rho)}{n} + \frac{C_{\mathrm{cov}}}{N^\star}` (up to constants,
:func:`sharpsim.theory.sft_error_bound`). This script draws the exact error against n for several N
and checks one point against runs of :func:`sharpsim.sft_sharpening`. See :ref:`theory-sft`.
"""

# %%
# A world with 20 prompts
# -----------------------
import matplotlib.pyplot as plt
import numpy as np

import sharpsim as ss

rng = np.random.default_rng(0)
base = ss.TabularPolicy(rng.dirichlet(np.full(6, 0.6), size=20))
print(f"C_cov = {ss.coverage(base):.2f}")
delta = 0.2

# %%
# Exact expected error against n
# ------------------------------
ns = np.unique(np.logspace(0, 2.5, 15).astype(int))
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for N in (1, 4, 16):
    errors = [ss.expected_sft_error(base, int(n), N, delta) for n in ns]
    ax.semilogx(ns, errors, marker="o", ms=3, label=f"N = {N}")
ax.set(
    xlabel="prompts n",
    ylabel="expected sharpening error",
    title=rf"SFT-sharpening, $\delta={delta}$",
)
ax.legend()
fig.tight_layout()

# %%
# Monte Carlo agrees with the exact value
# ---------------------------------------
# 200 runs of the algorithm at n = 40, N = 4, with a tabular model class.
n, N, runs = 40, 4, 200
model_class = ss.TabularClass(20, 6)
errs = [
    ss.sharpening_error(ss.sft_sharpening(base, n, N, model_class, rng=s).policy, base, delta)
    for s in range(runs)
]
exact = ss.expected_sft_error(base, n, N, delta)
print(
    f"exact {exact:.4f}   Monte Carlo {np.mean(errs):.4f} ± {2 * np.std(errs) / np.sqrt(runs):.4f} (95%)"
)
plt.show()
