"""The on-disk form of a sweep: ``results.csv`` plus ``manifest.json``.

``results.csv`` holds one row per record an experiment returned, for every
(grid cell, seed) it ran. Its columns, in a fixed order:
``experiment, cell, seed, <grid parameters in grid order>, <record keys
sorted by name>, record, n_records``. The last two are
bookkeeping: row ``record`` of the ``n_records`` rows its (cell, seed)
produced, so a (cell, seed) whose rows are not all present (a run killed
mid-write) is recognised and run again. Values are written so they read back
exactly: ``int`` as digits, ``float`` by ``repr`` (always with ``.``, ``e``,
``inf`` or ``nan``, so never mistaken for an ``int``), ``bool`` as
``True``/``False``, ``str`` verbatim (CSV-quoted when needed). A record
missing a key leaves that field empty, and an empty field reads back as a
missing key, so empty strings and line breaks in strings are refused.

A file that is not what the runner wrote — bytes that are not UTF-8 text, a
complete line with the wrong number of fields or a value its column cannot
hold, a manifest that is not the JSON object the runner writes — raises
:class:`CorruptResultsError` naming the file, the line and what to do; the
file is never changed. Only a torn last line (no line break: a run killed
while appending) is dropped, and its (cell, seed) runs again.

``manifest.json`` says what produced the file (experiment, grid, seeds, root
seed, package version, git commit when available, start and end times) and
the kind of every column (``number``, ``bool`` or ``str``), which
:func:`read_results` uses to restore types.

Example:
    >>> import tempfile, pathlib
    >>> rows = [{"experiment": "toy", "cell": 0, "seed": 0, "N": 4, "err": 0.1, "ok": True}]
    >>> text = encode_rows(rows, ["experiment", "cell", "seed", "N", "err", "ok"])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "results.csv"
    >>> _ = path.write_text(text)
    >>> read_results(path) == rows
    True
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import numbers
import os
import re
import tempfile
from pathlib import Path

import numpy as np

RESULTS_FILE = "results.csv"
MANIFEST_FILE = "manifest.json"
PREFIX = ("experiment", "cell", "seed")
BOOKKEEPING = ("record", "n_records")
RESERVED = PREFIX + BOOKKEEPING
_INT = re.compile(r"[-+]?\d+\Z")
_WHAT_TO_DO = "it is left as it is: move it (or its folder) away, or use a fresh --out"


class CorruptResultsError(ValueError):
    """A results.csv or manifest.json the runner did not write (the message names the file and what to do)."""


def scalar(value, what: str):
    """``value`` as a plain ``bool``, ``int``, ``float`` or ``str``; ``TypeError`` naming ``what`` otherwise.

    numpy scalars are converted (``np.float64`` -> ``float``, ``np.int64`` ->
    ``int``, ``np.bool_`` -> ``bool``).

    Example:
        >>> scalar(np.int64(3), "N"), scalar(np.bool_(True), "ok")
        (3, True)
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        if value == "" or "\n" in value or "\r" in value:
            raise ValueError(
                f"{what} must be a non-empty one-line string to be stored in results.csv; got {value!r}"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{what} must be a string UTF-8 can encode (results.csv is UTF-8); got {value!r}"
            ) from None
        return value
    raise TypeError(
        f"{what} must be an int, float, bool or str; got {type(value).__name__} {value!r}"
    )


def kind_of(value) -> str:
    """The column kind of a plain scalar: ``"bool"``, ``"number"`` or ``"str"``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "str"


def encode_value(value) -> str:
    """The text of one plain scalar in results.csv (``repr`` for floats: exact round trip)."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def decode_value(text: str, kind: str):
    """Inverse of :func:`encode_value` for a column of the given kind."""
    if kind == "bool":
        if text not in ("True", "False"):
            raise ValueError(f"expected True or False in a bool column; got {text!r}")
        return text == "True"
    if kind == "number":
        return int(text) if _INT.match(text) else float(text)
    return text


def infer_kind(texts) -> str:
    """The kind of a column from its (non-empty) texts, for files without a manifest."""
    texts = [t for t in texts if t != ""]
    if texts and all(t in ("True", "False") for t in texts):
        return "bool"
    try:
        for t in texts:
            float(t)
    except ValueError:
        return "str"
    return "number" if texts else "str"


def encode_rows(rows, columns, header: bool = True) -> str:
    """CSV text of ``rows`` (dicts of plain scalars) with ``columns``; missing keys left empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else encode_value(row[c]) for c in columns])
    return buffer.getvalue()


def parse_csv(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and complete rows of a results.csv text; a torn last line (no newline) is dropped."""
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        return [], []
    header, body = lines[0], lines[1:]
    return header, [row for row in body if len(row) == len(header)]


def load_csv(path, required=RESERVED) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a results.csv file, checked: :class:`CorruptResultsError` on anything but a torn last line.

    A torn last line (the bytes after the last line break: a write cut short)
    is dropped when it could be the start of a row: UTF-8 text, possibly ending
    inside a character, with no more fields than the header. Every complete line
    must have as many fields as the header, and the bookkeeping columns must
    hold integers.
    """
    path = Path(path)
    raw = path.read_bytes()
    cut = raw.rfind(b"\n") + 1
    body, tail = raw[:cut], raw[cut:]
    try:
        text = body.decode("utf-8")
        tail_text = codecs.getincrementaldecoder("utf-8")().decode(tail, final=False)
    except UnicodeDecodeError as exc:
        offset = exc.start + (0 if exc.object is body else cut)
        line = raw.count(b"\n", 0, offset) + 1
        raise CorruptResultsError(
            f"{path}: line {line} (byte {offset}) is not UTF-8 text, so not something sharpsim "
            f"wrote; {_WHAT_TO_DO}"
        ) from None
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        return [], []
    header = lines[0]
    missing = [c for c in required if c not in header]
    if missing:
        raise CorruptResultsError(f"{path}: the header lacks the columns {missing}; {_WHAT_TO_DO}")
    if "\0" in tail_text or len(next(csv.reader([tail_text]), [])) > len(header):
        raise CorruptResultsError(f"{path}: the last line is not the start of a row; {_WHAT_TO_DO}")
    at = [header.index(c) for c in ("cell", "seed", *BOOKKEEPING) if c in header]
    for number, row in enumerate(lines[1:], start=2):
        if len(row) != len(header):
            why = f"{len(row)} fields where the header has {len(header)}"
        elif not all(_INT.match(row[i]) for i in at):
            why = "cell, seed, record and n_records must be integers"
        else:
            continue
        raise CorruptResultsError(f"{path}: line {number} is malformed ({why}); {_WHAT_TO_DO}")
    return header, lines[1:]


def _results_path(path) -> Path:
    path = Path(path)
    return path / RESULTS_FILE if path.is_dir() else path


def read_manifest(folder) -> dict | None:
    """The manifest in ``folder``, or ``None`` when there is none."""
    path = Path(folder) / MANIFEST_FILE
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        why = "is not UTF-8 text"
    except json.JSONDecodeError as exc:
        why = f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    else:
        if isinstance(manifest, dict) and isinstance(manifest.get("columns", {}), dict):
            return manifest
        why = "is not the JSON object sharpsim writes"
    raise CorruptResultsError(f"{path} {why}; {_WHAT_TO_DO}")


def read_results(path) -> list[dict]:
    """The records in a results.csv (or a folder holding one), with their types restored.

    Each record is ``{"experiment", "cell", "seed", **cell_params, **record}``
    as the experiment returned it (the bookkeeping columns ``record`` and
    ``n_records`` are dropped; empty fields are absent keys). Column kinds come
    from the ``manifest.json`` beside the file when there is one, otherwise
    they are inferred from the text.

    Args:
        path: a ``results.csv`` file or the ``--out`` folder holding it.

    Returns:
        list of dicts in file order.

    Example:
        >>> import sharpsim.experiments as ex, tempfile
        >>> ex.read_results(tempfile.mkdtemp())
        Traceback (most recent call last):
        ...
        FileNotFoundError: no results.csv in ...
    """
    csv_path = _results_path(path)
    if not csv_path.exists():
        raise FileNotFoundError(f"no {RESULTS_FILE} in {csv_path.parent}")
    header, rows = load_csv(csv_path, required=())
    manifest = read_manifest(csv_path.parent) or {}
    kinds = dict(manifest.get("columns", {}))
    for i, name in enumerate(header):
        if name not in kinds:
            kinds[name] = "number" if name in RESERVED[1:] else infer_kind(r[i] for r in rows)
    return [decode_row(csv_path, number, header, row, kinds) for number, row in enumerate(rows, 2)]


def decode_row(path, number: int, header, row, kinds: dict) -> dict:
    """One row as a record (bookkeeping and empty fields dropped); :class:`CorruptResultsError` on a bad value."""
    try:
        return {
            name: decode_value(text, kinds[name])
            for name, text in zip(header, row)
            if text != "" and name not in BOOKKEEPING
        }
    except ValueError as exc:
        raise CorruptResultsError(
            f"{path}: line {number} is malformed ({exc}); {_WHAT_TO_DO}"
        ) from None


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by a temporary file and ``os.replace``: never half written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def append(path: Path, text: str) -> None:
    """Append ``text`` with one ``write`` and ``fsync``: a (cell, seed)'s rows land together."""
    with open(path, "a", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
