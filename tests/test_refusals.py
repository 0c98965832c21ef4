"""Refusals before any work: corrupt results files, sweeps too large to hold, ``lm`` sizes.

Each refusal is one line naming what is wrong and what to do, exit status 2
on the command line, and leaves every file byte for byte as it was.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_runner import TOY

from sharpsim.cli import main
from sharpsim.experiments import (
    CorruptResultsError,
    Experiment,
    SweepTooLargeError,
    read_results,
    run,
)
from sharpsim.experiments.sizes import MAX_TASKS

ROOT = Path(__file__).resolve().parents[1]


def _one_line(capsys, code: int, argv: list[str]) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


# --------------------------------------------------------------------------- corrupt state

CORRUPTIONS = {
    "binary garbage appended": ("results.csv", b"\x00\xff\xfe garbage \x80\x81", "not UTF-8 text"),
    "binary garbage line": ("results.csv", b"\xc3\x28 junk\n", "not UTF-8 text"),
    "a row with too few fields": ("results.csv", b"toy,0,0,1\n", "is malformed (4 fields"),
    "a row whose cell is no number": (
        "results.csv",
        b"toy,x,0,1,u,0.1,1,0.5,False,,u-a,,0,1\n",
        "must be integers",
    ),
    "a value its column cannot hold": (
        "results.csv",
        b"toy,0,0,1,u,0.1,1,zero,False,,u-a,,0,1\n",
        "could not convert string to float",
    ),
}


@pytest.mark.parametrize("what", list(CORRUPTIONS))
def test_corrupt_results_csv_is_refused_and_left_untouched(tmp_path, what):
    name, extra, why = CORRUPTIONS[what]
    run(TOY, quick=True, out=tmp_path, progress=False)
    with open(tmp_path / name, "ab") as f:
        f.write(extra)
    before = (tmp_path / name).read_bytes()
    with pytest.raises(CorruptResultsError, match=re.escape(why)) as info:
        run(TOY, quick=True, out=tmp_path, progress=False)
    message = str(info.value)
    assert str(tmp_path / name) in message and "fresh --out" in message
    with pytest.raises(CorruptResultsError, match=re.escape(why)):
        read_results(tmp_path)
    assert (tmp_path / name).read_bytes() == before


@pytest.mark.parametrize(
    "text, why",
    [
        (b'{"experiment": "sft_error", "grid": ', "is not valid JSON (Expecting value at line 1"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        (b"[1, 2]", "is not the JSON object sharpsim writes"),
    ],
)
def test_corrupt_manifest_is_one_line_exit_2(capsys, tmp_path, text, why):
    argv = ["run", "sft_error", "--quick", "--seeds", "1", "--jobs", "1", "--out", str(tmp_path)]
    assert main([*argv, "--quiet"]) == 0
    capsys.readouterr()
    (tmp_path / "manifest.json").write_bytes(text)
    csv_before = (tmp_path / "results.csv").read_bytes()
    line = _one_line(capsys, 2, argv)
    assert line.startswith(f"sharpsim: error: {tmp_path / 'manifest.json'} {why}")
    assert "move it (or its folder) away, or use a fresh --out" in line
    assert (tmp_path / "manifest.json").read_bytes() == text
    assert (tmp_path / "results.csv").read_bytes() == csv_before


def test_corrupt_results_csv_on_the_command_line(capsys, tmp_path):
    argv = ["run", "sft_error", "--quick", "--seeds", "1", "--jobs", "1", "--out", str(tmp_path)]
    assert main([*argv, "--quiet"]) == 0
    with open(tmp_path / "results.csv", "ab") as f:
        f.write(b"\x89PNG\r\n\x1a\n\x00\x00")
    before = (tmp_path / "results.csv").read_bytes()
    capsys.readouterr()
    line = _one_line(capsys, 2, argv)
    assert f"{tmp_path / 'results.csv'}: line" in line and "is not UTF-8 text" in line
    assert (tmp_path / "results.csv").read_bytes() == before


def test_torn_multibyte_last_line_is_still_repaired(tmp_path):
    """A write cut inside a UTF-8 character is a torn line, not corruption: dropped and rerun."""
    exp = Experiment(
        "utf",
        lambda rng, n: [{"word": "héllo", "x": float(rng.random())}],
        "utf-8 strings",
        grid={"n": [1, 2]},
        quick_grid={"n": [1, 2]},
        quick_seeds=2,
    )
    fresh = run(exp, out=tmp_path / "fresh", progress=False)
    out = tmp_path / "torn"
    run(exp, out=out, progress=False)
    text = (out / "results.csv").read_bytes()
    last = text[:-1].rfind(b"\n") + 1
    cut = text.index("é".encode(), last) + 1  # half of the two bytes of é
    (out / "results.csv").write_bytes(text[:cut])
    assert run(exp, out=out, progress=False) == fresh
    assert (out / "results.csv").read_bytes() == text


# --------------------------------------------------------------------------- sizes


def test_huge_seed_count_is_refused_at_once_on_the_command_line(tmp_path):
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "sharpsim", "run", "sft_error", "--seeds", "100000000000"]
        + ["--jobs", "2", "--out", str(tmp_path)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert (
        "= 400,000,000,000 tasks" in done.stderr and f"at most {MAX_TASKS:,} tasks" in done.stderr
    )
    assert "use fewer seeds" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert time.monotonic() - start < 60  # not killed by the kernel after filling memory


def test_huge_grid_through_the_api_is_refused_before_the_cells_exist(tmp_path):
    values = list(range(100_000))
    exp = Experiment(
        "huge",
        lambda rng, a, b: [{"y": 1}],
        "huge",
        grid={"a": values, "b": values},
        quick_grid={"a": values, "b": values},
    )
    with pytest.raises(SweepTooLargeError, match=r"10,000,000,000 cells x 3 seeds"):
        run(exp, quick=True, out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    many = Experiment("many", TOY.func, "many", quick_grid={"n": list(range(1001))})
    with pytest.raises(SweepTooLargeError, match=r"1,001 cells x 1,000 seeds = 1,001,000 tasks"):
        run(many, seeds=1000, progress=False)


def test_help_states_the_limits(capsys):
    assert main(["run", "--help"]) == 0
    assert "at most 1,000,000 tasks" in capsys.readouterr().out.replace("\n", " ").replace(
        "  ", " "
    )


# --------------------------------------------------------------------------- lm sizes


def _lm_cli():
    """sharpsim/torch/cli.py loaded on its own: its sizes are checked before torch is imported."""
    spec = importlib.util.spec_from_file_location("lm_cli_alone", ROOT / "sharpsim/torch/cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "extra, says",
    [
        (["-N", "5000"], "argument -N: expected an integer from 1 to 1,024, got '5000'"),
        (["-N", "0"], "argument -N: expected an integer from 1 to 1,024, got '0'"),
        (["--max-new-tokens", "100000"], "expected an integer from 1 to 4,096"),
        (["--max-new-tokens", "-1"], "expected an integer from 1 to 4,096"),
    ],
)
def test_lm_sizes_are_refused_by_the_parser(capsys, tmp_path, extra, says):
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    with pytest.raises(SystemExit) as info:
        _lm_cli().main(["bon", "--prompts", str(prompts), *extra])
    assert info.value.code == 2 and says in capsys.readouterr().err


def test_lm_work_is_refused_before_the_model_loads(capsys, tmp_path):
    lm = _lm_cli()
    prompts = tmp_path / "p.txt"
    prompts.write_text("a prompt\n" * 5000)
    argv = ["bon", "--prompts", str(prompts), "-N", "1024", "--max-new-tokens", "4096"]
    assert lm.main(argv) == 2  # no torch needed: refused before _load
    err = capsys.readouterr().err
    assert "5,000 prompts x N 1,024 x --max-new-tokens 4,096" in err and "10,000,000" in err
    prompts.write_text("p\n" * (lm.MAX_PROMPTS + 1))
    assert lm.main(["bon", "--prompts", str(prompts)]) == 2
    assert "holds 10,001 prompts, more than the limit of 10,000" in capsys.readouterr().err
