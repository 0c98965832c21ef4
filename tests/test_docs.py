"""The documentation's sources: the gallery covers every experiment, the API generator every public name.

These run in the default suite without Sphinx or a browser; the built site itself is
checked by ``docs/tests/test_site.py`` (run by ``.ci/run`` after the docs build).
"""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest

import sharpsim
from sharpsim import experiments

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "docs" / "_ext"))


def _scripts() -> list[Path]:
    return sorted(EXAMPLES.glob("*/plot_*.py"))


def test_every_registered_experiment_has_a_gallery_script():
    names = {p.stem.removeprefix("plot_") for p in _scripts()}
    missing = sorted(e.name for e in experiments.list() if e.name not in names)
    assert not missing, (
        f"experiments without a gallery script examples/<section>/plot_<name>.py: {missing}"
    )


def test_every_gallery_section_has_a_readme():
    sections = {p.parent for p in _scripts()}
    missing = sorted(str(s.relative_to(ROOT)) for s in sections if not (s / "README.rst").exists())
    assert not missing, (
        f"gallery sections without README.rst (sphinx-gallery skips them): {missing}"
    )
    assert (EXAMPLES / "README.rst").exists()


@pytest.mark.parametrize("script", _scripts(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_gallery_script_shape(script):
    """A docstring whose first line is an RST title underlined with '=', then prose, then cells."""
    text = script.read_text()
    doc = ast.get_docstring(ast.parse(text), clean=False)
    assert doc, f"{script.name}: no module docstring"
    lines = doc.strip("\n").splitlines()
    assert len(lines) >= 4, f"{script.name}: the docstring needs a title and a paragraph"
    title, underline = lines[0], lines[1]
    assert re.fullmatch(r"=+", underline) and len(underline) >= len(title), (
        f"{script.name}: first line must be a title underlined with '=' (got {underline!r})"
    )
    assert "# %%" in text, f"{script.name}: no '# %%' cell separator"


def test_gallery_is_at_least_fifteen_scripts():
    assert len(_scripts()) >= 15


def test_api_generator_documents_every_public_name(tmp_path):
    """Each name in sharpsim's namespace and in every subpackage's __all__ gets an API entry."""
    pytest.importorskip("sphinx", reason="the docs extra is not installed")
    import apigen

    with apigen.import_with_mocks():
        documented = set(apigen.write(tmp_path))
        spaces = apigen.namespaces()
        canon = apigen.canonical_names(spaces)
    pages = {p.stem for p in tmp_path.glob("*.rst")}
    import pkgutil

    packages = {
        m.name
        for m in pkgutil.walk_packages(sharpsim.__path__, "sharpsim.")
        if m.ispkg and not any(part.startswith("_") for part in m.name.split("."))
    }
    assert packages <= {ns.name for ns in spaces}, "a public subpackage has no API page"
    expected = {
        f"sharpsim.{n}"
        for n, obj in vars(sharpsim).items()
        if not n.startswith("_") and not isinstance(obj, type(sys))
    }
    for ns in spaces:
        expected |= {f"{ns.name}.{n}" for n in getattr(ns.module, "__all__", [])}
    expected = {name for name in expected if not isinstance(_resolve(name), type(sys))}
    assert expected <= documented, f"not in the reference: {sorted(expected - documented)}"
    entries = {canon[name] for name in expected}
    assert entries <= pages, f"no page for: {sorted(entries - pages)}"


def _resolve(dotted: str):
    module, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def test_version_is_0_2_0_everywhere():
    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert declared and declared.group(1) == sharpsim.__version__ == "0.2.0"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(r"^## 0\.2\.0\b", changelog, re.M) and re.search(
        r"^## 0\.1\.0\b", changelog, re.M
    )


def test_readme_names_the_docs_build_command():
    readme = (ROOT / "README.md").read_text()
    assert (
        'python -m pip install ".[docs]" && python -m sphinx -W --keep-going -n -b html docs docs/_build/html'
        in readme
    )


def test_readme_worked_example_is_a_gallery_script():
    """Every code line of the README's worked example is in examples/autoregressive/plot_worked_example.py."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## A worked example", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    script = (EXAMPLES / "autoregressive" / "plot_worked_example.py").read_text()
    script_lines = {line.split("#")[0].strip() for line in script.splitlines()}
    code = [line.split("#")[0].strip() for line in block.splitlines()]
    missing = [line for line in code if line and line not in script_lines]
    assert not missing, f"README worked-example lines not in the gallery script: {missing}"
