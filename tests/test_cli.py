"""The ``sharpsim`` command: every subcommand, its output files, exit codes and one-line errors."""

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import sharpsim
from sharpsim import experiments
from sharpsim.cli import main
from sharpsim.experiments import mainjob, read_results
from sharpsim.experiments.registry import Experiment
from sharpsim.theory.verify import CheckResult

ROOT = Path(__file__).resolve().parents[1]
FAST_CHECKS = ["check_prop_c1", "check_bon_law"]


def cli_toy(rng, n):
    return [{"value": float(rng.random() * n), "n_sq": n * n}]


@pytest.fixture
def toy_registry(monkeypatch):
    """Only the two toy experiments are registered while the test runs."""
    monkeypatch.setattr("sharpsim.experiments.registry._REGISTRY", {})
    from sharpsim.experiments import registry

    for name in ("cli-toy", "cli-toy-2"):
        registry._REGISTRY[name] = Experiment(
            name,
            cli_toy,
            f"{name} description",
            grid={"n": [1, 2, 3]},
            quick_grid={"n": [1, 2]},
            figures=(name,),
            seeds=2,
            quick_seeds=2,
        )
    return registry._REGISTRY


@pytest.fixture
def fake_plotting(monkeypatch):
    """A stand-in for ``sharpsim.plotting`` that records what it was asked to draw."""
    calls = {}

    def figure(name, records, out_dir):
        calls[name] = records
        paths = [Path(out_dir) / f"{name}.png", Path(out_dir) / f"{name}.pdf"]
        for p in paths:
            p.write_bytes(b"fake " + name.encode())
        return paths

    module = types.ModuleType("sharpsim.plotting")
    module.figure = figure
    monkeypatch.setitem(sys.modules, "sharpsim.plotting", module)
    monkeypatch.setattr(sharpsim, "plotting", module, raising=False)
    return calls


@pytest.fixture
def fast_checks(monkeypatch):
    monkeypatch.setattr(mainjob, "check_names", lambda: list(FAST_CHECKS))


def _one_line_error(capsys, code, argv, match):
    assert main(argv) == code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert match in lines[0]


# --------------------------------------------------------------------------- entry points


def test_version_and_python_m(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sharpsim {sharpsim.__version__}"
    done = subprocess.run(
        [sys.executable, "-m", "sharpsim", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0 and done.stdout.strip() == f"sharpsim {sharpsim.__version__}"


def test_help_documents_seed_only_and_every_check(capsys):
    assert main(["verify", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--seed S" in out and "--only CHECK" in out
    for name in mainjob.check_names():
        assert name.removeprefix("check_") in out.replace("\n", " ").replace("  ", " ")
    for command in ("run", "figures", "reproduce", "demo"):
        assert main([command, "--help"]) == 0
        assert "--seed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, match",
    [
        (["nonsense"], "invalid choice: 'nonsense'"),
        ([], "required: COMMAND"),
        (["verify", "--only", "nonsense"], "verify has no check 'nonsense'; known: check_bon_law"),
        (["demo", "--seed", "-1"], "--seed: expected a non-negative integer, got '-1'"),
        (["reproduce", "--out", "/dev/null/x"], "cannot write to the output folder /dev/null/x"),
        (["figures", "--out", "/dev/null/x"], "cannot write to the output folder /dev/null/x"),
        (["run", "no-such-experiment"], "no experiment named 'no-such-experiment'"),
        (["figures", "--only", "no-such-experiment"], "no experiment named 'no-such-experiment'"),
        (["info", "no-such-world"], "invalid choice: 'no-such-world'"),
        (["run", "x", "--jobs", "0"], "--jobs: expected a positive integer, got '0'"),
        (["run", "x", "--jobs", "2", "--dask-local", "2"], "not allowed with argument"),
        (["verify", "--seed", "x"], "expected a non-negative integer, got 'x'"),
        (
            ["run", "x", "--dask-scheduler", "nonsense"],
            "expected an address like tcp://HOST:PORT, got 'nonsense'",
        ),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, argv, match):
    _one_line_error(capsys, 2, argv, match)


def test_debug_shows_the_traceback():
    from sharpsim.cli import UsageError

    with pytest.raises(UsageError, match="/dev/null/x"):
        main(["--debug", "reproduce", "--out", "/dev/null/x"])
    with pytest.raises(UsageError):
        main(["reproduce", "--out", "/dev/null/x", "--debug"])


def test_crash_is_one_line_exit_1_and_interrupt_130(capsys, monkeypatch):
    import sharpsim.demo

    def boom(seed):
        raise RuntimeError("kaput")

    monkeypatch.setattr(sharpsim.demo, "run_demo", boom)
    _one_line_error(
        capsys, 1, ["demo"], "RuntimeError: kaput (rerun with --debug for the traceback)"
    )

    def interrupted(seed):
        raise KeyboardInterrupt

    monkeypatch.setattr(sharpsim.demo, "run_demo", interrupted)
    _one_line_error(capsys, 130, ["demo"], "interrupted")


# --------------------------------------------------------------------------- subcommands


def test_list(capsys, toy_registry):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "cli-toy     cli-toy description  [figures: cli-toy]\n" in out
    assert "greedy-failure" in out


def test_list_real_registry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for exp in experiments.list():
        assert exp.name in out and exp.description in out


def test_run_writes_results_and_resumes(capsys, toy_registry, tmp_path):
    out = tmp_path / "sweep"
    assert main(["run", "cli-toy", "--quick", "--jobs", "1", "--out", str(out)]) == 0
    assert "cli-toy: 4 tasks, 4 records" in capsys.readouterr().out
    records = read_results(out)
    assert records == experiments.run("cli-toy", quick=True, progress=False)
    before = (out / "results.csv").read_bytes()
    assert main(["run", "cli-toy", "--quick", "--jobs", "2", "--out", str(out)]) == 0
    assert (out / "results.csv").read_bytes() == before
    _one_line_error(
        capsys,
        2,
        ["run", "cli-toy", "--quick", "--seeds", "3", "--out", str(out)],
        "holds a different sweep (seeds: folder has 2, this run 3)",
    )
    _one_line_error(
        capsys, 2, ["run", "cli-toy", "--out", str(out)], "quick: folder has True, this run False"
    )


def test_run_default_out_and_seed(capsys, toy_registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "cli-toy", "--seed", "5", "--jobs", "1", "--seeds", "1"]) == 0
    records = read_results(tmp_path / "results" / "data" / "full" / "cli-toy")
    assert records == experiments.run("cli-toy", quick=False, seeds=1, seed=5, progress=False)


@pytest.mark.slow  # a LocalCluster takes ~10 s to start; tests/test_runner.py covers Dask in the default run
def test_run_on_dask_local(capsys, toy_registry, tmp_path):
    pytest.importorskip("distributed")
    assert (
        main(["run", "cli-toy", "--dask-local", "2", "--out", str(tmp_path / "d"), "--quiet"]) == 0
    )
    assert main(["run", "cli-toy", "--jobs", "1", "--out", str(tmp_path / "j"), "--quiet"]) == 0
    assert (tmp_path / "d" / "results.csv").read_bytes() == (
        tmp_path / "j" / "results.csv"
    ).read_bytes()


@pytest.mark.slow  # the client waits 10 s for the scheduler
def test_unreachable_dask_scheduler_is_one_line_exit_2(capsys, toy_registry, tmp_path):
    pytest.importorskip("distributed")
    _one_line_error(
        capsys,
        2,
        ["run", "cli-toy", "--dask-scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path)],
        "cannot reach the Dask scheduler at tcp://127.0.0.1:1",
    )


def test_dask_flags_without_dask_name_the_extra(capsys, toy_registry, tmp_path, without_dask):
    for flags in (["--dask-local", "2"], ["--dask-scheduler", "tcp://127.0.0.1:8786"]):
        _one_line_error(
            capsys,
            2,
            ["run", "cli-toy", "--out", str(tmp_path), *flags],
            'pip install "sharpsim[dask]"',
        )


def test_figures(capsys, toy_registry, fake_plotting, tmp_path):
    argv = [
        "figures",
        "--quick",
        "--only",
        "cli-toy",
        "--out",
        str(tmp_path / "figs"),
        "--data",
        str(tmp_path / "data"),
        "--jobs",
        "1",
    ]
    assert main(argv) == 0
    assert (tmp_path / "figs" / "cli-toy.png").exists() and (
        tmp_path / "figs" / "cli-toy.pdf"
    ).exists()
    assert list(fake_plotting) == ["cli-toy"]
    saved = read_results(tmp_path / "data" / "quick" / "cli-toy")
    assert fake_plotting["cli-toy"] == saved  # the figure is drawn from exactly what is on disk
    assert "cli-toy: " in capsys.readouterr().out


def test_figures_failure_exits_1(capsys, toy_registry, monkeypatch, tmp_path):
    module = types.ModuleType("sharpsim.plotting")

    def figure(name, records, out_dir):
        raise ValueError("no such figure")

    module.figure = figure
    monkeypatch.setitem(sys.modules, "sharpsim.plotting", module)
    monkeypatch.setattr(sharpsim, "plotting", module, raising=False)
    assert (
        main(["figures", "--quick", "--out", str(tmp_path), "--data", str(tmp_path), "--jobs", "1"])
        == 1
    )
    assert "figure FAILED: cli-toy: ValueError: no such figure" in capsys.readouterr().out


def test_verify_only_and_json(capsys, tmp_path):
    path = tmp_path / "v.json"
    assert (
        main(
            [
                "verify",
                "--quick",
                "--only",
                "prop_c1",
                "check_bon_law",
                "--jobs",
                "1",
                "--json",
                str(path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Prop. C.1" in out and "BoN law" in out and "2 checks" in out
    report = json.loads(path.read_text())
    assert report["passed"] and len(report["rows"]) == 2


def test_verify_rows_match_one_serial_run(capsys):
    from sharpsim.theory.verify import run

    serial = run(quick=True, seed=3, only=FAST_CHECKS)
    for row, name in zip(serial.rows, sorted(FAST_CHECKS, key=mainjob.check_names().index)):
        parallel = mainjob.verify_one(True, 3, name)
        assert (parallel.result, parallel.measured, parallel.passed) == (
            row.result,
            row.measured,
            row.passed,
        )


def test_verify_failed_check_exits_1(capsys, monkeypatch, fast_checks):
    monkeypatch.setattr(
        mainjob,
        "verify_one",
        lambda quick, seed, name: CheckResult(name, "c", "wrong", "right", False),
    )
    assert main(["verify", "--quick", "--jobs", "1"]) == 1
    assert "2 check(s) FAILED" in capsys.readouterr().out


@pytest.mark.parametrize(
    "world",
    [
        "demo",
        "greedy-failure",
        "power-pivot",
        "lower-bound",
        "separation",
        "maxcut",
        "hidden-knowledge",
    ],
)
def test_info(capsys, world):
    assert main(["info", world]) == 0
    out = capsys.readouterr().out
    for key in ("n_responses", "coverage", "adaptive_coverage", "margin", "mode_set_mass_mean"):
        assert key in out


def test_info_numbers_are_exact():
    from sharpsim.experiments.worlds import describe

    info = describe(
        "greedy-failure"
    )  # π = (0, .4, .35, .25): C_cov = 1/.4, margin = (.4 - .35)/.35
    assert info["coverage"] == pytest.approx(2.5, rel=1e-12)
    assert info["margin"] == pytest.approx(0.05 / 0.35, rel=1e-12)
    assert info["mode_set_mass_min"] == pytest.approx(0.4, rel=1e-12)
    maxcut = describe("maxcut")  # the 5-cycle: 10 maximum cuts (5 cuts of size 4, and complements)
    assert maxcut["modes_per_prompt_max"] == 10 and maxcut["claim.max_cut"] == 4


def test_demo(capsys):
    assert main(["demo", "--seed", "2"]) == 0
    assert "seed=2" in capsys.readouterr().out


def test_lm_without_torch_names_the_extra(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sharpsim.torch", None)  # as if torch were not installed,
    monkeypatch.setitem(
        sys.modules, "sharpsim.torch.cli", None
    )  # even where another test imported it
    _one_line_error(capsys, 2, ["lm", "sample", "--n", "3"], 'pip install "sharpsim[torch]"')


def test_lm_dispatches_the_rest(monkeypatch):
    seen = []
    package = types.ModuleType("sharpsim.torch")
    cli = types.ModuleType("sharpsim.torch.cli")

    def lm_main(argv):
        seen.append(argv)
        if argv == ["--bad"]:
            raise SystemExit(2)
        return 0

    cli.main = lm_main
    package.cli = cli
    monkeypatch.setitem(sys.modules, "sharpsim.torch", package)
    monkeypatch.setitem(sys.modules, "sharpsim.torch.cli", cli)
    monkeypatch.setattr(sharpsim, "torch", package, raising=False)
    assert main(["lm", "--help"]) == 0 and main(["--debug", "lm", "bon", "-N", "4"]) == 0
    assert main(["lm", "--bad"]) == 2
    assert seen == [["--help"], ["bon", "-N", "4"], ["--bad"]]


# --------------------------------------------------------------------------- the main job


def test_reproduce(capsys, toy_registry, fake_plotting, fast_checks, tmp_path):
    out = tmp_path / "res"
    assert main(["reproduce", "--out", str(out), "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "2 checks (quick mode, seed 0): all checks passed" in printed
    assert f"report: {out / 'report.md'}" in printed
    report = (out / "report.md").read_text()
    for name in ("cli-toy", "cli-toy-2"):
        assert (out / "figures" / f"{name}.png").exists()
        assert f"![{name}](figures/{name}.png)" in report
        assert f"data/quick/{name}/results.csv" in report
        assert fake_plotting[name] == read_results(out / "data" / "quick" / name)
    assert "Prop. C.1" in report and "all checks passed" in report
    assert json.loads((out / "verify.json").read_text())["passed"]
    assert "BoN law" in (out / "verify.txt").read_text()
    # a rerun reuses every finished sweep and draws the figures again (in-process: the fake
    # plotting module exists only here; tests/test_faults.py draws real figures on workers)
    fake_plotting.clear()
    assert main(["reproduce", "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    assert sorted(fake_plotting) == ["cli-toy", "cli-toy-2"]


def test_reproduce_progress_lines_when_not_a_terminal(
    capsys, toy_registry, fake_plotting, fast_checks, tmp_path
):
    assert main(["reproduce", "--out", str(tmp_path), "--jobs", "1"]) == 0
    err = capsys.readouterr().err
    assert (
        "[PASS] Prop. C.1" in err
        and "experiment cli-toy: 4 tasks, 4 records; figures: cli-toy.png" in err
    )
    assert main(["reproduce", "--out", str(tmp_path / "q"), "--jobs", "1", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_reproduce_failed_check_exits_1(
    capsys, toy_registry, fake_plotting, fast_checks, monkeypatch, tmp_path
):
    monkeypatch.setattr(
        mainjob,
        "verify_one",
        lambda quick, seed, name: CheckResult(name, "c", "wrong", "right", name != "check_bon_law"),
    )
    assert main(["reproduce", "--out", str(tmp_path), "--jobs", "1", "--quiet"]) == 1
    assert "**FAILED**" in (tmp_path / "report.md").read_text()


def test_reproduce_with_nothing_registered(capsys, monkeypatch, fast_checks, tmp_path):
    monkeypatch.setattr("sharpsim.experiments.registry._REGISTRY", {})
    assert main(["reproduce", "--out", str(tmp_path), "--jobs", "1", "--quiet"]) == 0
    assert "No experiments are registered" in (tmp_path / "report.md").read_text()
