"""``.. gallery-figure:: section/plot_name``: a gallery script's figure, linked to the script.

Shows ``auto_examples/<section>/images/sphx_glr_<plot_name>_<NNN>.png`` (``:image:``,
default 1) with the caption given as content, followed by a link to the example page.
A missing image (a script that did not run or drew nothing) is a build error, except
with ``:needs: torch`` where that module is not installed (a note says so instead).
"""

from __future__ import annotations

import importlib.util

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList


class GalleryFigure(Directive):
    required_arguments = 1
    has_content = True
    option_spec = {
        "image": directives.positive_int,
        "width": directives.unchanged,
        "needs": directives.unchanged,
    }

    def run(self):
        section, _, name = self.arguments[0].partition("/")
        number = self.options.get("image", 1)
        width = self.options.get("width", "85%")
        label = f"sphx_glr_auto_examples_{section}_{name}.py"
        needs = self.options.get("needs")
        if needs and importlib.util.find_spec(needs) is None:
            text = [
                f".. note:: This figure is drawn when the site is built with ``{needs}`` installed;",
                f"   here it is not. See :ref:`the script <{label}>`.",
            ]
            container = nodes.container()
            self.state.nested_parse(
                StringList(text, source="gallery-figure"), self.content_offset, container
            )
            return container.children
        text = [
            f".. figure:: /auto_examples/{section}/images/sphx_glr_{name}_{number:03d}.png",
            f"   :width: {width}",
            f"   :alt: figure of the gallery example {name}",
            "",
            "   " + " ".join(line.strip() for line in self.content),
            f"   (:ref:`the script that draws it <{label}>`)",
        ]
        container = nodes.container()
        self.state.nested_parse(
            StringList(text, source="gallery-figure"), self.content_offset, container
        )
        return container.children
