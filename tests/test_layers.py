"""One-way imports: a module of sharpsim never imports a module of a higher layer.

The order is DESIGN.md's flow of data (``policies ──► measures ──► oracle ──►
inference / algorithms ──► experiments ──► plotting, cli``; theory beside,
using policies + measures + algorithms; torch beside, used by the experiments and the CLI),
written down once in ``LAYERS`` below and in CONTRIBUTING.md ("Layers"). The
test parses every module of the package (AST, nothing imported) and reads
every ``import`` statement, at module level or inside a function: a lazy
import is still an arrow.

A module may import its own unit (``sharpsim.theory.verify`` importing
``sharpsim.theory.bounds``) and any unit of a strictly lower layer; units of
one layer are siblings and never import each other. ``sharpsim.torch`` sits
beside the core: it may import layers up to ``algorithms``; the experiments
(the real-LM study, inside functions only: ``import sharpsim.experiments``
never imports torch) and the command line import it. Its own command line,
``sharpsim.torch.cli``, sits above the real-LM job it runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sharpsim"

#: Layers from the bottom up. A unit is a top-level module or subpackage of sharpsim
#: (a few modules are placed on their own, by dotted name).
LAYERS = (
    ("_validation",),
    ("policies",),
    ("measures", "rewards"),
    ("oracle", "reward_models"),  # reward_models: true and proxy rewards (SPEC §11)
    ("inference", "classes"),
    ("algorithms",),
    ("theory", "demo"),
    ("__init__",),  # the flat public names of `import sharpsim`
    ("experiments", "plotting"),  # siblings: records flow from one to the other as data
    # The application: the main job (runs experiments, draws their figures), the commands.
    ("experiments.mainjob",),
    ("experiments.lm_job",),  # `sharpsim lm reproduce`: the real-LM study through the main job
    ("torch.cli",),  # `sharpsim lm`
    ("cli",),
    ("__main__",),
)
#: sharpsim.torch: may import these layers' units, and is imported only by these units.
TORCH_MAY_IMPORT_UP_TO = "algorithms"
TORCH_IMPORTED_BY = {"cli", "torch", "torch.cli", "experiments", "experiments.lm_job"}
#: Units that may import sharpsim.torch only inside a function (never when they are imported).
TORCH_LAZILY = {"experiments", "experiments.lm_job"}

RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str:
    """``sharpsim.theory.verify.rates`` → ``theory``; dotted entries of ``LAYERS`` win."""
    parts = module.split(".")[1:]
    for depth in range(len(parts), 0, -1):
        name = ".".join(parts[:depth])
        if name in RANK or name == "torch":
            return name
    return parts[0] if parts else "__init__"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of every sharpsim module ``path`` imports, relative imports resolved."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.append((node.lineno, base))
            # `from .. import plotting` imports the submodule sharpsim.plotting
            found += [
                (node.lineno, f"{base}.{alias.name}")
                for alias in node.names
                if _is_submodule(f"{base}.{alias.name}")
            ]
    return [(line, name) for line, name in found if name.split(".")[0] == "sharpsim"]


def _is_submodule(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violation(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported`` (None if it may)."""
    src, dst = unit_of(importer), unit_of(imported)
    if imported == "sharpsim" or src == dst:
        return None  # the root package is loaded before any submodule: no new arrow
    if dst == "torch":
        return None if src in TORCH_IMPORTED_BY else "only the CLI imports sharpsim.torch"
    if src == "torch":
        ok = RANK[dst] <= RANK[TORCH_MAY_IMPORT_UP_TO]
        return None if ok else f"torch imports only layers up to {TORCH_MAY_IMPORT_UP_TO}"
    if RANK[dst] < RANK[src]:
        return None
    where = "a sibling" if RANK[dst] == RANK[src] else "a higher layer"
    return f"{dst} is {where} of {src}"


def module_level_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, name)`` of the sharpsim imports run when ``path`` is imported (outside any function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bodies = [
        (fn.lineno, fn.end_lineno or fn.lineno)
        for fn in ast.walk(tree)
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    eager = {
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and not any(lo <= node.lineno <= hi for lo, hi in bodies)
    }
    return [(line, name) for line, name in imported_modules(path) if line in eager]


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_unit_has_a_layer():
    units = {unit_of(module_name(path)) for path in all_modules()}
    assert units - set(RANK) - {"torch"} == set(), "add the new unit to LAYERS"


def test_no_import_points_up():
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} ({why})"
        for path in all_modules()
        for line, name in imported_modules(path)
        if (why := violation(module_name(path), name))
    ]
    assert not wrong, "upward imports:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    "importer, imported",
    [
        ("sharpsim.algorithms.sft", "sharpsim.theory.bounds"),
        ("sharpsim.plotting.sft_figs", "sharpsim.experiments.sft"),
        ("sharpsim.experiments.sft", "sharpsim.plotting"),
        ("sharpsim.measures", "sharpsim.oracle"),
        ("sharpsim.policies.tabular", "sharpsim.measures"),
        ("sharpsim.inference.bon_law", "sharpsim.algorithms"),
        ("sharpsim.theory.verify", "sharpsim.experiments"),
        ("sharpsim.measures", "sharpsim.torch"),
        ("sharpsim.plotting.lm_figs", "sharpsim.torch.policy"),
        ("sharpsim.experiments.mainjob", "sharpsim.experiments.lm_job"),
        ("sharpsim.torch.inference", "sharpsim.experiments.lm_study"),
        ("sharpsim.torch.policy", "sharpsim.experiments"),
        ("sharpsim.experiments.sft", "sharpsim.cli"),
    ],
)
def test_upward_arrows_are_caught(importer, imported):
    """The rule itself: each of these arrows points up (or sideways) and is reported."""
    assert violation(importer, imported)


@pytest.mark.parametrize(
    "importer, imported",
    [
        ("sharpsim.theory.bounds.sft", "sharpsim.algorithms.parameters"),
        ("sharpsim.plotting.sft_figs", "sharpsim.theory.instances"),
        ("sharpsim.experiments.mainjob", "sharpsim.plotting"),
        ("sharpsim.cli", "sharpsim.torch.cli"),
        ("sharpsim.torch.cli", "sharpsim.experiments.lm_job"),
        ("sharpsim.experiments.lm_study", "sharpsim.torch.tasks"),
        ("sharpsim.torch.training", "sharpsim.algorithms"),
        ("sharpsim.experiments.runner", "sharpsim"),
    ],
)
def test_downward_arrows_are_allowed(importer, imported):
    assert violation(importer, imported) is None


def test_import_reader_resolves_relative_and_lazy_imports():
    names = {name for _, name in imported_modules(PACKAGE / "algorithms" / "sft.py")}
    assert {"sharpsim.oracle", "sharpsim.algorithms.sft_error", "sharpsim._validation"} <= names
    # `from .. import plotting` inside a function: a lazy import of a submodule is read too
    names = {name for _, name in imported_modules(PACKAGE / "experiments" / "mainjob.py")}
    assert "sharpsim.plotting" in names


def test_the_experiments_import_torch_only_inside_functions():
    """``import sharpsim.experiments`` must not import torch: its torch imports are lazy."""
    eager = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} when imported"
        for path in all_modules()
        if unit_of(module_name(path)) in TORCH_LAZILY
        for line, name in module_level_imports(path)
        if unit_of(name) == "torch"
    ]
    assert not eager, "\n".join(eager)


def test_module_level_reader_skips_function_bodies():
    path = PACKAGE / "experiments" / "lm_study.py"
    eager = {name for _, name in module_level_imports(path)}
    lazy = {name for _, name in imported_modules(path)}
    assert "sharpsim.experiments.registry" in eager
    assert "sharpsim.torch" in lazy and "sharpsim.torch" not in eager
