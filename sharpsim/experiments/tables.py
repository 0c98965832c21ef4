"""Seed means of tidy records as a plain-text table (for scripts, notebooks and the gallery)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np


def mean_table(records: Iterable[dict], by: Sequence[str], values: Sequence[str]) -> str:
    """The mean of each column of ``values`` for each combination of ``by``, as aligned text.

    Records missing one of ``values`` are skipped; groups are sorted by their keys,
    numbers by value and before strings.

    Args:
      records: tidy records (dicts), e.g. from :func:`sharpsim.experiments.run`.
      by: the grouping columns (e.g. ``("method", "N")``).
      values: the columns to average over the records of each group.

    Returns:
      one header line and one line per group.

    Raises:
      TypeError: ``by`` or ``values`` is not a non-empty sequence of strings.
      KeyError: a record that has every column of ``values`` lacks a column of ``by``.

    Example:
      >>> recs = [{"N": 16, "v": 1.0}, {"N": 16, "v": 3.0}, {"N": 2, "v": 5.0}, {"N": 2}]
      >>> print(mean_table(recs, ["N"], ["v"]))
                   N               v
                   2               5
                  16               2
    """
    by, values = _names(by, "by"), _names(values, "values")
    groups: dict[tuple, list] = defaultdict(list)
    for record in records:
        if all(v in record for v in values):
            groups[tuple(record[k] for k in by)].append([record[v] for v in values])
    lines = ["  ".join(f"{k:>14s}" for k in by + values)]
    for key, rows in sorted(groups.items(), key=lambda kv: tuple(map(_order, kv[0]))):
        means = np.mean(np.asarray(rows, dtype=float), axis=0)
        lines.append(
            "  ".join(f"{str(k):>14s}" for k in key) + "  " + "  ".join(f"{m:14.4g}" for m in means)
        )
    return "\n".join(lines)


def _names(names, what: str) -> tuple[str, ...]:
    if isinstance(names, str) or not all(isinstance(n, str) for n in names) or not names:
        raise TypeError(f"{what} must be a non-empty sequence of column names; got {names!r}")
    return tuple(names)


def _order(value) -> tuple:
    """Sort numbers by value, before anything else (sorted by its text)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))
