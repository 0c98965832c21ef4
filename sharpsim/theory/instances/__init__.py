"""Named instances: the paper's constructions, each with the quantities the paper states about it.

Every constructor returns an :class:`Instance` (``name``, ``base``, ``mu``,
``model_class``, ``claims``, ``reference``, ``details``):

* :func:`lower_bound_family` — Theorem 3.1′ (Appendix H), with the
  Bayes-optimal learner and its exact error (:func:`lower_bound_bayes_error`);
* :func:`separation_instance` — Example J.1 (SFT vs XPO);
* :func:`maxcut_instance` — Proposition E.1 (the mode is NP-hard);
* :func:`nonclosure_instance` — Proposition E.2 (classes not closed under sharpening);
* :func:`greedy_failure_example` — Proposition 3.1 is tight;
* :func:`power_sampling_pivot_example` — sequence-level power vs token temperature;
* :func:`hidden_knowledge_task` — synthetic tasks of Appendix A;
* :func:`reward_hacking_instance`, :func:`two_point_instances` — imperfect rewards (SPEC §11).
"""

from ._instance import Instance
from .decoding_examples import greedy_failure_example, power_sampling_pivot_example
from .hidden_knowledge import hidden_knowledge_task
from .lower_bound import lower_bound_coverage, lower_bound_family, lower_bound_family_parameters
from .lower_bound_bayes import (
    bayes_optimal_learner,
    lower_bound_bayes_error,
    lower_bound_posterior,
    lower_bound_prompt_error,
    simulate_lower_bound_error,
)
from .maxcut import maxcut_instance
from .nonclosure import nonclosure_instance, nonclosure_max_mode_mass, nonclosure_policy
from .reward_hacking import ImperfectInstance, reward_hacking_instance, two_point_instances
from .separation import separation_instance, sphere_packing

__all__ = [
    "ImperfectInstance",
    "Instance",
    "reward_hacking_instance",
    "two_point_instances",
    "bayes_optimal_learner",
    "greedy_failure_example",
    "hidden_knowledge_task",
    "lower_bound_bayes_error",
    "lower_bound_coverage",
    "lower_bound_family",
    "lower_bound_family_parameters",
    "lower_bound_posterior",
    "lower_bound_prompt_error",
    "maxcut_instance",
    "nonclosure_instance",
    "nonclosure_max_mode_mass",
    "nonclosure_policy",
    "power_sampling_pivot_example",
    "separation_instance",
    "simulate_lower_bound_error",
    "sphere_packing",
]
