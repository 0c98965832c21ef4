r"""
Adaptive SFT needs 1/ε, plain SFT 1/ε² (Thm D.1)
================================================

Adaptive SFT-sharpening against plain SFT: queries needed as the accuracy target shrinks.

Theorem D.1: SFT with the adaptive best-of-N stopping rule (Eq. 10, :math:`\mu_{\mathrm{stop}} = \ln(2/\delta)`)
needs :math:`\mathbb{E}[m] = O(\bar C_{\mathrm{cov}}\log(|\Pi|/\rho)\log(1/\delta)/(\delta\varepsilon))` queries —
:math:`1/\varepsilon` where plain SFT needs :math:`1/\varepsilon^2`. On the lower-bound family, the
experiment computes the exact queries both need to reach ε, and checks the adaptive one by
Monte Carlo (:func:`sharpsim.adaptive_sft_sharpening`). See :ref:`theory-sft`.

The script runs the registered experiment ``adaptive_sft`` on its *quick* grid (the one
``sharpsim reproduce`` uses) and draws its paper-style figure; ``sharpsim run adaptive_sft --full``
runs the paper-scale grid.
"""

# %%
# Run the sweep
# -------------
# ``experiments.run`` evaluates each cell of the grid for each seed and returns tidy
# records, one dict per measured point; the same seed gives the same records whatever
# executor runs them.
from pathlib import Path

from sharpsim import experiments, plotting

experiment = experiments.get("adaptive_sft")
print(experiment.description)
print("quick grid:", dict(experiment.quick_grid), "| seeds:", experiment.quick_seeds)
records = experiments.run("adaptive_sft", quick=True, progress=False)
print(len(records), "records")

# %%
# Look at the numbers
# -------------------
# The mean over seeds of the measured columns, for each epsilon.
print(
    experiments.mean_table(
        records, by=("epsilon",), values=("m_adaptive", "m_adaptive_mc", "m_plain")
    )
)

# %%
# The figure
# ----------
# Adaptive vs plain SFT: queries vs 1/eps (slopes ~1 vs ~2).
#
# The adaptive count grows like 1/ε, the plain one like 1/ε² (slopes ~1 and ~2 on log-log axes).
out = plotting.figure("adaptive_sft", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
