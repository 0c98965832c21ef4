import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sharpsim.cli import main
from sharpsim.demo import run_demo

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_runs(capsys):
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "C_cov" in out and "best-of-64" in out


def test_readme_quick_start_matches_ci():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\n\n```bash\n(.*?)```", readme, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    test_command = block[1].split("&&")[1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_demo_numbers():
    report = run_demo(seed=0)
    assert report.numbers["coverage"] >= 1.0
    masses = list(report.numbers["bon_mode_mass"].values())
    assert masses == sorted(masses)  # BoN mass on the mode rises with N
    assert report.numbers["decoders"]["exact mode (Viterbi)"]["hits_mode"] == 4


def test_cli_demo_and_reproduce(tmp_path, capsys, monkeypatch):
    assert main(["demo"]) == 0
    assert "coverage" in capsys.readouterr().out
    import sharpsim.cli as cli
    from sharpsim.theory import verify

    fast = lambda quick, seed, only=None: verify.run(quick=True, seed=seed, only=["check_prop_c1"])  # noqa: E731
    monkeypatch.setattr(cli, "_run_verify", fast)
    assert main(["reproduce", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "verify.json").read_text())["passed"]
    assert "coverage" in json.loads((tmp_path / "demo.json").read_text())


def test_cli_bad_arguments():
    with pytest.raises(SystemExit):
        main(["no-such-command"])


def test_import_pulls_only_numpy_and_scipy():
    code = ("import sys, sharpsim; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'torch', 'transformers', 'dask', 'pandas', 'hypothesis', 'pytest')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
