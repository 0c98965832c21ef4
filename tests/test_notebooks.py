"""The teaching notebooks: committed without outputs, and every one runs top to bottom.

Each notebook in ``notebooks/`` is executed with nbclient in quick mode
(``SHARPSIM_NOTEBOOK_QUICK=1``, read by its "Parameters" cell). The kernel is
started from a kernelspec written into a temporary directory that points at
*this* interpreter (``sys.executable``) with the repository root first on
``PYTHONPATH``, so it imports the checkout's sharpsim whatever ``python3``
kernelspecs the machine has installed. The run fails on any cell error, and on
any warning a cell prints to stderr (the suite treats warnings as errors).
Skipped, with the reason, only when nbclient / nbformat / ipykernel /
matplotlib are not installed (they are in the ``test`` extra).
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _needs_torch(path: pathlib.Path) -> bool:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return any(
        "sharpsim.torch" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
    )


#: The NumPy teaching notebooks, run here; a notebook on the torch backend runs on the
#: real SmolLM2 in tests/test_torch_notebook.py (slow).
TEACHING = [p for p in NOTEBOOKS if not _needs_torch(p)]
CELL_TIMEOUT_S = 300


def test_at_least_three_notebooks():
    assert len(TEACHING) >= 3, [p.name for p in TEACHING]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs; run `python notebooks/strip_outputs.py`"
    )


@pytest.mark.parametrize("path", TEACHING, ids=lambda p: p.name)
def test_has_parameters_cell_and_exercises(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    md = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert any("# Parameters" in src and "SHARPSIM_NOTEBOOK_QUICK" in src for src in code)
    assert any(src.lstrip().startswith("## Exercises") for src in md)


def _kernel_manager_class(tmp_path):
    """A KernelManager class whose ``python3`` kernelspec runs this interpreter on the checkout.

    Handing nbclient a class (not an instance) lets it own the manager, so it
    shuts the kernel down and closes its sockets when the run ends.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from traitlets import default

    spec_dir = tmp_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (sharpsim tests)",
        "language": "python",
        "env": {
            "PYTHONPATH": pythonpath,
            "SHARPSIM_NOTEBOOK_QUICK": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    kernel_dirs = [str(tmp_path / "kernels")]
    assert (
        KernelSpecManager(kernel_dirs=kernel_dirs).get_kernel_spec("python3").argv[0]
        == sys.executable
    )

    class CheckoutKernelManager(KernelManager):
        @default("kernel_spec_manager")
        def _checkout_kernel_spec_manager(self):
            return KernelSpecManager(kernel_dirs=kernel_dirs)

    return CheckoutKernelManager


@pytest.mark.parametrize("path", TEACHING, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "JUPYTER_PLATFORM_DIRS", "1"
    )  # silences jupyter_core's path-migration notice
    for module in ("nbformat", "nbclient", "ipykernel", "matplotlib"):
        pytest.importorskip(
            module, reason=f"{module} is needed to run the notebooks (pip install '.[test]')"
        )
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_manager_class=_kernel_manager_class(tmp_path),
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    quick = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream" and "QUICK=True" in o.text
    ]
    assert quick, "the Parameters cell did not see SHARPSIM_NOTEBOOK_QUICK=1"
    warnings = [
        (i, o.text)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "stream" and o.name == "stderr" and "Warning" in o.text
    ]
    assert not warnings, f"{path.name} printed warnings: {warnings}"
    images = sum(
        "image/png" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert images >= 3, f"{path.name} drew {images} figures"
