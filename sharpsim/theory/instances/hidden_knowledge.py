"""Synthetic "tasks with hidden knowledge" (App. A; analogue of Figs. 1 and 6).

The paper's premise: a language model's own likelihood is a better *verifier*
than its samples are *generators* — correct responses are more likely, so
sharpening towards likely responses (best-of-N by log-likelihood, SFT on it)
raises accuracy. Here a random autoregressive model over ``V^H`` token
sequences is tilted so that every response whose answer (its last content
token, modulo ``n_answers``) is the prompt's correct answer gets ``bonus``
extra log-likelihood:

    ``π_base(y|x) ∝ π_0(y|x) · exp(bonus · 1[ans(y) = c(x)])``,

with ``π_0`` an autoregressive model whose next-token logits at every prefix
are i.i.d. ``N(0, noise²)``. The variable-length variant adds an end token:
a response ends at its first end token (never the first token), after which
the model emits the end token with probability 1 (the padding convention of
:class:`~sharpsim.rewards.LengthNormalizedReward`), so longer responses are
less likely, as with real models.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..._validation import check_int, check_real, check_rng
from ...inference.decoding import greedy_decode
from ...policies.autoregressive import JointAutoregressivePolicy
from ...policies.base import MAX_ENUMERATION, all_sequences, encode_sequences
from ...policies.tabular import TabularPolicy
from ._instance import Instance


def _answers_and_lengths(seqs: np.ndarray, n_answers: int, end_token):
    """Answer id and length of every sequence ``[K, H]``; fixed length when ``end_token`` is None."""
    horizon = seqs.shape[1]
    if end_token is None:
        return seqs[:, -1] % n_answers, np.full(seqs.shape[0], horizon)
    is_end = seqs == end_token
    ended = is_end.any(axis=1)
    first_end = np.where(ended, is_end.argmax(axis=1), horizon)
    last_content = seqs[np.arange(seqs.shape[0]), np.maximum(first_end - 1, 0)]
    lengths = np.where(ended, first_end + 1, horizon)  # tokens up to and including the end token
    return last_content % n_answers, lengths


def _random_tree_log_probs(n_prompts, vocab, horizon, noise, end_token, rng) -> np.ndarray:
    """``log π_0(y|x)`` ``[X, V**H]``: i.i.d. ``N(0, noise²)`` next-token logits at every prefix."""
    scores = np.zeros((n_prompts, 1))
    for h in range(
        horizon
    ):  # one level of the prefix tree at a time, all prompts and prefixes at once
        logits = noise * rng.standard_normal((n_prompts, vocab**h, vocab))
        if end_token is not None:
            _force_end_token(logits, h, vocab, end_token)
        step = logits - logsumexp(logits, axis=-1, keepdims=True)
        scores = (scores[:, :, None] + step).reshape(n_prompts, -1)
    return scores


def _force_end_token(logits: np.ndarray, h: int, vocab: int, end_token: int) -> None:
    """No response starts with the end token; after it, the end token repeats with probability 1."""
    if h == 0:
        logits[..., end_token] = -np.inf
        return
    ended = (all_sequences(vocab, h) == end_token).any(axis=1)
    logits[:, ended, :] = -np.inf
    logits[:, ended, end_token] = 0.0


def _accuracy(is_correct: np.ndarray, seqs: np.ndarray, vocab: int) -> float:
    """Mean over prompts of ``is_correct[x, seqs[x]]`` for one sequence per prompt ``[X, H]``."""
    return float(is_correct[np.arange(seqs.shape[0]), encode_sequences(seqs, vocab)].mean())


def hidden_knowledge_task(
    n_prompts,
    n_answers,
    *,
    bonus=1.0,
    vocab_size=None,
    horizon=3,
    noise=1.0,
    variable_length=False,
    autoregressive=True,
    rng=None,
) -> Instance:
    """A synthetic task whose base model "knows" more than it samples (App. A, Figs. 1 and 6).

    Args:
      n_prompts: ``|X|`` (``>= 1``); ``μ`` is uniform.
      n_answers: number of distinct answers (``>= 2``); each prompt's correct
        answer ``c(x)`` is drawn uniformly.
      bonus: extra log-likelihood of correct responses (any real; 0 gives an
        uninformed model, large values a model whose mode is correct).
      vocab_size: ``V``; default ``n_answers`` (``n_answers + 1`` with the end
        token). Content tokens must be at least ``n_answers`` so every answer
        is reachable.
      horizon: ``H`` (``>= 1``; ``>= 2`` for variable length); ``V**H`` must
        stay within ``MAX_ENUMERATION``.
      noise: standard deviation of the random next-token logits (``>= 0``).
      variable_length: add the end token ``V-1``.
      autoregressive: return the base as a
        :class:`~sharpsim.JointAutoregressivePolicy` (default) or as its
        :class:`~sharpsim.TabularPolicy` over the ``V**H`` sequences.
      rng: ``None``, an int seed or a ``numpy.random.Generator``.

    Returns:
      :class:`Instance` with details ``correct`` ``[X]``, ``answers``
      ``[V**H]`` (answer id of each sequence), ``lengths`` ``[V**H]``,
      ``is_correct`` bool ``[X, V**H]``, ``end_token`` (or ``None``),
      ``vocab_size``, ``horizon``; and claims, all exact: ``sample_accuracy``
      (one sample from ``π_base``), ``mode_accuracy`` (the sequence mode,
      i.e. ``N → ∞`` best-of-N with log-likelihood), ``greedy_accuracy``
      (autoregressive base only), ``majority_accuracy`` (the answer with the
      most base mass, i.e. ``N → ∞`` majority vote), and the mean
      log-likelihood of sampled responses given correct / incorrect
      (``mean_log_prob_correct``, ``mean_log_prob_incorrect``; Fig. 6).

    Example:
      >>> task = hidden_knowledge_task(20, 3, bonus=2.0, rng=0)
      >>> c = task.claims
      >>> c["mode_accuracy"] > c["sample_accuracy"], c["mean_log_prob_correct"] > c["mean_log_prob_incorrect"]
      (True, True)
    """
    n_prompts = check_int(n_prompts, "n_prompts", minimum=1)
    n_answers = check_int(n_answers, "n_answers", minimum=2)
    bonus = check_real(bonus, "bonus")
    noise = check_real(noise, "noise", low=0.0)
    horizon = check_int(horizon, "horizon", minimum=2 if variable_length else 1)
    extra = 1 if variable_length else 0
    vocab = (
        n_answers + extra if vocab_size is None else check_int(vocab_size, "vocab_size", minimum=1)
    )
    if vocab - extra < n_answers:
        raise ValueError(
            f"vocab_size must be >= n_answers{' + 1' if extra else ''} = {n_answers + extra}; got {vocab}"
        )
    if vocab**horizon > MAX_ENUMERATION:
        raise ValueError(
            f"vocab_size**horizon = {vocab**horizon} exceeds MAX_ENUMERATION = {MAX_ENUMERATION}"
        )
    rng = check_rng(rng)
    end_token = vocab - 1 if variable_length else None
    seqs = all_sequences(vocab, horizon)
    answers, lengths = _answers_and_lengths(seqs, n_answers, end_token)
    correct = rng.integers(0, n_answers, size=n_prompts)
    is_correct = answers[None, :] == correct[:, None]
    # The tilt adds `bonus` to correct responses; -inf entries (impossible padding) stay -inf.
    logits = (
        _random_tree_log_probs(n_prompts, vocab, horizon, noise, end_token, rng)
        + bonus * is_correct
    )
    table = TabularPolicy.from_log_probs(logits - logsumexp(logits, axis=1, keepdims=True))
    base = JointAutoregressivePolicy(table, vocab, horizon) if autoregressive else table
    details = {
        "correct": correct,
        "answers": answers,
        "lengths": lengths,
        "is_correct": is_correct,
        "end_token": end_token,
        "vocab_size": vocab,
        "horizon": horizon,
        "n_answers": n_answers,
    }
    return Instance(
        "hidden_knowledge_task",
        base,
        np.full(n_prompts, 1.0 / n_prompts),
        None,
        _task_claims(base, table, is_correct, answers, correct, n_answers, vocab, horizon),
        "Appendix A (Figs. 1, 6)",
        details,
    )


def _task_claims(base, table, is_correct, answers, correct, n_answers, vocab, horizon) -> dict:
    probs = table.probs
    prompts = np.arange(table.n_contexts)
    answer_mass = np.zeros((table.n_contexts, n_answers))
    np.add.at(answer_mass, (slice(None), answers), probs)  # type: ignore[arg-type]  # numpy accepts a slice here
    mass_correct = (probs * is_correct).sum(axis=1)
    mode = JointAutoregressivePolicy(table, vocab, horizon).mode(prompts)
    claims = {
        "sample_accuracy": float(mass_correct.mean()),
        "mode_accuracy": _accuracy(is_correct, mode, vocab),
        "majority_accuracy": float((np.argmax(answer_mass, axis=1) == correct).mean()),
        "mean_log_prob_correct": _conditional_mean_log_prob(table.log_probs, is_correct),
        "mean_log_prob_incorrect": _conditional_mean_log_prob(table.log_probs, ~is_correct),
    }
    if isinstance(base, JointAutoregressivePolicy):
        claims["greedy_accuracy"] = _accuracy(is_correct, greedy_decode(base, prompts), vocab)
    return claims


def _conditional_mean_log_prob(log_probs: np.ndarray, side: np.ndarray) -> float:
    """``E[log π(y|x) | y ∈ side]`` for ``x`` uniform, ``y ~ π(·|x)`` (Fig. 6), weights normalised in log space.

    The weights ``π(y|x)·1[side]`` are normalised by their log-sum-exp, so the
    mean stays exact when the side's total mass underflows (a large ``|bonus|``).
    """
    finite = side & np.isfinite(log_probs)
    weights = np.exp(np.where(finite, log_probs, -np.inf) - logsumexp(log_probs[finite]))
    return float(np.sum(weights[finite] * log_probs[finite]))
