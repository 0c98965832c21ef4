"""Strip outputs from notebooks before committing: ``python notebooks/strip_outputs.py [FILES...]``.

Clears every code cell's outputs, execution count and execution-timing
metadata; with no arguments it strips every ``*.ipynb`` next to this file.
``tests/test_notebooks.py`` checks that the committed notebooks are stripped.
"""

from __future__ import annotations

import pathlib
import sys

import nbformat


def strip(path) -> bool:
    """Strip one notebook in place; return True when the file changed."""
    path = pathlib.Path(path)
    before = path.read_text(encoding="utf-8")
    nb = nbformat.reads(before, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    after = nbformat.writes(nb) + "\n"
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


def main(argv: list[str]) -> int:
    paths = argv or sorted(str(p) for p in pathlib.Path(__file__).parent.glob("*.ipynb"))
    for p in paths:
        if strip(p):
            print(f"stripped {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
