"""Cross-references in docstrings, resolved to the one documented entry of each object.

The API reference documents each object once, under its shallowest public name
(``sharpsim.TabularPolicy``), while docstrings name objects as their own module sees them
(``TabularPolicy``, ``sharpsim.policies.tabular.TabularPolicy``, ``Oracle.stream``). On
``missing-reference`` this resolver tries the reference's own module and class, maps any
alias of a public object to its documented name and links there. A name that exists in the
code but is internal (an underscore name, a file module, a private constant) is shown as
code without a link when a docstring names it; the guide's own pages must link every name
they write. A name that does not exist anywhere is left unresolved, so that ``-n -W`` fails
the build on it.
"""

from __future__ import annotations

import importlib
import inspect

from docutils.utils import get_source_line

ALIASES: dict[str, str] = {}


def register(spaces, canon: dict[str, str]) -> None:
    """Fill ``ALIASES`` (any name of a public object -> its documented full name)."""
    ALIASES.clear()
    for ns in spaces:
        for name in ns.names:
            full = f"{ns.name}.{name}"
            target = canon[full]
            ALIASES[full] = target
            obj = getattr(ns.module, name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                real = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
                ALIASES.setdefault(real, target)
        ALIASES.setdefault(ns.name, ns.name)


def _lookup(path: str):
    """The object named by a dotted ``path`` inside sharpsim, or ``None``."""
    if not path.startswith("sharpsim"):
        return None
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _candidates(node) -> list[str]:
    target = node["reftarget"].lstrip("~.")
    module = node.get("py:module") or ""
    klass = node.get("py:class") or ""
    out = [target]
    if module and klass:
        out.append(f"{module}.{klass}.{target}")
    # the docstring's own module ("...: docstring of sharpsim.inference.adaptive_bon.f")
    source = get_source_line(node)[0] or ""
    origin = source.rpartition("docstring of ")[2] if "docstring of " in source else ""
    for scope in (module, origin):
        parts = scope.split(".") if scope else []
        for cut in range(len(parts), 0, -1):
            out.append(".".join(parts[:cut]) + "." + target)
    out.append("sharpsim." + target)
    # last resort (summary lines quoted in another module's table): a unique leaf name
    leaf = [full for full in set(ALIASES.values()) if full.rsplit(".", 1)[-1] == target]
    if len(leaf) == 1:
        out.append(leaf[0])
    return out


def _documented(path: str) -> str | None:
    """The documented name for ``path`` (an alias of a public object or of one of its members)."""
    if path in ALIASES:
        return ALIASES[path]
    head, _, tail = path.rpartition(".")
    while head:
        if head in ALIASES and _lookup(path) is not None:
            return f"{ALIASES[head]}.{path[len(head) + 1 :]}"
        head, _, _ = head.rpartition(".")
    return None


def resolve(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    for path in _candidates(node):
        documented = _documented(path)
        if documented is None:
            continue
        for typ in ("obj", "mod"):
            ref = domain.resolve_xref(
                env, node["refdoc"], app.builder, typ, documented, node, contnode
            )
            if ref is not None:
                return ref
    source = get_source_line(node)[0] or ""
    from_docstring = "docstring of " in source or node["refdoc"].startswith("api/")
    if from_docstring and any(_lookup(path) is not None for path in _candidates(node)):
        return contnode  # internal code named in a docstring: shown as code, not linked
    return None  # a name written in the guide must link: -n -W fails the build
