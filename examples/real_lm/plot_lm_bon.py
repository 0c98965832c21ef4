r"""
Best-of-N on a real language model, per task kind (Fig. 1 analogue)
====================================================================

How much more often best-of-N is right than greedy decoding on a causal LM, and how much more
likely its pick is under the base model.

The paper's Figure 1: on real LMs, best-of-N with the log-likelihood self-reward (pick the
likeliest of N sampled responses) is more often correct than greedy decoding. The registered
experiment ``lm_bon`` draws, per seed, :math:`N_{\max}` responses once for every test prompt of
every task kind, and lets best-of-N pick among the first N of them for N = 1 … :math:`N_{\max}`
(nested, so the curves are smooth in N). Every record is one (kind, prompt, N): whether the pick
is correct, its log-likelihood under the base, and the same for the base's greedy response on
that prompt, so the lifts are paired differences.

``sharpsim lm reproduce`` runs it (with ``lm_table`` and ``lm_ablation``) and writes a report;
this script draws its figures from a stored run (``docs/lectures/stored/lm_study``), so it
needs no torch. See :ref:`theory-torch`.
"""

# %%
# The stored records
# ------------------
# ``experiments.read_results`` reads a sweep's ``results.csv`` back with its types (the
# ``manifest.json`` beside it says which model, sizes and seeds made it).
import json
from pathlib import Path

from sharpsim import experiments, plotting

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # cell by cell in a notebook, from the repository root or this folder
    HERE = Path.cwd() if Path.cwd().name == "real_lm" else Path.cwd() / "examples" / "real_lm"
STORED = HERE.parents[1] / "docs" / "lectures" / "stored" / "lm_study" / "lm_bon"
records = experiments.read_results(STORED / "results.csv")
grid = json.loads((STORED / "manifest.json").read_text())["grid"]
print(len(records), "records; grid:", grid)

# %%
# The lifts at a few N
# --------------------
# Mean over test prompts (and seeds) of best-of-N minus greedy, per task kind.
few = [r for r in records if r["N"] in (1, 4, 16, 32)]
print(
    experiments.mean_table(
        few, by=("kind", "N"), values=("accuracy_lift", "log_likelihood_lift", "pass_at_n")
    )
)

# %%
# The figures
# -----------
# A heatmap of the lifts per task kind and N, and the curves with their 95% intervals
# (Student-t over seeds, or a bootstrap over prompts for a one-seed run).
for name in ("lm_bon_heatmap", "lm_bon_curves"):
    out = plotting.figure(name, records, Path("sharpsim_figures"))
    print("written:", *[p.name for p in out])
