"""Bundled short-answer tasks with answer extraction: arithmetic, sequences and factual questions.

Ten kinds (:data:`KINDS`), generated deterministically from a seed — no data
files, no download. Each kind has a finite pool of distinct questions (all
operand pairs, all list entries); :func:`make_tasks` draws without replacement
from it. ``split="test"`` and ``split="train"`` partition every pool by a fixed
permutation (independent of the seed): even positions are test, odd ones
train, so a test question never appears among training questions, whatever
the seeds. :func:`extract_answer` maps a model response to the answer it
states (``None`` when none), used for accuracy and majority-vote self-reward.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from .._validation import check_int
from .task_data import ALIASES, FACTS, MONTHS, WEEKDAYS

__all__ = ["Task", "make_tasks", "extract_answer", "pool_size", "KINDS", "SPLITS", "FACTS"]

NUMERIC_KINDS = ("arithmetic", "multiplication", "comparison", "sequence")
WORD_KINDS = ("calendar", "capital", "continent", "currency", "antonym", "color")
#: Every task kind, in the order :func:`make_tasks` cycles through them.
KINDS = NUMERIC_KINDS + WORD_KINDS
#: Values of ``split``: ``None`` (the whole pool), ``"test"`` or ``"train"`` (disjoint halves).
SPLITS = (None, "test", "train")

_NUMBER = "Answer with just the number."
_WORD = "Answer with one word."
_TEMPLATES = {
    "arithmetic": "What is {a} + {b}? " + _NUMBER,
    "multiplication": "What is {a} times {b}? " + _NUMBER,
    "comparison": "Which number is larger, {a} or {b}? " + _NUMBER,
    "sequence": "What number comes next: {a}, {b}, {c}, {d}? " + _NUMBER,
    "calendar": "What {unit} comes {where} {q}? " + _WORD,
    "capital": "What is the capital of {q}? Answer with just the city.",
    "continent": "Which continent is {q} in? Answer with just the continent.",
    "currency": "What is the currency of {q} called? " + _WORD,
    "antonym": "What is the opposite of {q}? " + _WORD,
    "color": "What color is {q}? " + _WORD,
}


@dataclass(frozen=True)
class Task:
    """One question: ``prompt``, correct ``answer`` (a string) and ``kind`` (one of :data:`KINDS`)."""

    prompt: str
    answer: str
    kind: str


def _numeric_pool(kind: str, max_operand: int) -> list[tuple[str, str]]:
    t = _TEMPLATES[kind]
    if kind == "arithmetic":
        r = range(1, max_operand + 1)
        return [(t.format(a=a, b=b), str(a + b)) for a in r for b in r]
    if kind == "multiplication":
        r = range(2, 13)
        return [(t.format(a=a, b=b), str(a * b)) for a in r for b in r]
    if kind == "comparison":
        r = range(10, 100)
        return [(t.format(a=a, b=b), str(max(a, b))) for a in r for b in r if a != b]
    return [  # sequence: four terms of an arithmetic progression, answer the fifth
        (t.format(a=s, b=s + d, c=s + 2 * d, d=s + 3 * d), str(s + 4 * d))
        for s in range(1, 21)
        for d in range(2, 11)
    ]


def _calendar_pool() -> list[tuple[str, str]]:
    t, out = _TEMPLATES["calendar"], []
    for unit, names in (("day", WEEKDAYS), ("month", MONTHS)):
        for i, name in enumerate(names):
            out.append((t.format(unit=unit, where="after", q=name), names[(i + 1) % len(names)]))
            out.append((t.format(unit=unit, where="before", q=name), names[i - 1]))
    return out


@cache
def _pool(kind: str, max_operand: int) -> tuple[tuple[str, str], ...]:
    """Every distinct ``(prompt, answer)`` of ``kind``, in a fixed order."""
    if kind in NUMERIC_KINDS:
        return tuple(_numeric_pool(kind, max_operand))
    if kind == "calendar":
        return tuple(_calendar_pool())
    return tuple((_TEMPLATES[kind].format(q=q), a) for q, a in FACTS[kind])


@cache
def _split_pool(kind: str, split, max_operand: int) -> tuple[tuple[str, str], ...]:
    pool = _pool(kind, max_operand)
    if split is None:
        return pool
    order = np.random.default_rng(zlib.crc32(kind.encode())).permutation(len(pool))
    return tuple(pool[i] for i in order[(0 if split == "test" else 1) :: 2])


def _check_kinds(kinds) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    if isinstance(kinds, str) or not hasattr(kinds, "__iter__"):
        raise TypeError(f"kinds must be a sequence of kind names or None; got {kinds!r}")
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in KINDS]
    if not kinds or bad or len(set(kinds)) != len(kinds):
        raise ValueError(
            f"kinds must be a non-empty sequence of distinct names from {KINDS}; got {kinds!r}"
        )
    return kinds


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(f"split must be None, 'test' or 'train'; got {split!r}")
    return split


def pool_size(kind: str, split=None, *, max_operand: int = 20) -> int:
    """Number of distinct questions of ``kind`` in ``split`` (the most :func:`make_tasks` can give per kind).

    Example:
      >>> pool_size("capital"), pool_size("capital", "test") + pool_size("capital", "train")
      (55, 55)
    """
    (kind,) = _check_kinds((kind,))
    max_operand = check_int(max_operand, "max_operand", minimum=1)
    return len(_split_pool(kind, _check_split(split), max_operand))


def make_tasks(n, seed=0, kinds=None, *, split=None, max_operand=20) -> list[Task]:
    """``n`` distinct tasks, cycling through ``kinds`` (balanced), drawn deterministically from ``seed``.

    Task ``j`` has kind ``kinds[j % len(kinds)]``; each kind's questions are the
    first ones of a seeded permutation of its pool, so a larger ``n`` extends a
    smaller one. ``split`` picks a fixed half of every pool (see the module
    docstring): tasks from ``split="train"`` and ``split="test"`` never share
    a question, for any seeds.

    Args:
      n: number of tasks (``>= 1``; at most what the pools hold, see :func:`pool_size`).
      seed: integer seed (same seed ⇒ same tasks).
      kinds: task kinds (default: all of :data:`KINDS`).
      split: ``None`` (whole pools), ``"test"`` or ``"train"``.
      max_operand: ``arithmetic`` operands are in ``1..max_operand``.

    Returns:
      A list of ``n`` :class:`Task`.

    Raises:
      ValueError: unknown kind, ``n < 1``, or more tasks of a kind than its pool holds.

    Example:
      >>> [t.kind for t in make_tasks(3, seed=0, kinds=("arithmetic", "capital"))]
      ['arithmetic', 'capital', 'arithmetic']
      >>> make_tasks(5, seed=1) == make_tasks(8, seed=1)[:5]
      True
    """
    n = check_int(n, "n", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    max_operand = check_int(max_operand, "max_operand", minimum=1)
    kinds, split = _check_kinds(kinds), _check_split(split)
    picked = {}
    for i, kind in enumerate(kinds):
        count = n // len(kinds) + (i < n % len(kinds))
        pool = _split_pool(kind, split, max_operand)
        if count > len(pool):
            raise ValueError(
                f"n={n} asks for {count} distinct {kind!r} tasks but the {split or 'whole'} pool "
                f"holds {len(pool)}; lower n or drop that kind"
            )
        order = np.random.default_rng([seed, zlib.crc32(kind.encode())]).permutation(len(pool))
        picked[kind] = [Task(pool[j][0], pool[j][1], kind) for j in order[:count]]
    return [picked[kinds[j % len(kinds)]][j // len(kinds)] for j in range(n)]


# --- answer extraction ------------------------------------------------------

#: A number the response states: after "=", "is", ":", "equals", ... and not the head of a list "3, 6, 9".
_STATED_INT = re.compile(
    r"(?:=|:|\b(?:is|are|be|equals|was)\b)\s*(?:the\s+)?(?:number\s+)?\**(\d+)\b(?!\s*,\s*\d)"
)
_LARGER = re.compile(r"(\d+)\s+is\s+(?:the\s+)?(?:larger|bigger|greater)\b")
_NEXT = re.compile(r"(\d+)\s+(?:is|comes)\s+(?:the\s+)?next\b")
_LEADING_INT = re.compile(r"^\W*(\d+)\b(?!\s*,\s*\d)")
_SMALLER_THAN = re.compile(r"\d+\s+is\s+(?:smaller|less)\s+than\s+(\d+)")
_INT = re.compile(r"\d+")
#: Months that are also English verbs: matched only when capitalised.
_VERBS = {"may", "march"}


def _extract_int(text: str, kind: str):
    special = {"comparison": (_LARGER, _SMALLER_THAN), "sequence": (_NEXT,)}.get(kind, ())
    for pattern in (*special, _STATED_INT):
        m = pattern.search(text)
        if m:
            return m.group(1)
    if kind == "sequence":  # "17, 22, 27": the last term written
        found = _INT.findall(text)
        return found[-1] if found else None
    m = _LEADING_INT.search(text)  # "25." or "16 is the answer", not "To find 9 times 7, ..."
    return m.group(1) if m else None


@cache
def _word_matchers(kind: str):
    """Canonical lookup and the (stated, anywhere) patterns of ``kind``'s candidate answers."""
    if kind == "calendar":
        canon = {w.lower(): w for w in WEEKDAYS + MONTHS}
    else:
        canon = {a.lower(): a for _, a in FACTS[kind]}
        canon.update({k.lower(): v for k, v in ALIASES.get(kind, {}).items()})
    forms = "|".join(
        f"(?-i:{f.capitalize()})" if f in _VERBS else re.escape(f)
        for f in sorted(canon, key=len, reverse=True)
    )
    plural = "(?:s|es)?" if kind == "currency" else ""
    word = rf"(?<![\w-])({forms}){plural}(?![\w-])"
    stated = re.compile(
        rf"(?:\b(?:is|are|was|be|comes?)\b|[:=])\s*(?:the\s+|an?\s+)?[\"'“‘*]*{word}", re.I
    )
    return canon, stated, re.compile(word, re.I)


def _extract_word(text: str, kind: str):
    canon, stated, anywhere = _word_matchers(kind)
    m = stated.search(text) or anywhere.search(text)
    if not m:
        return None
    return canon[m.group(1).lower()]


def extract_answer(text: str, kind: str):
    """The answer a response states, in the form of ``Task.answer``, or ``None``.

    Numbers: the first one stated after ``=``/``is``/``:`` (not the head of a
    restated list), else a number opening the response ("25.", "16 is the
    answer"; an operand inside "To find 9 times 7, ..." is no answer).
    ``comparison`` also reads "82 is larger"; ``sequence`` reads "14 is the
    next number" and otherwise the last integer (responses repeat the terms).
    Words: the first candidate answer of the kind stated after ``is``/``:``,
    else the first candidate mentioned anywhere (case-insensitive, whole words,
    known aliases such as "Kiev" or "rupees" mapped to the canonical answer).

    Example:
      >>> extract_answer("7 + 5 = 12.", "arithmetic"), extract_answer("It is Paris, not Rome.", "capital")
      ('12', 'Paris')
      >>> extract_answer("3, 6, 9, 12, 15", "sequence"), extract_answer("The opposite of hot is cold.", "antonym")
      ('15', 'cold')
      >>> extract_answer("no idea", "color") is None
      True
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    if kind in NUMERIC_KINDS:
        return _extract_int(text, kind)
    return _extract_word(text, kind)
