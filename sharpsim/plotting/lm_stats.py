"""The real-LM study's numbers: 95% intervals over seeds or prompts, Table 1 and the ablation table.

Pure numpy/scipy (no matplotlib). Records are the rows of the ``lm_bon``,
``lm_table`` and ``lm_ablation`` experiments (one per test prompt, see
:mod:`sharpsim.experiments.lm_study`). An interval is a Student-t interval of
the mean over seeds when there are at least two seeds (each seed's mean over
its prompts is one observation), and a percentile bootstrap over prompts when
there is one seed (the quick study).
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

import numpy as np
from scipy import stats as sps

from .stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, LEVEL


class Interval(NamedTuple):
    """A mean with its ``level`` interval ``[lo, hi]``; ``how`` says over what it was taken."""

    mean: float
    lo: float
    hi: float
    how: str

    @property
    def excludes_zero(self) -> bool:
        return self.lo > 0 or self.hi < 0

    def text(self, digits: int = 3) -> str:
        return f"{self.mean:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"


def interval(by_seed: dict, level: float = LEVEL, over: str = "auto") -> Interval:
    """The mean of per-prompt values and its interval, from ``{seed: [values over prompts]}``.

    ``over="auto"``: Student-t over the seeds' means when there are >= 2 seeds,
    else a seeded percentile bootstrap over the prompts of the one seed;
    ``over="prompts"`` bootstraps the first seed's prompts whatever the seed count.

    Example:
        >>> interval({0: [1.0, 2.0], 1: [3.0, 4.0], 2: [5.0, 6.0]}).text(2)
        '3.50 [-1.47, 8.47]'
        >>> interval({0: [1.0, 1.0]}).how
        'bootstrap over 2 prompts'
    """
    seeds = sorted(by_seed)
    if not seeds or any(len(by_seed[s]) == 0 for s in seeds):
        raise ValueError("interval needs at least one seed with values")
    if len(seeds) >= 2 and over == "auto":
        means = np.array([np.mean(by_seed[s]) for s in seeds], dtype=float)
        m = float(means.mean())
        half = float(sps.t.ppf((1 + level) / 2, len(means) - 1) * means.std(ddof=1))
        half /= np.sqrt(len(means))
        return Interval(m, m - half, m + half, f"t over {len(means)} seeds")
    v = np.asarray(by_seed[seeds[0]], dtype=float)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    boot = v[rng.integers(0, v.size, size=(BOOTSTRAP_RESAMPLES, v.size))].mean(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(v.mean()), float(lo), float(hi), f"bootstrap over {v.size} prompts")


def by_seed(records, column: str, where: dict | None = None) -> dict:
    """``{seed: [record[column] as float for matching records]}`` (bools count as 0/1)."""
    out: dict = defaultdict(list)
    for r in records:
        if all(r.get(k) == v for k, v in (where or {}).items()):
            out[r["seed"]].append(float(r[column]))
    return dict(out)


def kinds_of(records) -> list[str]:
    """Task kinds in first-seen order."""
    return list(dict.fromkeys(r["kind"] for r in records))


class Row(NamedTuple):
    """One method's line of Table 1 for one kind (``"all"``: every kind pooled)."""

    method: str
    kind: str
    accuracy: Interval
    log_likelihood: Interval
    delta: Interval | None  # paired base log-likelihood difference to the base's greedy
    queries_train: float
    queries_inference: float


def table1(bon, trained, N: int) -> list[Row]:
    """Table 1's rows: base greedy, BoN-``N`` and each trained method, per kind and pooled (``"all"``).

    ``bon``: ``lm_bon`` records (greedy and BoN); ``trained``: ``lm_table`` records.
    Greedy is deterministic on fixed prompts: its intervals bootstrap the prompts.
    """
    rows = []
    methods = list(dict.fromkeys(r["method"] for r in trained))
    for kind in [*kinds_of(bon or trained), "all"]:
        where = {} if kind == "all" else {"kind": kind}
        first = {**where, "N": 1}
        if bon:
            acc = interval(by_seed(bon, "greedy_correct", first), over="prompts")
            ll = interval(by_seed(bon, "greedy_log_likelihood", first), over="prompts")
            rows.append(Row("greedy (base)", kind, acc, ll, None, 0, 0))
            at_n = {**where, "N": N}
            rows.append(
                Row(
                    f"best-of-{N}",
                    kind,
                    interval(by_seed(bon, "correct", at_n)),
                    interval(by_seed(bon, "log_likelihood", at_n)),
                    interval(by_seed(bon, "log_likelihood_lift", at_n)),
                    0,
                    N,
                )
            )
        for method in methods:
            sel = {**where, "method": method}
            queries = np.mean([r["queries_train"] for r in trained if r["method"] == method])
            rows.append(
                Row(
                    method.split()[0].upper() + "-sharpened, greedy",
                    kind,
                    interval(by_seed(trained, "correct", sel)),
                    interval(by_seed(trained, "log_likelihood", sel)),
                    interval(by_seed(trained, "log_likelihood_lift", sel)),
                    float(queries),
                    0,
                )
            )
    return rows


def markdown_overall(rows: list[Row]) -> str:
    """Table 1 pooled over kinds, as Markdown: accuracy, base log-likelihood, paired Δ, queries."""
    lines = [
        "| method | accuracy | log-lik. under base | Δ log-lik. vs base greedy (paired) "
        "| CI excludes 0 | queries: training | queries: inference per prompt |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in (r for r in rows if r.kind == "all"):
        delta = r.delta.text(2) if r.delta else "0 (reference)"
        excl = ("yes" if r.delta.excludes_zero else "no") if r.delta else "—"
        lines.append(
            f"| {r.method} | {r.accuracy.text()} | {r.log_likelihood.text(2)} | {delta} "
            f"| {excl} | {r.queries_train:,.0f} | {r.queries_inference:g} |"
        )
    return "\n".join(lines)


def markdown_by_kind(rows: list[Row], field: str = "accuracy") -> str:
    """One Markdown table: task kinds as rows, methods as columns, ``field``'s mean [interval]."""
    kinds = list(dict.fromkeys(r.kind for r in rows))
    methods = list(dict.fromkeys(r.method for r in rows))
    cell = {(r.method, r.kind): getattr(r, field) for r in rows}
    digits = 3 if field == "accuracy" else 2
    lines = ["| task kind | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for k in kinds:
        texts = [cell[(m, k)].text(digits) if cell.get((m, k)) else "—" for m in methods]
        lines.append(f"| {k} | " + " | ".join(texts) + " |")
    return "\n".join(lines)


def markdown_ablation(records) -> str:
    """The ablation table: one row per SFT setting, pooled over kinds, with paired differences."""
    lines = [
        "| setting | accuracy | Δ accuracy vs base greedy | Δ log-lik. vs base greedy "
        "| CI excludes 0 | queries: training |",
        "|---|---|---|---|---|---|",
    ]
    for method in dict.fromkeys(r["method"] for r in records):
        sel = {"method": method}
        delta = interval(by_seed(records, "log_likelihood_lift", sel))
        queries = np.mean([r["queries_train"] for r in records if r["method"] == method])
        lines.append(
            f"| `{method}` | {interval(by_seed(records, 'correct', sel)).text()} "
            f"| {interval(by_seed(records, 'accuracy_lift', sel)).text()} | {delta.text(2)} "
            f"| {'yes' if delta.excludes_zero else 'no'} | {queries:,.0f} |"
        )
    return "\n".join(lines)
