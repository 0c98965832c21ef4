import re
import subprocess
import sys
from pathlib import Path

from sharpsim.demo import run_demo

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_example_runs(capsys):
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "C_cov" in out and "best-of-64" in out
    # printed numbers are rounded: no float with more than four decimals
    assert not re.search(r"\d\.\d{5,}", out), out


def test_readme_quick_start_matches_ci():
    block = (
        re.search(r"## Quick start\n\n```bash\n(.*?)```", README, re.S)
        .group(1)
        .strip()
        .splitlines()
    )
    assert len(block) == 2
    assert block[0] == "python -m pip install . && sharpsim reproduce"
    test_command = block[1].split("&&")[1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_readme_command_line_lists_every_subcommand():
    from sharpsim.cli import build_parser

    section = README[README.index("## Command line") :]
    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name in subcommands:
        assert f"sharpsim {name}" in section


def test_demo_numbers():
    report = run_demo(seed=0)
    assert report.numbers["coverage"] >= 1.0
    masses = list(report.numbers["bon_mode_mass"].values())
    assert masses == sorted(masses)  # BoN mass on the mode rises with N
    assert report.numbers["decoders"]["exact mode (Viterbi)"]["hits_mode"] == 4


def test_import_pulls_only_numpy_and_scipy():
    code = (
        "import sys, sharpsim; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('matplotlib', 'tqdm', 'torch', 'transformers', 'dask', 'distributed', 'pandas', 'hypothesis', "
        "'pytest')]; print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_readme_experiments_example_runs(tmp_path, monkeypatch):
    from sharpsim.experiments import read_results

    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    code = next(b for b in blocks if "experiments.run(" in b)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["records"] == read_results(tmp_path / "results" / "my-sweep")
    assert {r["experiment"] for r in namespace["records"]} == {"sft_error"}
