"""One run at a time per results folder: a lock file held for the run's life.

:func:`experiments.run <sharpsim.experiments.runner.run>` and the command
line's ``run``, ``figures`` and ``reproduce`` take the lock of each sweep
folder before they read or write anything in it. The lock is an exclusive
``fcntl.flock`` on ``FOLDER/.sharpsim.lock``, whose text names the holder
(pid, host, start time, command). The kernel drops a ``flock`` when its
holder dies, however it dies (``kill -9`` included), so a lock left by a dead
run is taken over at once, with one line on stderr saying so; a live holder
makes a second run refuse at once with :class:`FolderLockedError`, naming the
folder and the holder. The file is removed when the run ends.

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with FolderLock(folder):
    ...     FolderLock(folder).acquire()
    Traceback (most recent call last):
    ...
    sharpsim.experiments.lock.FolderLockedError: ... is in use by another sharpsim run (pid ...
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, runs are not protected
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".sharpsim.lock"


class FolderLockedError(RuntimeError):
    """Another live sharpsim run holds this results folder (the message names the folder and the holder)."""


def _command_line() -> str:
    """This process's command line, as ``sharpsim ARGS`` when it is the sharpsim command."""
    if sys.argv and Path(sys.argv[0]).name in ("__main__.py", "sharpsim"):
        return " ".join(["sharpsim", *sys.argv[1:]])
    return " ".join(sys.argv) or sys.executable


def _describe(holder: dict) -> str:
    parts = [f"pid {holder.get('pid', '?')}"]
    if holder.get("host"):
        parts.append(f"on {holder['host']}")
    if holder.get("started"):
        parts.append(f"since {holder['started']}")
    text = " ".join(parts)
    return f"{text}: {holder['command']}" if holder.get("command") else text


def _read(fd: int) -> dict:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 65536)
    if not raw.strip():
        return {}
    try:
        holder = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {"pid": "unknown (unreadable lock file)"}
    return holder if isinstance(holder, dict) else {}


class FolderLock:
    """The lock of one results folder; ``acquire`` / ``release`` or a ``with`` block.

    Args:
        folder: the results folder (it must exist).
        command: what to record as the holder's command (default: ``sys.argv``).
    """

    def __init__(self, folder, command: str | None = None):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.command = command if command is not None else _command_line()
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        """Take the lock or raise :class:`FolderLockedError`; a dead holder's lock is taken over."""
        if fcntl is None or self._fd is not None:  # pragma: no cover
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read(fd)
                os.close(fd)
                raise FolderLockedError(
                    f"{self.folder} is in use by another sharpsim run ({_describe(holder)}); "
                    "wait for it to end or use another --out"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a file its last holder removed while we opened it
                break
            os.close(fd)
        stale = _read(fd)
        if stale:
            line = (
                f"sharpsim: taking over the lock of {self.folder} left by a run that is gone "
                f"({_describe(stale)})\n"
            )
            sys.stderr.write(line)  # one write: a Ctrl-C cannot cut the line from its newline
            sys.stderr.flush()
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": self.command,
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(me) + "\n").encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Remove the lock file and drop the lock (nothing when not held)."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:  # pragma: no cover - removed by hand
            pass
        os.close(self._fd)
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
