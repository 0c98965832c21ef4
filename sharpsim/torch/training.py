"""Training-time sharpening of causal LMs: the core's SFT-, DPO- and XPO-sharpening with a gradient learner.

Each function is the core algorithm (:func:`sharpsim.sft_sharpening`,
:func:`sharpsim.dpo_sharpening`, :func:`sharpsim.xpo_sharpening`) run on a
:class:`~sharpsim.torch.prompted.PromptedLM` with a
:class:`~sharpsim.torch.learners.GradientClass`: the same prompt draws,
best-of-N picks, pairs, regression targets, XPO rounds and query accounting
as for a NumPy policy; only the learner differs (AdamW steps on a copy of the
model — all weights, or LoRA adapters — instead of an exact argmin). The base
model is never modified. Results are the core's
:class:`~sharpsim.algorithms.result.SharpeningResult` with ``.policy`` the
sharpened :class:`~sharpsim.torch.CausalLMPolicy`, ``.queries`` and ``.seed``
(``rng=seed`` replays the run), ``diagnostics["losses"]`` the training loss
per optimiser step, and ``data`` the core's data with ``prompts`` the prompt
indices' texts.

Prompts are drawn ``x ~ μ`` uniformly from ``prompts`` (with replacement),
``n_prompts`` of them (default ``len(prompts)``), as in the paper.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Section 2.1, Eq. (4)/(8), Algorithm 1, Appendix A.
"""

from __future__ import annotations

import numpy as np

from .. import algorithms as core
from .._validation import check_int
from ..algorithms.result import SharpeningResult
from .learners import GradientClass, trainable_copy
from .prompted import PromptedLM
from .rewards import resolve_reward

__all__ = [
    "TorchSharpeningResult",
    "sft_sharpening",
    "dpo_sharpening",
    "xpo_sharpening",
    "trainable_copy",
]

#: The result type of the torch entry points: the core's, with ``.policy`` a ``CausalLMPolicy``.
TorchSharpeningResult = SharpeningResult


def _setup(policy, prompts, max_new_tokens, n_prompts, learner_args):
    base = PromptedLM(policy, prompts, max_new_tokens=max_new_tokens)
    n = base.n_contexts if n_prompts is None else check_int(n_prompts, "n_prompts", minimum=1)
    return base, n, GradientClass(base, **learner_args)


def _lm_result(res: SharpeningResult, base: PromptedLM, losses) -> SharpeningResult:
    """The core result with the trained ``CausalLMPolicy`` as ``.policy`` and the losses in ``diagnostics``."""
    diagnostics = dict(res.diagnostics, losses=np.asarray(losses, dtype=float))
    return SharpeningResult(
        res.policy.lm, res.queries, res.seed, res.data, diagnostics, res.samples_per_prompt
    )


def sft_sharpening(
    policy,
    prompts,
    N,
    *,
    reward=None,
    max_new_tokens=64,
    lora=None,
    lr=1e-4,
    epochs=1,
    batch_size=8,
    grad_accum=1,
    n_prompts=None,
    rng=None,
    progress=None,
) -> SharpeningResult:
    """SFT-Sharpening (Section 2.1): the core's loop, maximum likelihood on best-of-N picks by AdamW.

    ``π̂ = argmax Σ_i log π(y_i^BoN | x_i)``: ``n`` prompts ``x_i ~ μ``, ``N``
    responses each from the base, the self-reward maximiser kept (the core's
    faithful best-of-N), then ``epochs`` passes of AdamW over the picks.

    Args:
      policy: the base :class:`~sharpsim.torch.CausalLMPolicy` (not modified).
      prompts: the training prompts (``μ`` is uniform over them).
      N: responses per prompt for best-of-N (``>= 1``).
      reward: self-reward (``None``: log-likelihood; ``"length_normalized"``, ...).
      max_new_tokens: response length cap when sampling.
      lora: ``None`` (full fine-tuning), ``True`` or a dict of ``LoraConfig`` arguments (``r >= 1``).
      lr, epochs, batch_size, grad_accum: AdamW step size, passes over the
        picks, picks per micro-batch, micro-batches per optimiser step.
      n_prompts: prompts drawn (default ``len(prompts)``).
      rng: seed or generator (fixes sampling, data order and LoRA initialisation).
      progress: show a tqdm bar (``None``: only on a terminal).

    Returns:
      :class:`~sharpsim.algorithms.result.SharpeningResult` with ``queries = n·N``
      and ``data`` holding the picks (``x``, ``y`` padded token rows, ``log_prob``).

    Example:
      >>> from sharpsim.torch import tiny_causal_lm, sft_sharpening
      >>> res = sft_sharpening(tiny_causal_lm(seed=0), ["a", "b"], 4, max_new_tokens=3, epochs=2, lr=1e-2, rng=0)
      >>> res.queries, res.diagnostics["losses"].shape
      (8, (2,))
    """
    learner_args = dict(
        lora=lora,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        grad_accum=grad_accum,
        progress=progress,
    )
    base, n, learner = _setup(policy, prompts, max_new_tokens, n_prompts, learner_args)
    res = core.sft_sharpening(
        base,
        n,
        N,
        learner,
        rng=rng,
        reward=resolve_reward(reward, base.texts),
        bon_method="faithful",
        keep_data=True,
    )
    return _lm_result(res, base, res.policy.training_losses)


def dpo_sharpening(
    policy,
    prompts,
    beta,
    *,
    loss="regression",
    pairs_per_prompt=1,
    reward=None,
    max_new_tokens=64,
    lora=None,
    lr=1e-4,
    epochs=1,
    batch_size=8,
    grad_accum=1,
    rng=None,
    progress=None,
) -> SharpeningResult:
    """RLHF-Sharpening by DPO (Eq. (8) regression or logistic DPO): the core's loop with a gradient learner.

    Data: ``n = len(prompts)·pairs_per_prompt`` prompts ``x ~ μ``, two base
    responses ``y, y'`` each with their self-rewards; then, with
    ``Δ_π = log π(y|x)/π_base(y|x) − log π(y'|x)/π_base(y'|x)``, AdamW on
    ``(β Δ_π − (r(y) − r(y')))²`` (``loss="regression"``) or ``−log σ(β Δ_π)``
    on Bradley–Terry labels of the self-reward (``loss="logistic"``). Both have
    ``π*_β ∝ π_base · exp(r/β)`` among their minimisers (Sec. 4.2).

    Args:
      policy: the base :class:`~sharpsim.torch.CausalLMPolicy` (the frozen reference).
      prompts: training prompts.
      beta: KL-regularisation ``β > 0``.
      loss: ``"regression"`` or ``"logistic"``.
      pairs_per_prompt: pairs per prompt on average (``>= 1``).
      reward, max_new_tokens, lora, lr, epochs, batch_size, grad_accum, rng, progress: as in :func:`sft_sharpening`.

    Returns:
      :class:`~sharpsim.algorithms.result.SharpeningResult` with ``queries = 2·n``.
    """
    pairs_per_prompt = check_int(pairs_per_prompt, "pairs_per_prompt", minimum=1)
    learner_args = dict(
        lora=lora,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        grad_accum=grad_accum,
        progress=progress,
    )
    base, _, learner = _setup(policy, prompts, max_new_tokens, None, learner_args)
    res = core.dpo_sharpening(
        base,
        base.n_contexts * pairs_per_prompt,
        beta,
        learner,
        rng=rng,
        loss=loss,
        reward=resolve_reward(reward, base.texts),
        keep_data=True,
        check_realizable=False,
    )
    return _lm_result(res, base, res.policy.training_losses)


def xpo_sharpening(
    policy,
    prompts,
    T,
    beta,
    alpha,
    *,
    prompts_per_round=1,
    inner_steps=10,
    max_new_tokens=64,
    lora=None,
    lr=1e-3,
    n_validation=0,
    rng=None,
    progress=None,
) -> SharpeningResult:
    """XPO-Sharpening (Algorithm 1): the core's rounds with a gradient learner and the log-likelihood self-reward.

    For ``t = 1..T``: ``prompts_per_round`` prompts ``x ~ μ``, ``y ~ π^(t)(·|x)``
    from the current model (its base likelihood evaluated: one query) and
    ``ỹ ~ π_base(·|x)`` (one query); then ``inner_steps`` AdamW steps from
    ``π^(t)`` on ``α Σ_D log π(ỹ|x) + Σ_D (β Δ_π − (r(y) − r(ỹ)))²`` over all
    data so far give ``π^(t+1)``.

    Which iterate is returned: the last (``n_validation = 0``) or, as in
    Algorithm 1, the iterate with the largest estimate of
    ``J_β = E[r] − β KL(π‖π_base)`` on ``n_validation`` fresh prompts with one
    own response each (their base evaluations are queries).

    Args:
      policy: the base :class:`~sharpsim.torch.CausalLMPolicy` (the frozen reference).
      prompts: prompt pool (uniform ``μ``).
      T: rounds (``>= 1``).
      beta: ``β > 0``.
      alpha: optimism weight ``α >= 0``.
      prompts_per_round: prompts drawn per round (``>= 1``).
      inner_steps: AdamW steps per round (``>= 1``).
      n_validation: validation draws for the iterate choice (``0``: the last iterate).
      max_new_tokens, lora, lr, rng, progress: as in :func:`sft_sharpening`.

    Returns:
      :class:`~sharpsim.algorithms.result.SharpeningResult`
      (``queries = 2·T·prompts_per_round`` plus the validation draws;
      ``diagnostics["selected"]`` is the index of the returned iterate, 0 the base).
    """
    n_validation = check_int(n_validation, "n_validation", minimum=0)
    learner_args = dict(
        lora=lora,
        lr=lr,
        xpo_steps=check_int(inner_steps, "inner_steps", minimum=1),
        progress=progress,
    )
    base, _, learner = _setup(policy, prompts, max_new_tokens, None, learner_args)
    res = core.xpo_sharpening(
        base,
        T,
        beta,
        alpha,
        learner,
        rng=rng,
        select="validation" if n_validation else "last",
        n_validation=max(n_validation, 1),
        prompts_per_iteration=prompts_per_round,
        check_realizable=False,
        progress=bool(progress),
    )
    chosen = res.policy
    losses = getattr(chosen, "training_losses", np.zeros(0))
    if (
        chosen is base
    ):  # Algorithm 1 may select π^(1) = π_base itself: hand back an independent copy
        chosen = base.with_lm(trainable_copy(base.lm))
    res = SharpeningResult(
        chosen, res.queries, res.seed, res.data, res.diagnostics, res.samples_per_prompt
    )
    return _lm_result(res, base, losses)
