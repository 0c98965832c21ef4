"""A small bundled task family with answer extraction: arithmetic and short factual questions.

Generated deterministically from a seed (no data files, no download). Each
:class:`Task` has a prompt, the correct answer and its kind; :func:`extract_answer`
maps a model response to an answer (``None`` when it states none), used both
for accuracy and for the majority-vote self-reward.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .._validation import check_int

__all__ = ["Task", "make_tasks", "extract_answer", "FACTS"]

#: (question, answer) pairs; answers to a question type form its candidate set.
FACTS = {
    "capital": [
        ("France", "Paris"),
        ("Italy", "Rome"),
        ("Japan", "Tokyo"),
        ("Germany", "Berlin"),
        ("Spain", "Madrid"),
        ("Egypt", "Cairo"),
        ("Russia", "Moscow"),
        ("England", "London"),
        ("Greece", "Athens"),
        ("Canada", "Ottawa"),
        ("China", "Beijing"),
        ("Portugal", "Lisbon"),
        ("Ireland", "Dublin"),
        ("Austria", "Vienna"),
        ("Norway", "Oslo"),
        ("Poland", "Warsaw"),
    ],
    "color": [
        ("the sky on a clear day", "blue"),
        ("grass", "green"),
        ("snow", "white"),
        ("a ripe banana", "yellow"),
        ("coal", "black"),
        ("a ripe tomato", "red"),
        ("an orange", "orange"),
    ],
}
_FACT_TEMPLATES = {
    "capital": "What is the capital of {q}? Answer with one word.",
    "color": "What color is {q}? Answer with one word.",
}
_ARITH_TEMPLATE = "What is {a} + {b}? Answer with just the number."
_INT = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Task:
    """One question: ``prompt``, correct ``answer`` (a string) and ``kind`` (``"arithmetic"``, ``"capital"``, ``"color"``)."""

    prompt: str
    answer: str
    kind: str


def make_tasks(
    n, *, seed=0, kinds=("arithmetic", "capital", "color"), max_operand=20
) -> list[Task]:
    """``n`` tasks, cycling through ``kinds``, drawn deterministically from ``seed``.

    Args:
      n: number of tasks (``>= 1``).
      seed: integer seed (same seed ⇒ same tasks).
      kinds: task kinds to cycle through.
      max_operand: arithmetic operands are in ``1..max_operand``.

    Example:
      >>> [t.kind for t in make_tasks(4)]
      ['arithmetic', 'capital', 'color', 'arithmetic']
      >>> make_tasks(1, seed=0)[0] == make_tasks(1, seed=0)[0]
      True
    """
    n = check_int(n, "n", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    max_operand = check_int(max_operand, "max_operand", minimum=1)
    bad = [k for k in kinds if k != "arithmetic" and k not in FACTS]
    if not kinds or bad:
        raise ValueError(
            f"kinds must be a non-empty subset of ('arithmetic', {', '.join(map(repr, FACTS))}); got {kinds!r}"
        )
    rng = np.random.default_rng(seed)
    tasks = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "arithmetic":
            a, b = (int(v) for v in rng.integers(1, max_operand + 1, size=2))
            tasks.append(Task(_ARITH_TEMPLATE.format(a=a, b=b), str(a + b), kind))
        else:
            q, ans = FACTS[kind][int(rng.integers(len(FACTS[kind])))]
            tasks.append(Task(_FACT_TEMPLATES[kind].format(q=q), ans, kind))
    return tasks


def extract_answer(text: str, kind: str):
    """The answer a response states: the first integer (arithmetic) or the first candidate named (facts).

    Example:
      >>> extract_answer("7 + 5 = 12.", "arithmetic"), extract_answer("It is Paris, not Rome.", "capital")
      ('12', 'Paris')
      >>> extract_answer("no idea", "color") is None
      True
    """
    if kind == "arithmetic":
        m = _ARITH_ANSWER.search(text) or _INT.search(text)
        return m.group(m.lastindex or 0) if m else None
    if kind not in FACTS:
        raise ValueError(f"kind must be 'arithmetic' or one of {sorted(FACTS)}; got {kind!r}")
    lowered = text.lower()
    found = [(lowered.find(ans.lower()), ans) for _, ans in FACTS[kind] if ans.lower() in lowered]
    return min(found)[1] if found else None


#: "= 12" or "is 12" states the result even after a restated question ("7 + 5 = 12").
_ARITH_ANSWER = re.compile(r"(?:=|\bis)\s*(-?\d+)")
