"""Table 1 metrics: accuracy lift over greedy and log-likelihood lift under the reference model.

Given prompts, an answer extractor and the correct answers, a set of responses
(greedy decoding of a model, best-of-N picks, ...) is scored by its accuracy
and by the mean log-likelihood ``log π_base(y|x)`` of the responses under the
reference (base) model. The *lift* of a method is its metric minus that of
greedy decoding of the base model (the paper's Table 1, Fig. 1a, Fig. 4).

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Appendix A (Table 1, Figs. 1a and 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ResponseMetrics", "score_responses", "evaluate_greedy", "lift"]


@dataclass(frozen=True)
class ResponseMetrics:
    """Accuracy and reference log-likelihood of one response per prompt.

    Attributes:
      accuracy: fraction of prompts whose extracted answer equals the correct one.
      log_likelihood: mean ``log π_ref(y|x)`` of the responses.
      correct: bool ``[k]``.
      log_likelihoods: float ``[k]``.
      texts: the responses ``[k]``.
    """

    accuracy: float
    log_likelihood: float
    correct: np.ndarray
    log_likelihoods: np.ndarray
    texts: list


def score_responses(
    reference, prompts, token_ids, texts, answers, extract, *, log_likelihoods=None
) -> ResponseMetrics:
    """Accuracy (``extract(text) == answer``) and mean reference log-likelihood of given responses.

    Args:
      reference: the reference :class:`~sharpsim.torch.CausalLMPolicy` (the base model).
      prompts: ``k`` prompts.
      token_ids: ``k`` responses as token ids (scored under ``reference``).
      texts: the same ``k`` responses as text (for answer extraction).
      answers: ``k`` correct answers.
      extract: ``extract(text) -> answer`` (``None`` when no answer is found), or a
        list of such callables, one per prompt.
      log_likelihoods: optional ``[k]`` reference log-likelihoods already known
        (e.g. best-of-N picks drawn from ``reference``); skips the scoring pass.

    Example:
      >>> from sharpsim.torch import tiny_causal_lm
      >>> lm = tiny_causal_lm(seed=0)
      >>> m = score_responses(lm, ["1+1="], [lm.encode_response("2")], ["2"], ["2"], str.strip)
      >>> m.accuracy
      1.0
    """
    if len(answers) != len(prompts) or len(texts) != len(prompts) or len(token_ids) != len(prompts):
        raise ValueError(
            f"prompts, token_ids, texts and answers must have the same length; got {len(prompts)}, "
            f"{len(token_ids)}, {len(texts)}, {len(answers)}"
        )
    extractors = list(extract) if isinstance(extract, (list, tuple)) else [extract] * len(texts)
    if len(extractors) != len(texts) or not all(callable(e) for e in extractors):
        raise TypeError(
            "extract must be a callable text -> answer, or a list of them (one per prompt)"
        )
    correct = np.array([e(t) == a for e, t, a in zip(extractors, texts, answers)], dtype=bool)
    if log_likelihoods is None:
        lls = reference.log_prob(list(prompts), list(token_ids))
    else:
        lls = np.asarray(log_likelihoods, dtype=float)
        if lls.shape != (len(prompts),):
            raise ValueError(f"log_likelihoods must have shape ({len(prompts)},); got {lls.shape}")
    return ResponseMetrics(float(correct.mean()), float(lls.mean()), correct, lls, list(texts))


def evaluate_greedy(
    policy, prompts, answers, extract, *, reference=None, max_new_tokens=64
) -> ResponseMetrics:
    """Greedy decoding of ``policy``, scored by accuracy and log-likelihood under ``reference`` (default: itself)."""
    d = policy.decode_greedy(prompts, max_new_tokens=max_new_tokens)
    return score_responses(reference or policy, prompts, d.token_ids, d.texts, answers, extract)


def lift(metrics: ResponseMetrics, baseline: ResponseMetrics) -> dict:
    """``{"accuracy_lift", "log_likelihood_lift"}``: ``metrics`` minus ``baseline`` (greedy of the base)."""
    return {
        "accuracy_lift": metrics.accuracy - baseline.accuracy,
        "log_likelihood_lift": metrics.log_likelihood - baseline.log_likelihood,
    }
