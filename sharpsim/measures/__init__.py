"""Exact quantities of a world: modes, coverage, margin, the tilted model, sharpening error.

Everything the theory talks about that can be computed from the full table
``π(y|x)`` lives here (SPEC §2, §4, §5), one module per question:

* :mod:`.modes` — the approximate-mode sets ``y*_γ(x)`` (App. F.1) and their mass;
* :mod:`.coverage` — the coverage coefficients ``C_cov``, ``C_cov,γ,p`` and
  ``C̄_cov`` (Eq. 6, App. D, App. H), the margin ``γ_margin`` (Assumption 4.2 /
  J.2) and concentrability (Eq. 9);
* :mod:`.tilted` — KL divergence, the KL-regularised optimum ``π*_β`` and
  the objective ``J_β`` (Eq. 3, Sec. 4.2);
* :mod:`.error` — the sharpening error of Definition 3.1 / F.1.

Every function accepts a :class:`~sharpsim.TabularPolicy` or anything with
``to_tabular()`` (autoregressive policies are enumerated), takes the prompt
law ``mu`` (``None`` = uniform), works in log space, and never returns NaN.
Tables are processed in blocks of rows so temporaries stay bounded.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951).
"""

from .coverage import adaptive_coverage, concentrability, coverage, margin
from .error import is_sharpened, sharpening_error
from .modes import log_mode_mass, mode_mask, mode_mass
from .tilted import kl_divergence, regularized_objective, tilted

__all__ = [
    "mode_mask",
    "log_mode_mass",
    "mode_mass",
    "coverage",
    "adaptive_coverage",
    "margin",
    "concentrability",
    "kl_divergence",
    "tilted",
    "regularized_objective",
    "sharpening_error",
    "is_sharpened",
]
