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
    try:
        cmd.wait_until(lambda: results_rows(out / "data") >= 2, 90, "results on disk")
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
    "args, started, says",
    [
        (["reproduce", "--jobs", "2"], "data", "tasks are saved in"),
        (["figures", "--quick", "--jobs", "2"], "data", "tasks are saved in"),
        (["verify", "--jobs", "2"], "stderr", "theorem checks keep no partial results"),
    ],
)
def test_ctrl_c_on_every_command_is_one_line_exit_130(tmp_path, args, started, says):
    out = tmp_path / "out"
    where = ["--out", str(out)] + (["--data", str(out / "data")] if args[0] == "figures" else [])
    cmd = Command(tmp_path, *args, *(where if args[0] != "verify" else []))
    try:
        if started == "data":
            cmd.wait_until(lambda: results_rows(out / "data") >= 1, 90, "results on disk")
        else:  # verify prints one line per finished check when stderr is not a terminal
            cmd.wait_until(lambda: "[PASS]" in cmd.stderr, 90, "a finished check")
        cmd.signal(signal.SIGINT)
    finally:
        assert_group_gone(cmd.pid)
    lines = cmd.stderr.splitlines()
    last = lines[-1]
    assert cmd.proc.returncode == 130, cmd.stderr
    assert "Traceback" not in cmd.stderr
    assert last.startswith("sharpsim: interrupted; ") and says in last
    assert all(not line.startswith("sharpsim:") for line in lines[:-1])  # the rest: progress lines
