"""The sweep runner: seeding by grid position, executors, results.csv, resume, refusals."""

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.experiments import Experiment, ResultsMismatchError, TaskError, read_results, run
from sharpsim.experiments import results as rio
from sharpsim.experiments.executors import InProcessExecutor, open_executor, process_pool
from sharpsim.experiments.runner import Sweep, unit_rng

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def toy(rng, n, label, scale):
    """Records with every value kind, a second record with extra keys when n > 2."""
    x = rng.normal(size=n) * scale
    out = [
        {"mean": float(x.mean()), "draws": n, "positive": bool(x.mean() > 0), "tag": f"{label}-a"}
    ]
    if n > 2:
        out.append(
            {
                "mean": float(np.max(x)),
                "tag": f"{label}-max",
                "tiny": 1e-300 * float(x[0]),
                "inf": np.inf,
            }
        )
    return out


TOY = Experiment(
    "toy",
    toy,
    "a toy sweep",
    grid={"n": [1, 3, 5], "label": ["u", "v"], "scale": [0.1, 2.0]},
    quick_grid={"n": [1, 3], "label": ["u"], "scale": [0.1, 1 / 3]},
    quick_seeds=3,
    seeds=2,
)


def slow_toy(rng, n, label, scale):
    time.sleep(0.15)
    return toy(rng, n, label, scale)


SLOW = Experiment(
    "toy", slow_toy, "a toy sweep", grid=TOY.grid, quick_grid=TOY.quick_grid, quick_seeds=3, seeds=2
)


def broken(rng, n):
    if n == 2:
        raise ZeroDivisionError("boom")
    return [{"n2": n * 2}]


def _expected_records(exp, quick, seeds, seed=0):
    """The records computed directly from the documented seeding rule, no runner involved."""
    out = []
    for c, cell in enumerate(exp.cells(quick)):
        for s in range(seeds):
            rng = np.random.default_rng(
                np.random.SeedSequence(seed).spawn(len(exp.cells(quick)))[c].spawn(seeds)[s]
            )
            for record in exp.func(rng, **cell):
                out.append(
                    {
                        "experiment": exp.name,
                        "cell": c,
                        "seed": s,
                        **cell,
                        **{k: rio.scalar(v, k) for k, v in record.items()},
                    }
                )
    return out


def test_records_follow_the_documented_seeding_rule():
    records = run(TOY, quick=False, progress=False, seed=7)
    assert records == _expected_records(TOY, False, 2, seed=7)
    assert len(records) == sum(len(toy(unit_rng(0, 0, 0), **cell)) for cell in TOY.cells(False)) * 2


def test_results_csv_round_trips_types_and_order(tmp_path):
    records = run(TOY, quick=True, out=tmp_path, progress=False)
    back = read_results(tmp_path)
    assert back == records
    assert [
        type(r[k]) for r in back[:1] for k in ("cell", "n", "scale", "mean", "positive", "tag")
    ] == [int, int, float, float, bool, str]
    header = (tmp_path / "results.csv").read_text().splitlines()[0].split(",")
    assert header == [
        "experiment",
        "cell",
        "seed",
        "n",
        "label",
        "scale",
        "draws",
        "inf",
        "mean",
        "positive",
        "tag",
        "tiny",
        "record",
        "n_records",
    ]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["grid"] == {"n": [1, 3], "label": ["u"], "scale": [0.1, 1 / 3]}
    assert manifest["seeds"] == 3 and manifest["tasks_done"] == 12 and manifest["finished"]
    assert manifest["columns"]["tag"] == "str" and manifest["columns"]["positive"] == "bool"
    # without the manifest, kinds are inferred and the values are still exact
    (tmp_path / "manifest.json").unlink()
    assert read_results(tmp_path / "results.csv") == records


def test_identical_results_in_process_and_process_pool(tmp_path):
    a = run(TOY, quick=False, out=tmp_path / "a", progress=False)
    with process_pool(2) as pool:
        b = run(TOY, quick=False, out=tmp_path / "b", executor=pool, progress=False)
    assert a == b
    assert (tmp_path / "a" / "results.csv").read_bytes() == (
        tmp_path / "b" / "results.csv"
    ).read_bytes()


def test_identical_results_on_dask_local_cluster(tmp_path):
    pytest.importorskip("distributed")
    a = run(TOY, quick=False, out=tmp_path / "a", progress=False)
    with open_executor(dask_local_workers=2) as executor:
        b = run(TOY, quick=False, out=tmp_path / "b", executor=executor, progress=False)
    assert a == b
    assert (tmp_path / "a" / "results.csv").read_bytes() == (
        tmp_path / "b" / "results.csv"
    ).read_bytes()


def test_rerun_with_same_out_runs_nothing(tmp_path, monkeypatch):
    first = run(TOY, quick=True, out=tmp_path, progress=False)
    before = (tmp_path / "results.csv").read_bytes()
    calls = []
    counting = Experiment(
        "toy",
        lambda rng, **cell: calls.append(cell) or toy(rng, **cell),
        "a toy sweep",
        grid=TOY.grid,
        quick_grid=TOY.quick_grid,
        quick_seeds=3,
    )
    assert run(counting, quick=True, out=tmp_path, progress=False) == first
    assert calls == []
    assert (tmp_path / "results.csv").read_bytes() == before


def test_resume_after_torn_and_partial_writes(tmp_path):
    fresh = run(TOY, quick=True, out=tmp_path / "fresh", progress=False)
    target = (tmp_path / "fresh" / "results.csv").read_bytes()
    out = tmp_path / "torn"
    sweep = Sweep(TOY, quick=True, out=out)
    tasks = sweep.tasks()
    for key, _, fn, args in tasks[:3]:
        sweep.add(key, fn(*args))
    # a killed writer: the first row of a two-row (cell, seed) and half a line
    key, _, fn, args = tasks[6]  # cell 2 has n = 3: two records
    records = fn(*args)
    assert len(records) == 2
    rows = [
        {
            "experiment": "toy",
            "cell": key[0],
            "seed": key[1],
            **sweep.cells[key[0]],
            **r,
            "record": i,
            "n_records": 2,
        }
        for i, r in enumerate(records)
    ]
    text = rio.encode_rows(rows, sweep._columns_written, header=False)
    rio.append(
        out / "results.csv", text[: len(text.splitlines()[0]) + 1] + text.splitlines()[1][:9]
    )
    ran = []
    counting = Experiment(
        "toy",
        lambda rng, **cell: ran.append(cell) or toy(rng, **cell),
        "a toy sweep",
        grid=TOY.grid,
        quick_grid=TOY.quick_grid,
        quick_seeds=3,
    )
    assert run(counting, quick=True, out=out, progress=False) == fresh
    assert len(ran) == 9  # the nine unfinished (cell, seed)s, the torn one included
    assert (out / "results.csv").read_bytes() == target


def shuffled_keys(rng, n):
    """Records whose shared keys come in a different order from cell to cell."""
    a, b = float(rng.random()), int(rng.integers(10))
    return [{"b": b, "a": a} if n % 2 else {"a": a, "c": "x", "b": b}]


def test_resume_order_does_not_change_the_file(tmp_path):
    exp = Experiment(
        "keys",
        shuffled_keys,
        "key order",
        grid={"n": [0, 1, 2, 3]},
        quick_grid={"n": [0, 1, 2, 3]},
        quick_seeds=2,
    )
    fresh = run(exp, out=tmp_path / "fresh", progress=False)
    sweep = Sweep(exp, out=tmp_path / "resumed")
    tasks = sweep.tasks()
    for key, _, fn, args in (
        tasks[3],
        tasks[2],
        tasks[0],
    ):  # cell 1 ({"b", "a"}) arrives first, then the run dies
        sweep.add(key, fn(*args))
    assert (
        (tmp_path / "resumed" / "results.csv")
        .read_text()
        .startswith("experiment,cell,seed,n,b,a,c,")
    )
    assert run(exp, out=tmp_path / "resumed", progress=False) == fresh
    assert (tmp_path / "resumed" / "results.csv").read_bytes() == (
        tmp_path / "fresh" / "results.csv"
    ).read_bytes()


def test_resume_after_killed_process_loses_nothing(tmp_path):
    fresh = run(TOY, quick=False, out=tmp_path / "fresh", progress=False)
    out = tmp_path / "killed"
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); import test_runner as t; "
        f"from sharpsim.experiments import run; run(t.SLOW, quick=False, out={str(out)!r}, progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline
        ):  # wait until a few (cell, seed)s are on disk, then kill hard
            csv_path = out / "results.csv"
            if csv_path.exists() and len(csv_path.read_text().splitlines()) > 6:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    saved = Sweep(TOY, quick=False, out=out)
    assert 0 < len(saved.done) < len(saved.units)  # killed mid-sweep, some kept
    kept = {k: v for k, v in saved.done.items()}
    records = run(TOY, quick=False, out=out, progress=False)
    assert records == fresh
    assert all(
        records_for == [r for r in records if (r["cell"], r["seed"]) == key]
        for key, records_for in kept.items()
    )
    assert (out / "results.csv").read_bytes() == (tmp_path / "fresh" / "results.csv").read_bytes()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"grid": {"n": [1, 2], "label": ["u"], "scale": [0.1]}}, "grid"),
        ({"seeds": 4}, "seeds"),
        ({"name": "other"}, "experiment"),
    ],
)
def test_mismatched_folder_is_refused(tmp_path, change, field):
    run(TOY, quick=False, out=tmp_path, progress=False)
    before = (tmp_path / "results.csv").read_bytes()
    other = Experiment(
        change.get("name", "toy"),
        toy,
        "a toy sweep",
        grid=change.get("grid", TOY.grid),
        quick_grid=TOY.quick_grid,
        seeds=change.get("seeds", 2),
    )
    with pytest.raises(ResultsMismatchError, match=f"different sweep.*{field}"):
        run(other, quick=False, out=tmp_path, progress=False)
    with pytest.raises(ResultsMismatchError, match="seed: folder has 0, this run 1"):
        run(TOY, quick=False, out=tmp_path, progress=False, seed=1)
    with pytest.raises(ResultsMismatchError, match="quick"):
        run(TOY, quick=True, out=tmp_path, progress=False)
    assert (tmp_path / "results.csv").read_bytes() == before  # nothing touched


def test_foreign_results_csv_is_refused(tmp_path):
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ResultsMismatchError, match="not a sharpsim sweep"):
        run(TOY, out=tmp_path, progress=False)


def test_failing_task_is_named_and_finished_ones_are_kept(tmp_path):
    exp = Experiment(
        "broken",
        broken,
        "raises on n=2",
        grid={"n": [1, 2, 3]},
        quick_grid={"n": [1, 2, 3]},
        quick_seeds=1,
    )
    with pytest.raises(
        TaskError, match=r"broken cell 1 \{'n': 2\} seed 0 failed: ZeroDivisionError: boom"
    ):
        run(exp, out=tmp_path, progress=False)
    assert read_results(tmp_path) == [
        {"experiment": "broken", "cell": 0, "seed": 0, "n": 1, "n2": 2}
    ]


@pytest.mark.parametrize(
    "func, match",
    [
        (lambda rng, n: [], "non-empty list of dicts"),
        (lambda rng, n: [{"v": [1, 2]}], "key 'v' must be an int, float, bool or str; got list"),
        (lambda rng, n: [{"n": 1}], "reserved or grid column names"),
        (lambda rng, n: [{"seed": 1}], "reserved or grid column names"),
        (lambda rng, n: [{"s": "two\nlines"}], "one-line string"),
        (lambda rng, n: [{"s": "lone \ud800 surrogate"}], "UTF-8 can encode"),
        (
            lambda rng, n: [{"s": 1}] if n == 1 else [{"s": "x"}],
            "column 's'.*(number values and now str|str values and now number)",
        ),
    ],
)
def test_bad_records_are_refused(func, match):
    exp = Experiment(
        "bad", func, "bad", grid={"n": [1, 2]}, quick_grid={"n": [1, 2]}, quick_seeds=1
    )
    with pytest.raises((TaskError, TypeError, ValueError), match=match):
        run(exp, progress=False)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"seeds": 0}, ValueError, "seeds must be at least 1; got 0"),
        ({"seeds": 1.5}, TypeError, "seeds must be an int"),
        ({"seed": -1}, ValueError, "seed must be a non-negative int; got -1"),
        ({"executor": 2}, TypeError, "executor must be a concurrent.futures.Executor"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        run(TOY, progress=False, **kwargs)


def test_unknown_experiment_names_the_known_ones():
    with pytest.raises(KeyError, match="no experiment named 'nope'"):
        run("nope")


def test_executor_options_are_checked():
    with pytest.raises(ValueError, match="choose one executor; got jobs and dask_local"):
        with open_executor(jobs=2, dask_local_workers=2):
            pass
    with pytest.raises(ValueError, match="jobs must be at least 1; got 0"):
        with open_executor(jobs=0):
            pass
    with open_executor(jobs=1) as ex:
        assert isinstance(ex, InProcessExecutor)


def test_missing_dask_names_the_extra(without_dask):
    from sharpsim.experiments.executors import MissingExtraError

    with pytest.raises(MissingExtraError, match=r'pip install "sharpsim\[dask\]"'):
        with open_executor(dask_local_workers=2):
            pass
    with pytest.raises(MissingExtraError, match=r"sharpsim\[dask\]"):
        with open_executor(dask_scheduler_address="tcp://127.0.0.1:1"):
            pass


def test_progress_bar_counts_tasks(capsys):
    pytest.importorskip("tqdm")
    run(TOY, quick=True, progress=True)
    err = capsys.readouterr().err
    assert "toy" in err and "12/12" in err


def test_no_bar_when_not_a_terminal(capsys):
    run(TOY, quick=True)  # progress=None: pytest's captured streams are not terminals
    assert capsys.readouterr().err == ""


def test_import_sharpsim_experiments_stays_light():
    code = (
        "import sys, sharpsim.experiments; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('matplotlib', 'tqdm', 'dask', 'distributed', 'torch')]; print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.booleans(),
    # any encodable text: lone surrogates (category Cs) cannot be written as UTF-8 and are refused
    st.text(
        st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=8,
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(["a", "b,c", 'q"t', "ü", "x y"]), _values, min_size=1),
        min_size=1,
        max_size=4,
    )
)
def test_results_round_trip_exactly(records):
    """Any plain-scalar records come back from results.csv with the same types and bits (NaN included)."""
    kinds = {}
    for (
        record
    ) in records:  # a column holds one kind (number, bool or str); others are refused, tested above
        for key, value in record.items():
            kinds.setdefault(key, rio.kind_of(value))
    records = [
        {k: v for k, v in r.items() if rio.kind_of(v) == kinds[k]} or {"z": 0} for r in records
    ]
    exp = Experiment(
        "prop",
        lambda rng, g: records,
        "property",
        grid={"g": [0]},
        quick_grid={"g": [0]},
        quick_seeds=1,
    )
    with tempfile.TemporaryDirectory() as tmp:
        got = run(exp, out=tmp, progress=False)
        back = read_results(tmp)

    def canon(rows):
        return [{k: (type(v).__name__, repr(v)) for k, v in row.items()} for row in rows]

    assert canon(back) == canon(got)
    assert canon(
        [{k: v for k, v in r.items() if k not in ("experiment", "cell", "seed", "g")} for r in got]
    ) == canon(records)
