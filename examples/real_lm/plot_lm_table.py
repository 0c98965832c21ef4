r"""
SFT-, DPO- and XPO-sharpening on a real language model (Table 1 analogue)
==========================================================================

Greedy decoding of the sharpened models against the base's greedy decoding and best-of-N: the
amortization trade-off in one table.

The paper's Table 1: a model trained on its own best-of-N picks (SFT-sharpening), or by the
RLHF-style algorithms with the log-likelihood self-reward (DPO, XPO), should decode greedily to
responses the base finds likelier — paying sample-and-evaluate queries once at training time
instead of N per prompt at inference. The registered experiment ``lm_table`` trains each method
on train prompts disjoint from the test prompts and scores its greedy responses on the test
prompts: accuracy, log-likelihood under the base, and the paired difference to the base's greedy
response on the same prompt, with each method's training queries.

The table below is built from a stored run (``docs/lectures/stored/lm_study``), as
``sharpsim lm reproduce`` builds it in its report; the script needs no torch.
"""

# %%
# The stored records
# ------------------
from pathlib import Path

from sharpsim import experiments, plotting
from sharpsim.plotting import lm_stats

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # cell by cell in a notebook, from the repository root or this folder
    HERE = Path.cwd() if Path.cwd().name == "real_lm" else Path.cwd() / "examples" / "real_lm"
STORED = HERE.parents[1] / "docs" / "lectures" / "stored" / "lm_study"
bon = experiments.read_results(STORED / "lm_bon" / "results.csv")
table = experiments.read_results(STORED / "lm_table" / "results.csv")
print(len(table), "records of", sorted({r["method"] for r in table}))

# %%
# Table 1, all task kinds pooled
# ------------------------------
# Mean [95% interval]; best-of-N's row comes from ``lm_bon`` at N = 16 (the same test prompts).
rows = lm_stats.table1(bon, table, 16)
print(lm_stats.markdown_overall(rows))

# %%
# Accuracy per task kind
# ----------------------
print(lm_stats.markdown_by_kind(rows))

# %%
# The figure
# ----------
# Left: accuracy of greedy decoding, base and sharpened; right: the paired log-likelihood gain
# under the base, the quantity sharpening maximises.
out = plotting.figure("lm_table", table, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
