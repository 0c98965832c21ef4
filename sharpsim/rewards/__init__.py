"""Self-rewards ``r_self(y|x; π_base)``: functions of a response computed from the base model itself.

Section 2 / Eq. (2) of the paper sharpens towards the base model's own
likelihood; Appendix A.2 also uses length-normalised likelihood and majority
vote (self-consistency). Each reward here offers two views:

* ``table(base) -> [n_contexts, n_responses]``: the exact reward of every
  response, for the exact laws (``best_of_n_law``, the tilted model, ...).
  Autoregressive bases are enumerated through ``as_tabular``.
* ``score(x, y, log_prob) -> [k, N]``: the reward of sampled responses, using
  only what the sample-and-evaluate oracle reveals (Definition 3.2): the
  prompts ``x [k]``, the drawn responses ``y [k, N]`` (or ``[k, N, H]``) and
  their base log-likelihoods ``log π_base(y|x) [k, N]``.

Tables and scores hold the raw computed values; equal rewards reached along
different arithmetic paths (sums of answer masses, products of conditionals)
may differ by ulps, and every consumer (best-of-N laws and samplers, the SFT
error functions) groups them by the package's one tie rule
(:data:`~sharpsim.policies.base.TIE_RTOL`; CONTRIBUTING.md, "Ties").
``sharpsim.policies.base.canonical_ties`` makes tied values bit-equal.

The exact best-of-N law applies only to rewards that are *fixed functions of
(x, y)*. ``depends_on_group`` flags rewards whose ``score`` of a draw depends on
the other draws of its prompt (the empirical majority vote), for which only
the faithful sampler is exact.

Modules: :mod:`.likelihood` (log-likelihood, length-normalised),
:mod:`.majority` (majority vote), :mod:`.table` (an explicit table),
:mod:`.resolve` (``reward=`` arguments to reward objects).

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951), Eq. (2), Appendix A.2.
"""

from .likelihood import LengthNormalizedReward, LogLikelihoodReward, log_likelihood
from .majority import MajorityVoteReward
from .resolve import resolve_reward, reward_table
from .table import TableReward

__all__ = [
    "LogLikelihoodReward",
    "LengthNormalizedReward",
    "MajorityVoteReward",
    "TableReward",
    "log_likelihood",
    "resolve_reward",
    "reward_table",
]
