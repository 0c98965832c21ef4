"""API reference generated from the package itself at build time.

Every *namespace* (``sharpsim``, each public subpackage, each public module
directly under ``sharpsim``, and any deeper public module with an ``__all__``
not fully re-exported by its package) gets a page listing its public names:
``__all__`` where the namespace defines one, otherwise the non-underscore
objects defined inside sharpsim. Each object is documented once, under its
shallowest public name (``sharpsim.coverage``, not a private file path); the
other namespaces that export it link there. Names added by anyone appear at
the next build without editing the docs.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from dataclasses import dataclass, field
from pathlib import Path

OPTIONAL_MODULES = ("torch", "transformers", "peft", "accelerate", "safetensors", "gguf")


@dataclass
class Namespace:
    name: str
    module: types.ModuleType
    names: list[str] = field(default_factory=list)


def _public(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def _exported(module) -> list[str]:
    """The public names of one module or package (``__all__`` first)."""
    if hasattr(module, "__all__"):
        names = list(module.__all__)
    else:
        # a package re-exports its files' names; a module lists what it defines itself
        # (not the helpers it imports, such as sharpsim._validation's checks)
        is_package = hasattr(module, "__path__")

        def own(obj) -> bool:
            home = str(getattr(obj, "__module__", "") or "")
            if is_package:
                return home == module.__name__ or home.startswith(module.__name__ + ".")
            return home == module.__name__

        names = [
            n
            for n, obj in vars(module).items()
            if not n.startswith("_") and not isinstance(obj, types.ModuleType) and own(obj)
        ]
    return [n for n in names if not isinstance(getattr(module, n, None), types.ModuleType)]


def namespaces(root: str = "sharpsim") -> list[Namespace]:
    """Every documented namespace with its public names, shallowest first."""
    package = importlib.import_module(root)
    found = [Namespace(root, package, _exported(package))]
    for info in pkgutil.walk_packages(package.__path__, root + "."):
        if not _public(info.name):
            continue
        module = importlib.import_module(info.name)
        depth = info.name.count(".")
        parent = importlib.import_module(info.name.rsplit(".", 1)[0])
        names = _exported(module)
        if not (info.ispkg or depth == 1):
            if not hasattr(module, "__all__"):
                continue
            parent_objects = {id(getattr(parent, n, None)) for n in _exported(parent)}
            if all(id(getattr(module, n)) in parent_objects for n in names):
                continue  # a file of its package, fully re-exported there
        found.append(Namespace(info.name, module, names))
    found.sort(key=lambda ns: (ns.name.count("."), ns.name))
    return found


def canonical_names(spaces: list[Namespace]) -> dict[str, str]:
    """``"namespace.name" -> canonical full name`` (the shallowest namespace exporting the object)."""
    first: dict[int, str] = {}
    mapping: dict[str, str] = {}
    for ns in spaces:
        for name in ns.names:
            obj = getattr(ns.module, name)
            full = f"{ns.name}.{name}"
            key = id(obj) if _identifiable(obj) else hash(full)
            mapping[full] = first.setdefault(key, full)
    return mapping


def _identifiable(obj) -> bool:
    return inspect.isclass(obj) or inspect.isroutine(obj)


def _directive(obj) -> tuple[str, str]:
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return "autoexception", ""
        return "autoclass", "   :members:\n   :show-inheritance:\n"
    if inspect.isroutine(obj):
        return "autofunction", ""
    return "autodata", "   :no-value:\n"


def _no_index(ns: Namespace) -> str:
    """``:no-index:`` when a function of the parent has the module's name (``sharpsim.torch.smollm2``)."""
    parent, _, leaf = ns.name.rpartition(".")
    clash = parent and not isinstance(
        getattr(importlib.import_module(parent), leaf, ns.module), types.ModuleType
    )
    return "   :no-index:\n" if clash else ""


def _title(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def write(out_dir: Path, root: str = "sharpsim") -> list[str]:
    """Write ``index.rst``, one page per namespace and one per object; return the documented names."""
    spaces = namespaces(root)
    canon = canonical_names(spaces)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.rst"):
        old.unlink()
    pages = []
    for ns in spaces:
        own = [n for n in ns.names if canon[f"{ns.name}.{n}"] == f"{ns.name}.{n}"]
        lines = [
            ".. This page is generated by docs/_ext/apigen.py at build time; do not edit.\n",
            _title(f"``{ns.name}``"),
            f".. automodule:: {ns.name}\n   :no-members:\n{_no_index(ns)}",
            ".. py:currentmodule:: None\n",
        ]
        if ns.names:
            lines.append(".. rubric:: Public names\n")
            lines.append(".. autosummary::\n   :nosignatures:\n")
            lines += [f"   ~{canon[f'{ns.name}.{n}']}" for n in sorted(ns.names, key=str.lower)]
            lines.append("")
        if own:
            lines.append(".. toctree::\n   :hidden:\n")
            lines += [f"   {ns.name}.{n}" for n in own]
            lines.append("")
        for name in own:
            obj = getattr(ns.module, name)
            directive, options = _directive(obj)
            full = f"{ns.name}.{name}"
            (out_dir / f"{full}.rst").write_text(
                f".. generated by docs/_ext/apigen.py\n\n{_title(full)}\n"
                f".. currentmodule:: {ns.name}\n\n.. {directive}:: {name}\n{options}"
            )
        (out_dir / f"ns-{ns.name}.rst").write_text("\n".join(lines) + "\n")
        pages.append(f"ns-{ns.name}")
    index = [
        ".. generated by docs/_ext/apigen.py\n",
        _title("API reference"),
        "Every public name of sharpsim, generated from the docstrings (Google style: shapes such\n"
        "as ``[n_contexts, n_responses]``, the paper's references, a runnable example). The flat\n"
        "names (``sharpsim.coverage``) are the ones to import; each subpackage's page lists its\n"
        "names and links to the entry. The optional torch backend is documented from its source\n"
        "even where torch is not installed.\n",
        ".. toctree::\n   :maxdepth: 1\n",
        *[f"   {p}" for p in pages],
        "",
    ]
    (out_dir / "index.rst").write_text("\n".join(index) + "\n")
    return sorted(canon)


def import_with_mocks():
    """A context in which the optional backends that are not installed import as mocks."""
    from sphinx.ext.autodoc.mock import mock

    return mock(missing_optional())


def missing_optional() -> list[str]:
    import importlib.util

    return [m for m in OPTIONAL_MODULES if importlib.util.find_spec(m) is None]
