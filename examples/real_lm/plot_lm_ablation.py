r"""
What makes SFT-sharpening sharpen on a real language model (ablation)
======================================================================

SFT-sharpening under several settings — learning rate, LoRA rank or full fine-tuning, N — each
row its paired gain over the base's greedy decoding.

Whether a trained model's greedy response becomes likelier under the base depends on how far
the training moves it: too small a learning rate changes nothing, too large a one (or full
fine-tuning) can move it away from the base. The registered experiment ``lm_ablation`` runs the
same measurement as ``lm_table`` over SFT variants (``lora_r=0`` is full fine-tuning). This
script draws it from a stored run (``docs/lectures/stored/lm_study``); it needs no torch.
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
STORED = HERE.parents[1] / "docs" / "lectures" / "stored" / "lm_study" / "lm_ablation"
records = experiments.read_results(STORED / "results.csv")

# %%
# The ablation table
# ------------------
# One row per setting, every task kind pooled; the intervals are 95%.
print(lm_stats.markdown_ablation(records))

# %%
# The figure
# ----------
out = plotting.figure("lm_ablation", records, Path("sharpsim_figures"))
print("written:", *[p.name for p in out])
