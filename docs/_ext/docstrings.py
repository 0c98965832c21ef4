"""Docstring adjustments made before napoleon reads them (the source docstrings stay as written).

- A Google ``Attributes:`` section becomes a definition list under an "Attributes" rubric.
  Napoleon would turn each entry into an attribute directive (documenting a property twice)
  or an ``:ivar:`` whose "type" is the entry's first words (``n_contexts, n_responses``).
- A data or attribute docstring whose first line reads ``Some words: text`` would be taken
  by napoleon as ``type: text``; its colon becomes a dash.
- A data object without a docstring of its own (a dict, a tuple) would show its type's
  docstring; it shows none.
"""

from __future__ import annotations

import inspect
import re

_ENTRY = re.compile(r"^(\s*)([\w.*]+(?:, [\w.*]+)*)(\s*\([^)]*\))?:(\s+|$)(.*)$")


def _plain(text: str) -> str:
    """Escape ``name_`` (a reference in reStructuredText) outside inline literals."""
    parts = re.split(r"(``.*?``)", text)
    return "".join(
        p if p.startswith("``") else re.sub(r"(\w)_(\W|$)", r"\1\\_\2", p) for p in parts
    )


def _attributes_as_list(lines: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        head = re.match(r"^(\s*)Attributes:\s*$", line)
        if not head:
            out.append(line)
            i += 1
            continue
        base = len(head.group(1))
        out += [f"{head.group(1)}.. rubric:: Attributes", ""]
        i += 1
        entry_indent = None
        while i < len(lines):
            text = lines[i]
            if text.strip() == "":
                out.append("")
                i += 1
                continue
            indent = len(text) - len(text.lstrip())
            if indent <= base:
                break
            match = _ENTRY.match(text)
            if match and (entry_indent is None or indent == entry_indent):
                entry_indent = indent
                name, kind, desc = match.group(2), match.group(3) or "", match.group(5)
                out.append(f"{' ' * base}``{name.strip()}``{kind}")
                out.append(f"{' ' * (base + 4)}{_plain(desc)}" if desc else "")
            elif entry_indent is None:
                out.append(f"{' ' * base}{_plain(text.strip())}")
            else:
                out.append(f"{' ' * (base + 4)}{_plain(text.strip())}")
            i += 1
        out.append("")
    return out


def process(app, what, name, obj, options, lines):
    if not lines:
        return
    own_type_doc = getattr(type(obj), "__doc__", None)
    if (
        what in ("data", "attribute")
        and isinstance(own_type_doc, str)
        and "\n".join(lines).strip() == inspect.cleandoc(own_type_doc).strip()
    ):
        lines[:] = []
        return
    if what in ("data", "attribute", "property"):
        first = re.match(r"^([^:`]*\s[^:`]*):(\s.*)$", lines[0])
        if first:
            lines[0] = re.sub(r"(?<!:):(?=\s)", " —", lines[0])
    lines[:] = _attributes_as_list(lines)
