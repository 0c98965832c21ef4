"""The 0.1.0 release (commit 7df18a8) as a baseline benchmarks can time in the same run.

``v010_path()`` extracts 0.1.0's ``sharpsim`` package (``git archive``) into
``benchmarks/results/v010`` once and returns that folder; benchmarks time the
old code in a subprocess with ``PYTHONPATH`` set to it (two copies of one
package cannot share a process), e.g. ``run_v010(code)`` below.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

V010_COMMIT = "7df18a8"
ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "benchmarks" / "results" / "v010"


def v010_path() -> Path:
    """Folder holding 0.1.0's ``sharpsim`` package (extracted on first use)."""
    if not (TARGET / "sharpsim" / "__init__.py").exists():
        blob = subprocess.run(
            ["git", "archive", "--format=tar", V010_COMMIT, "sharpsim"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        TARGET.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            tar.extractall(TARGET)
    return TARGET


def run_v010(code: str, timeout: float = 1800) -> dict:
    """Run ``code`` under 0.1.0 in a subprocess; it must print one JSON object last. Returns it."""
    env = dict(os.environ, PYTHONPATH=str(v010_path()))
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(TARGET),
    ).stdout
    return json.loads(out.strip().splitlines()[-1])
