"""Gradient learners: the model class of a causal LM, trained by AdamW (full weights or LoRA).

The core's training-time algorithms call a *model class* to minimise a loss
over its members: ``fit_mle`` (SFT-Sharpening, Section 2.1), ``fit_regression``
(DPO as the regression of Eq. (8)), ``fit_logistic_dpo`` (Rafailov et al.'s
loss on Bradley–Terry labels) and ``fit_xpo`` (Algorithm 1's optimistic
objective). The NumPy classes solve these exactly; :class:`GradientClass`
approximates the argmin by gradient steps on a trainable copy of the model,
so the *same* core loop drives a real LM. Every fit returns a new
:class:`~sharpsim.torch.prompted.PromptedLM` (the base is never modified) and
records its per-step losses in ``.training_losses``.

Reproducible: data order comes from the ``rng`` the core passes (a child
stream of the run's seed), LoRA initialisation from a torch generator seeded
from it; dropout is off (eval mode). With a fixed thread count the same seed
gives the same weights, bit for bit, on the CPU.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Section 2.1, Eq. (8), Algorithm 1, Appendix A.
"""

from __future__ import annotations

import copy
import sys
import warnings
from typing import Any

import numpy as np
import torch

from .._validation import check_int, check_real, check_rng
from .prompted import PromptedLM

__all__ = ["GradientClass", "trainable_copy"]


def trainable_copy(lm, lora=None, *, seed: int = 0):
    """A copy of ``lm`` (a :class:`CausalLMPolicy`) whose weights (or LoRA adapters) train.

    Args:
      lm: the model to copy; it stays untouched.
      lora: ``None``/``False`` (full fine-tuning), ``True`` (LoRA ``r=8``,
        ``alpha=16`` on every linear layer) or a dict of ``peft.LoraConfig``
        arguments (``r >= 1``). A model that already carries adapters keeps
        training them.
      seed: seeds the adapters' random initialisation.

    A float16/bfloat16 model is copied to float32: half precision rounds small
    optimiser steps away (measured: SFT at lr 1e-5 on bfloat16 SmolLM2 moved
    the greedy responses' base log-likelihood by 0.1 nats, against 1.2 in float32).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = copy.deepcopy(lm.model)
        if any(p.dtype in (torch.float16, torch.bfloat16) for p in model.parameters()):
            # Half precision cannot hold small AdamW steps (bfloat16 keeps ~3 digits: a step of
            # 1e-5 on a weight of 1e-2 rounds away), so the trained copy is float32.
            model = model.float()
        if lora and not hasattr(model, "peft_config"):
            model = _with_lora(model, lora)
        elif not lora:
            for p in model.parameters():
                p.requires_grad_(True)
    new = type(lm)(
        model,
        lm.tokenizer,
        device=lm.device,
        chat_template=lm.chat_template,
        batch_size=lm.batch_size,
    )
    new.eos_token_ids, new.pad_token_id = lm.eos_token_ids, lm.pad_token_id
    return new


def check_lora(lora):
    """``None``/``False``/``True`` or a dict of ``LoraConfig`` arguments with ``r >= 1``; else an error."""
    if lora is None or isinstance(lora, bool):
        return lora
    if not isinstance(lora, dict):
        raise TypeError(
            f"lora must be None, a bool or a dict of LoraConfig arguments; got {type(lora).__name__}"
        )
    if "r" in lora:
        check_int(lora["r"], "lora['r'] (the LoRA rank)", minimum=1)
    return lora


def _with_lora(model, lora):
    from peft import LoraConfig, get_peft_model

    kwargs: dict[str, Any] = dict(r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear")
    if isinstance(lora, dict):
        kwargs.update(lora)
    with warnings.catch_warnings():
        # peft reads transformers' deprecated `is_gradient_checkpointing`: not ours to fix.
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        return get_peft_model(model, LoraConfig(**kwargs))


class GradientClass:
    """The policies reachable from ``base`` by AdamW steps: the torch learner of the core algorithms.

    Args:
      base: the :class:`~sharpsim.torch.prompted.PromptedLM` every fit starts
        from (XPO's fits start from the previous iterate, ``init``).
      lora: ``None`` (full fine-tuning), ``True`` or a dict of ``LoraConfig`` arguments.
      lr: AdamW step size (``> 0``).
      epochs: passes over the data per fit of ``fit_mle`` / ``fit_regression`` /
        ``fit_logistic_dpo`` (``>= 1``).
      batch_size: examples per micro-batch (``>= 1``).
      grad_accum: micro-batches per optimiser step (``>= 1``).
      xpo_steps: full-batch steps per ``fit_xpo`` call (``>= 1``; Algorithm 1's
        argmin, approximated from the warm start).
      progress: a tqdm bar per fit (``None``: only on a terminal).

    Example:
      >>> import sharpsim as ss
      >>> from sharpsim.torch import tiny_causal_lm
      >>> base = PromptedLM(tiny_causal_lm(seed=0), ["a", "b"], max_new_tokens=3)
      >>> res = ss.sft_sharpening(base, 4, 2, GradientClass(base, lr=1e-2), rng=0)
      >>> res.queries, type(res.policy).__name__, res.policy.training_losses.shape
      (8, 'PromptedLM', (1,))
    """

    def __init__(
        self,
        base,
        *,
        lora=None,
        lr=1e-4,
        epochs=1,
        batch_size=8,
        grad_accum=1,
        xpo_steps=10,
        progress=None,
    ):
        if not isinstance(base, PromptedLM):
            raise TypeError(f"base must be a PromptedLM; got {type(base).__name__}")
        self.base, self.lora = base, check_lora(lora)
        self.n_contexts = base.n_contexts
        self.lr = check_real(lr, "lr", low=0.0, low_open=True)
        self.epochs = check_int(epochs, "epochs", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.grad_accum = check_int(grad_accum, "grad_accum", minimum=1)
        self.xpo_steps = check_int(xpo_steps, "xpo_steps", minimum=1)
        self.progress = progress

    # ------------------------------------------------------------ the fits
    def fit_mle(self, x, y, weights=None, *, rng=None) -> PromptedLM:
        """``argmax Σ_i w_i log π(y_i|x_i)`` by minibatch AdamW (SFT-Sharpening's maximum likelihood)."""
        model, pairs, gen = self._start(rng, None)
        w = _weights(weights, len(x), model)

        def loss(idx):
            lp = model.lm.sequence_log_probs(*pairs(x[idx], y[idx]))
            return -(w[idx] * lp).sum() / w[idx].sum()

        return self._train(model, len(x), loss, gen, "SFT")

    def fit_regression(
        self, x, y, y_ref, target, beta, base, weights=None, *, rng=None
    ) -> PromptedLM:
        """Eq. (8): ``min Σ w (β Δ_π − target)²``, ``Δ_π = log π(y)/π_base(y) − log π(y')/π_base(y')``.

        ``base`` is the pair of observed arrays ``(log π_base(y|x), log π_base(y'|x))``.
        """
        model, pairs, gen = self._start(rng, None)
        terms = _pair_terms(model, pairs, x, y, y_ref, base)
        t, w = _tensor(target, model), _weights(weights, len(x), model)

        def loss(idx):
            delta, _ = terms(idx)
            return (w[idx] * (beta * delta - t[idx]) ** 2).sum() / w[idx].sum()

        return self._train(model, len(x), loss, gen, "DPO (regression)")

    def fit_logistic_dpo(
        self, x, y_win, y_lose, beta, base, weights=None, *, rng=None
    ) -> PromptedLM:
        """DPO's loss ``−log σ(β Δ_π)`` on preferred-first pairs (Rafailov et al., 2023)."""
        model, pairs, gen = self._start(rng, None)
        terms = _pair_terms(model, pairs, x, y_win, y_lose, base)
        w = _weights(weights, len(x), model)

        def loss(idx):
            delta, _ = terms(idx)
            return -(w[idx] * torch.nn.functional.logsigmoid(beta * delta)).sum() / w[idx].sum()

        return self._train(model, len(x), loss, gen, "DPO (logistic)")

    def fit_xpo(self, x, y, y_ref, target, beta, alpha, base, init=None, weights=None, *, rng=None):
        """Algorithm 1's objective ``α Σ log π(ỹ|x) + Σ (β Δ_π − target)²`` by ``xpo_steps`` full-batch steps from ``init``."""
        model, pairs, gen = self._start(rng, init)
        terms = _pair_terms(model, pairs, x, y, y_ref, base)
        t, w = _tensor(target, model), _weights(weights, len(x), model)

        def loss(idx):
            delta, lp_ref = terms(idx)
            fit = (w[idx] * (beta * delta - t[idx]) ** 2).sum() / w[idx].sum()
            return alpha * (w[idx] * lp_ref).sum() / w[idx].sum() + fit

        every = np.arange(len(x))
        return self._run(model, [[every]] * self.xpo_steps, loss, "XPO")

    # ------------------------------------------------------------ plumbing
    def _start(self, rng, init):
        gen = check_rng(rng)
        start = self.base if init is None else init
        if not isinstance(start, PromptedLM):
            raise TypeError(
                f"init must be a PromptedLM from this class; got {type(start).__name__}"
            )
        lm = trainable_copy(start.lm, self.lora, seed=int(gen.integers(2**63 - 1)))
        model = self.base.with_lm(lm)

        def pairs(xs, ys):
            return [model.prompt_ids[i] for i in xs], PromptedLM.unpad(ys)

        return model, pairs, gen

    def _train(self, model, n, loss, gen, label) -> PromptedLM:
        groups = []
        for _ in range(self.epochs):
            order = gen.permutation(n)
            batches = [order[s : s + self.batch_size] for s in range(0, n, self.batch_size)]
            groups += [
                batches[g : g + self.grad_accum] for g in range(0, len(batches), self.grad_accum)
            ]
        return self._run(model, groups, loss, label)

    def _run(self, model, groups, loss, label) -> PromptedLM:
        """One AdamW step per group of micro-batches (gradients accumulated, weighted by size)."""
        params = [p for p in model.lm.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=0.0)
        losses = np.empty(len(groups))
        bar = _progress(len(groups), label, self.progress)
        for step, group in enumerate(groups):
            opt.zero_grad()
            size = sum(len(idx) for idx in group)
            total = 0.0
            for idx in group:
                part = loss(idx) * (len(idx) / size)
                part.backward()
                total += float(part.detach())
            opt.step()
            losses[step] = total
            bar.update(1)
        bar.close()
        model.training_losses = losses
        return model


def _pair_terms(model, pairs, x, y, y_ref, base):
    """``idx -> (Δ_π, log π(y'|x))`` of the pairs ``idx`` from one forward pass; float64 tensors."""
    ref_y, ref_yr = (_tensor(b, model) for b in base)

    def terms(idx):
        xs = np.concatenate([x[idx], x[idx]])
        both = model.lm.sequence_log_probs(*pairs(xs, np.concatenate([y[idx], y_ref[idx]])))
        m = len(idx)
        return (both[:m] - ref_y[idx]) - (both[m:] - ref_yr[idx]), both[m:]

    return terms


def _tensor(values, model) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64), device=model.lm.device)


def _weights(weights, n: int, model) -> torch.Tensor:
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be {n} finite non-negative numbers, not all 0")
    return _tensor(w, model)


def _progress(total: int, label: str, progress):
    from tqdm.auto import tqdm

    enabled = sys.stderr.isatty() if progress is None else bool(progress)
    return tqdm(total=total, desc=label, disable=not enabled, leave=False)
