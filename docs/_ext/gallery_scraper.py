"""A sphinx-gallery image scraper for the PNGs that ``sharpsim.plotting.figure`` writes.

sharpsim's paper-style figures are drawn on Agg canvases without pyplot (so
``import sharpsim.plotting`` never starts a GUI), which sphinx-gallery's
matplotlib scraper cannot see. Gallery scripts write them to
``sharpsim_figures/`` beside the script; after each code block this scraper
picks up the PNGs written there since the last block and embeds them;
``reset`` (a sphinx-gallery ``reset_modules`` entry) empties the folder before
each script, so a figure is only ever shown by the script that drew it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

FOLDER = "sharpsim_figures"


class PNGScraper:
    def __init__(self):
        self.seen: dict[str, float] = {}

    def __repr__(self):  # sphinx-gallery hashes the config by repr
        return "PNGScraper"

    def __call__(self, block, block_vars, gallery_conf):
        from sphinx_gallery.scrapers import figure_rst

        folder = Path(block_vars["src_file"]).parent / FOLDER
        if not folder.is_dir():
            return ""
        new = []
        for png in sorted(folder.glob("*.png"), key=lambda p: p.stat().st_mtime):
            key, mtime = str(png), png.stat().st_mtime
            if self.seen.get(key) != mtime:
                self.seen[key] = mtime
                new.append(png)
        if not new:
            return ""
        image_names = []
        for png, target in zip(new, block_vars["image_path_iterator"]):
            shutil.copyfile(png, target)
            image_names.append(target)
        return figure_rst(image_names, gallery_conf["src_dir"])


SCRAPER = PNGScraper()


def reset(gallery_conf, fname, when=None):
    """Before each example: forget what was seen and remove PNGs left by earlier runs."""
    SCRAPER.seen.clear()
    roots = gallery_conf["examples_dirs"]
    roots = [roots] if isinstance(roots, str) else roots
    for root in roots:  # ``fname`` is the script's file name; find its folder
        for script in Path(root).rglob(Path(fname).name):
            for png in (script.parent / FOLDER).glob("*.png"):
                png.unlink()


#: The gallery's sections in the theory guide's order; any other folder with a README.rst follows.
SECTIONS = (
    "setting",
    "inference_time",
    "training_time",
    "lower_bounds",
    "autoregressive",
    "torch_backend",
    "beyond_the_paper",
)


def section_order(path) -> tuple:
    """``subsection_order`` key: the known sections in order, then the others alphabetically."""
    name = Path(str(path)).name
    return (SECTIONS.index(name) if name in SECTIONS else len(SECTIONS), name)
