"""The command line under real faults: signals to real subprocesses, corrupt files, two runs, huge sizes.

Each test starts ``python -m sharpsim`` in its own process group (session),
waits until it has really started working (results on disk or a progress
line), sends a real signal and then looks at ``/proc`` for what is left.
Nothing of the OS is mocked.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def _env() -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }


class Command:
    """``python -m sharpsim ARGS`` in a new session (its pid is the process group of all it starts).

    Output goes to files, not pipes: a leftover worker holding a pipe open
    would make reading it hang instead of failing the test.
    """

    def __init__(self, tmp_path: Path, *args: str):
        self.stdout_path, self.stderr_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sharpsim", *args],
                cwd=ROOT,
                env=_env(),
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self.pid = self.proc.pid

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_until(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"the command ended ({self.proc.returncode}) before {what}:\n{self.stderr}"
                )
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def signal(self, sig) -> int:
        """Send ``sig`` to the command (not its group) and return its exit status."""
        os.kill(self.pid, sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, read from /proc."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # ended while we looked
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            alive.append(int(entry))
    return alive


def results_rows(folder: Path) -> int:
    total = 0
    for path in folder.rglob("results.csv"):
        try:
            total += max(0, len(path.read_bytes().splitlines()) - 1)
        except OSError:
            pass
    return total


def assert_group_gone(pgid: int, within: float = 5.0) -> None:
    """Every process of the group is gone within ``within`` seconds; otherwise kill them and fail."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = group_members(pgid)
        if not left:
            return
        time.sleep(0.05)
    described = [Path(f"/proc/{pid}/cmdline").read_bytes()[:120] for pid in left]
    os.killpg(pgid, signal.SIGKILL)
    raise AssertionError(f"{len(left)} processes outlived the runner: {described}")


# --------------------------------------------------------------------------- orphans

RUN = ["run", "sft_error", "--quick", "--seeds", "400", "--jobs", "2", "--quiet"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_no_process_outlives_a_killed_run(tmp_path, sig):
    out = tmp_path / "out"
    cmd = Command(tmp_path, *RUN, "--out", str(out))
    try:
        cmd.wait_until(lambda: results_rows(out) >= 2, 60, "results on disk")
        assert len(group_members(cmd.pid)) >= 3  # the runner, its workers, the forkserver...
        cmd.signal(sig)
    finally:
        assert_group_gone(cmd.pid)


def test_no_process_outlives_a_killed_reproduce(tmp_path):
    out = tmp_path / "out"
    cmd = Command(tmp_path, "reproduce", "--jobs", "2", "--quiet", "--out", str(out))
    try:  # the runner, the resource tracker, the forkserver and two workers
        cmd.wait_until(lambda: len(group_members(cmd.pid)) >= 5, 90, "the workers")
        cmd.wait_until(lambda: any((out / "data").rglob("manifest.json")), 90, "sweeps open")
        assert cmd.signal(signal.SIGKILL) == -signal.SIGKILL
    finally:
        assert_group_gone(cmd.pid)


# --------------------------------------------------------------------------- Ctrl-C and SIGTERM


def _one_line(cmd: Command, code: int) -> str:
    lines = cmd.stderr.splitlines()
    assert cmd.proc.returncode == code, cmd.stderr
    assert len(lines) == 1 and "Traceback" not in cmd.stderr, cmd.stderr
    return lines[0]


@pytest.mark.parametrize(
    "sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_interrupted_run_says_what_was_kept(tmp_path, sig, code, word):
    out = tmp_path / "out"
    cmd = Command(tmp_path, *RUN, "--out", str(out))
    try:
        cmd.wait_until(lambda: results_rows(out) >= 2, 60, "results on disk")
        cmd.signal(sig)
    finally:
        assert_group_gone(cmd.pid)
    line = _one_line(cmd, code)
    assert line.startswith(f"sharpsim: {word}; ")
    assert f"of 1200 tasks are saved in {out}" in line and "to resume" in line  # 3 cells x 400
    kept = int(line.split(f"sharpsim: {word}; ")[1].split()[0])
    with open(out / "results.csv") as f:
        units = {(row["cell"], row["seed"]) for row in csv.DictReader(f)}
    assert kept >= 1 and kept == len(units)


@pytest.mark.parametrize(
    "args, says",
    [
        (["reproduce", "--jobs", "2"], "tasks are saved in"),
        (["figures", "--quick", "--jobs", "2"], "tasks are saved in"),
        (["verify", "--jobs", "2"], "theorem checks keep no partial results"),
    ],
)
def test_ctrl_c_on_every_command_is_one_line_exit_130(tmp_path, args, says):
    out = tmp_path / "out"
    where = {
        "reproduce": ["--out", str(out)],
        "figures": ["--out", str(out), "--data", str(out / "data")],
        "verify": [],
    }[args[0]]
    cmd = Command(tmp_path, *args, *where)
    try:  # interrupted once its two workers run
        cmd.wait_until(lambda: len(group_members(cmd.pid)) >= 5, 90, "the workers")
        cmd.signal(signal.SIGINT)
    finally:
        assert_group_gone(cmd.pid)
    lines = cmd.stderr.splitlines()
    assert cmd.proc.returncode == 130, cmd.stderr
    assert "Traceback" not in cmd.stderr
    assert lines[-1].startswith("sharpsim: interrupted; ") and says in lines[-1]
    assert all(not line.startswith("sharpsim:") for line in lines[:-1])  # the rest: progress lines


# --------------------------------------------------------------------------- the folder lock


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sharpsim", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_second_run_into_a_held_folder_refuses_and_a_dead_holders_lock_is_taken_over(tmp_path):
    out = tmp_path / "out"
    args = [*RUN, "--out", str(out)]
    first = Command(tmp_path, *args)
    try:
        first.wait_until(lambda: results_rows(out) >= 2, 60, "results on disk")
        second = _cli(*args)
        assert second.returncode == 2, second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
        assert f"{out} is in use by another sharpsim run (pid {first.pid} on " in second.stderr
        assert "sharpsim run sft_error" in second.stderr  # the holder's command
        assert first.proc.poll() is None  # the holder goes on
        rows = results_rows(out)
        assert first.signal(signal.SIGKILL) == -signal.SIGKILL
    finally:
        assert_group_gone(first.pid)
    assert results_rows(out) >= rows  # the refused run wrote nothing in between
    (tmp_path / "third").mkdir()
    third = Command(tmp_path / "third", *args)
    try:
        third.wait_until(lambda: "taking over" in third.stderr, 60, "the stale lock taken over")
        assert third.signal(signal.SIGINT) == 130
    finally:
        assert_group_gone(third.pid)
    lines = third.stderr.splitlines()
    assert lines[0] == (
        f"sharpsim: taking over the lock of {out} left by a run that is gone "
        f"(pid {first.pid} on {os.uname().nodename} since " + lines[0].split(" since ")[1]
    )
    assert lines[1].startswith("sharpsim: interrupted; ") and len(lines) == 2, third.stderr
    assert not (out / ".sharpsim.lock").exists()  # released on the way out


def test_the_api_holds_the_lock_for_the_runs_life(tmp_path):
    out = tmp_path / "out"
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); import test_runner as t; "
        f"from sharpsim.experiments import run; run(t.SLOW, quick=False, out={str(out)!r}, progress=False)"
    )
    with open(tmp_path / "err.txt", "w") as err:
        holder = subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=_env(), stderr=err, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while results_rows(out) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        from test_runner import TOY

        from sharpsim.experiments import FolderLockedError, run

        with pytest.raises(
            FolderLockedError, match=f"in use by another sharpsim run \\(pid {holder.pid} "
        ):
            run(TOY, quick=False, out=out, progress=False)
        assert holder.wait(timeout=60) == 0  # undisturbed
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert not (out / ".sharpsim.lock").exists()
    run(TOY, quick=False, out=out, progress=False)  # free again once the holder is done


# --------------------------------------------------------------------------- figures on workers


@pytest.mark.slow  # two real `figures` runs, about 10 s
def test_figures_drawn_on_workers_are_the_bytes_drawn_in_process(tmp_path):
    """Figures go to the pool's workers as tasks; the files do not depend on where they were drawn."""
    made = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        done = _cli(
            *["figures", "--quick", "--only", "sft_error", "bon_lift", "--jobs", jobs, "--quiet"],
            *["--out", str(out / "figs"), "--data", str(out / "data")],
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        made[jobs] = {p.name: p.read_bytes() for p in sorted((out / "figs").iterdir())}
    assert sorted(made["1"]) == ["bon_lift.pdf", "bon_lift.png", "sft_error.pdf", "sft_error.png"]
    assert made["1"] == made["2"]
