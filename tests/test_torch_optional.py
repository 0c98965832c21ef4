"""The torch backend stays optional: ``import sharpsim`` never imports torch; a missing torch gives one clear line.

Runs with or without the torch extra (subprocesses block ``torch`` by hand).
"""

import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_sharpsim_does_not_import_torch():
    out = _run("import sys, sharpsim; print('torch' in sys.modules, 'transformers' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False False"


@pytest.mark.parametrize("blocked", ["torch", "transformers"])
def test_missing_dependency_gives_one_clear_error(blocked):
    # import sharpsim (and scipy) first: scipy inspects sys.modules["torch"] itself
    code = f"import sys, sharpsim; sys.modules[{blocked!r}] = None\nimport sharpsim.torch"
    out = _run(code)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: sharpsim.torch needs the optional package")
    assert 'pip install "sharpsim[torch]"' in last
