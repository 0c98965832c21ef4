"""Training-time sharpening of causal LMs: SFT on best-of-N picks, DPO (regression and logistic), XPO.

Each algorithm leaves the base policy untouched: it trains a copy (all
weights, or LoRA adapters through ``peft``), with the base as the frozen
reference ``π_base``, and returns a :class:`TorchSharpeningResult` with
``.policy`` (the sharpened :class:`~sharpsim.torch.CausalLMPolicy`) and
``.queries`` (sample-and-evaluate queries, Definition 3.2), like the core's
``SharpeningResult``. Optimisation: AdamW on minibatches, gradient
accumulation, a seed that fixes sampling, shuffling and initialisation.
Dropout stays off (the model is kept in eval mode), so a run is reproducible.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Section 2.1 (SFT-Sharpening), Eq. (4)/(8) (DPO
  regression), Algorithm 1 (XPO), Appendix A (LoRA SFT on BoN picks).
  Rafailov et al., "Direct Preference Optimization", 2023 (logistic DPO).
"""

from __future__ import annotations

import copy
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._validation import check_int, check_real, check_rng
from .inference import BestOfNResult, best_of_n
from .policy import CausalLMPolicy
from .rewards import resolve_reward

__all__ = [
    "TorchSharpeningResult",
    "sft_sharpening",
    "dpo_sharpening",
    "xpo_sharpening",
    "trainable_copy",
]


@dataclass
class TorchSharpeningResult:
    """What a training-time sharpening run on a causal LM produced.

    Attributes:
      policy: the sharpened :class:`~sharpsim.torch.CausalLMPolicy`.
      queries: sample-and-evaluate queries charged (Definition 3.2).
      seed: the integer seed; ``rng=seed`` replays the run.
      losses: training loss per optimiser step, float ``[steps]``.
      data: what the learner trained on (picks, pairs, ...).
      diagnostics: algorithm-specific summaries.
    """

    policy: Any
    queries: int
    seed: int
    losses: np.ndarray
    data: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)


def _seed(rng) -> int:
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(2**63 - 1))
    if rng is None:
        return int(np.random.SeedSequence().entropy % (2**63 - 1))  # type: ignore[operator]  # an int when fresh
    check_rng(rng)
    return int(rng)


def trainable_copy(policy: CausalLMPolicy, lora=None) -> CausalLMPolicy:
    """A copy of ``policy`` whose parameters (or LoRA adapters) train; the original stays frozen.

    Args:
      policy: the base :class:`~sharpsim.torch.CausalLMPolicy`.
      lora: ``None`` (full fine-tuning), ``True`` (LoRA with ``r=8``,
        ``alpha=16`` on the attention projections) or a dict of
        ``peft.LoraConfig`` arguments.
    """
    model = copy.deepcopy(policy.model)
    if lora:
        from peft import LoraConfig, get_peft_model

        kwargs: dict[str, Any] = dict(
            r=8, lora_alpha=16, lora_dropout=0.0, target_modules="all-linear"
        )
        if isinstance(lora, dict):
            kwargs.update(lora)
        with warnings.catch_warnings():
            # peft (0.21) reads transformers' deprecated `is_gradient_checkpointing`: not ours to fix.
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
            )
            model = get_peft_model(model, LoraConfig(**kwargs))
    else:
        for p in model.parameters():
            p.requires_grad_(True)
    new = type(policy)(
        model,
        policy.tokenizer,
        device=policy.device,
        chat_template=policy.chat_template,
        batch_size=policy.batch_size,
    )
    new.eos_token_ids, new.pad_token_id = policy.eos_token_ids, policy.pad_token_id
    return new


def _progress(total: int, label: str, progress):
    from tqdm.auto import tqdm

    enabled = sys.stderr.isatty() if progress is None else bool(progress)
    return tqdm(total=total, desc=label, disable=not enabled, leave=False)


def _check_common(lr, epochs, batch_size, grad_accum):
    return (
        check_real(lr, "lr", low=0.0, low_open=True),
        check_int(epochs, "epochs", minimum=1),
        check_int(batch_size, "batch_size", minimum=1),
        check_int(grad_accum, "grad_accum", minimum=1),
    )


def _optimise(
    policy,
    n_items,
    loss_fn,
    *,
    lr,
    epochs,
    batch_size,
    grad_accum,
    seed,
    progress,
    label,
    optimizer=None,
):
    """Minibatch AdamW: ``loss_fn(indices) -> mean loss tensor``; returns per-step losses."""
    params = [p for p in policy.model.parameters() if p.requires_grad]
    opt = optimizer or torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    n_batches = -(-n_items // batch_size)
    steps = epochs * (-(-n_batches // grad_accum))
    bar = _progress(steps, label, progress)
    for _ in range(epochs):
        order = torch.randperm(n_items, generator=gen).tolist()
        batches = [order[s : s + batch_size] for s in range(0, n_items, batch_size)]
        for g in range(0, len(batches), grad_accum):
            group = batches[g : g + grad_accum]
            opt.zero_grad()
            total = 0.0
            for idx in group:
                loss = loss_fn(idx) * (len(idx) / sum(len(b) for b in group))
                loss.backward()
                total += float(loss.detach())
            opt.step()
            losses.append(total)
            bar.update(1)
    bar.close()
    return np.array(losses), opt


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
    rng=None,
    progress=None,
    picks: BestOfNResult | None = None,
) -> TorchSharpeningResult:
    """SFT-Sharpening (Section 2.1): maximum likelihood on best-of-N picks, by gradient descent.

    ``π̂ = argmax Σ_i log π(y_i^BoN | x_i)``: draws ``N`` responses per prompt
    from the base, keeps the self-reward maximiser, then fine-tunes a copy of
    the base (fully or with LoRA) on the picks for ``epochs`` passes.

    Args:
      policy: the base :class:`~sharpsim.torch.CausalLMPolicy` (not modified).
      prompts: the ``n`` training prompts.
      N: responses per prompt for best-of-N (``>= 1``).
      reward: self-reward (``None``: log-likelihood).
      max_new_tokens: response length cap when sampling.
      lora: ``None`` (full fine-tuning), ``True`` or a dict of ``LoraConfig`` arguments.
      lr, epochs, batch_size, grad_accum: AdamW step size, passes over the
        picks, prompts per micro-batch, micro-batches per optimiser step.
      rng: seed or generator (fixes sampling and shuffling).
      progress: show a tqdm bar (``None``: only on a terminal).
      picks: reuse best-of-N picks already drawn (then no new queries are charged).

    Returns:
      :class:`TorchSharpeningResult` with ``queries = n·N`` and ``data["picks"]``.

    Example:
      >>> from sharpsim.torch import tiny_causal_lm, sft_sharpening
      >>> base = tiny_causal_lm(seed=0)
      >>> res = sft_sharpening(base, ["a", "b"], 4, max_new_tokens=3, epochs=2, lr=1e-2, rng=0)
      >>> res.queries, res.losses.shape
      (8, (2,))
    """
    lr, epochs, batch_size, grad_accum = _check_common(lr, epochs, batch_size, grad_accum)
    seed = _seed(rng)
    gen = np.random.default_rng(seed)
    P = policy.encode_prompts(prompts)
    if picks is None:
        picks = best_of_n(policy, P, N, reward=reward, rng=gen, max_new_tokens=max_new_tokens)
    elif len(picks.token_ids) != len(P):
        raise ValueError(
            f"picks must hold one pick per prompt ({len(P)}); got {len(picks.token_ids)}"
        )
    model = trainable_copy(policy, lora)
    torch.manual_seed(seed)

    def loss_fn(idx):
        lp = model.sequence_log_probs([P[i] for i in idx], [picks.token_ids[i] for i in idx])
        return -lp.mean()

    losses, _ = _optimise(
        model,
        len(P),
        loss_fn,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        grad_accum=grad_accum,
        seed=seed,
        progress=progress,
        label="SFT-sharpening",
    )
    return TorchSharpeningResult(model, picks.queries, seed, losses, data={"picks": picks})


def _pair_data(policy, P, pairs_per_prompt, reward, gen, max_new_tokens):
    """Two base responses per (prompt, pair) with rewards: prompts ``[m]``, ``y``, ``y'`` and ``r(y) - r(y')``."""
    s = policy.sample(P, 2 * pairs_per_prompt, max_new_tokens=max_new_tokens, rng=gen)
    scores = np.asarray(resolve_reward(reward).score(s))
    prompts, ys, yps, dr, lpy, lpyp = [], [], [], [], [], []
    for i, p in enumerate(P):
        for j in range(pairs_per_prompt):
            a, b = 2 * j, 2 * j + 1
            prompts.append(p)
            ys.append(s.token_ids[i][a])
            yps.append(s.token_ids[i][b])
            dr.append(scores[i, a] - scores[i, b])
            lpy.append(s.log_probs[i, a])
            lpyp.append(s.log_probs[i, b])
    return prompts, ys, yps, np.array(dr), np.array(lpy), np.array(lpyp), int(s.log_probs.size)


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
) -> TorchSharpeningResult:
    """RLHF-Sharpening by DPO: the regression of Eq. (8), or logistic DPO on self-reward preferences.

    Data: for each prompt, ``pairs_per_prompt`` pairs ``y, y' ~ π_base`` with
    their self-rewards. With ``Δ_π = log π(y|x)/π_base(y|x) - log π(y'|x)/π_base(y'|x)``:

    * ``loss="regression"`` (Eq. (8)): minimise ``mean (β Δ_π - (r(y) - r(y')))²``;
    * ``loss="logistic"``: a preference ``y ≻ y'`` is drawn with probability
      ``σ(r(y) - r(y'))`` (Bradley-Terry on the self-reward), and the DPO loss
      ``-log σ(β Δ_π)`` of the preferred-first pair is minimised.

    Both have ``π*_β ∝ π_base · exp(r/β)`` — for ``r = log π_base`` the
    sharpened ``π_base^(1+1/β)`` (Sec. 4.2) — among their minimisers.

    Args:
      policy: the base :class:`~sharpsim.torch.CausalLMPolicy` (the frozen reference).
      prompts: training prompts.
      beta: KL-regularisation ``β > 0``.
      loss: ``"regression"`` or ``"logistic"``.
      pairs_per_prompt: pairs drawn per prompt (``>= 1``).
      reward, max_new_tokens, lora, lr, epochs, batch_size, grad_accum, rng, progress: as in :func:`sft_sharpening`.

    Returns:
      :class:`TorchSharpeningResult` with ``queries = 2 · n · pairs_per_prompt``.
    """
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    if loss not in ("regression", "logistic"):
        raise ValueError(f"loss must be 'regression' or 'logistic'; got {loss!r}")
    pairs_per_prompt = check_int(pairs_per_prompt, "pairs_per_prompt", minimum=1)
    lr, epochs, batch_size, grad_accum = _check_common(lr, epochs, batch_size, grad_accum)
    seed = _seed(rng)
    gen = np.random.default_rng(seed)
    P = policy.encode_prompts(prompts)
    prompts_m, ys, yps, dr, lpy, lpyp, queries = _pair_data(
        policy, P, pairs_per_prompt, reward, gen, max_new_tokens
    )
    if loss == "logistic":  # orient each pair: preferred response first
        prefer = gen.random(len(dr)) < 1.0 / (1.0 + np.exp(-dr))
        ys, yps = (
            [a if f else b for a, b, f in zip(ys, yps, prefer)],
            [b if f else a for a, b, f in zip(ys, yps, prefer)],
        )
        lpy, lpyp = np.where(prefer, lpy, lpyp), np.where(prefer, lpyp, lpy)
    model = trainable_copy(policy, lora)
    torch.manual_seed(seed)
    ref_y, ref_yp = torch.tensor(lpy, device=model.device), torch.tensor(lpyp, device=model.device)
    target = torch.tensor(dr, device=model.device)

    def loss_fn(idx):
        both = model.sequence_log_probs(
            [prompts_m[i] for i in idx] * 2, [ys[i] for i in idx] + [yps[i] for i in idx]
        )
        delta = (both[: len(idx)] - ref_y[idx]) - (both[len(idx) :] - ref_yp[idx])
        if loss == "regression":
            return ((beta * delta - target[idx]) ** 2).mean()
        return -torch.nn.functional.logsigmoid(beta * delta).mean()

    losses, _ = _optimise(
        model,
        len(ys),
        loss_fn,
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        grad_accum=grad_accum,
        seed=seed,
        progress=progress,
        label=f"DPO-sharpening ({loss})",
    )
    data = {"prompts": prompts_m, "y": ys, "y_prime": yps, "reward_gap": dr}
    return TorchSharpeningResult(model, queries, seed, losses, data=data)


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
    validation_prompts=None,
    validation_samples=0,
    rng=None,
    progress=None,
) -> TorchSharpeningResult:
    """XPO-Sharpening, reward-based (Algorithm 1) with the log-likelihood self-reward and a frozen reference.

    For ``t = 1..T``: draw prompts ``x`` (uniformly from ``prompts``),
    ``y ~ π^(t)(·|x)`` from the current model and ``ỹ ~ π_base(·|x)``; add
    ``(x, y, ỹ)`` to ``D``; then take ``inner_steps`` AdamW steps (warm
    started) on

    ``α · mean_D log π(ỹ|x) + mean_D (β log π(y|x)/π_base(y|x) - β log π(ỹ|x)/π_base(ỹ|x) - (r(y) - r(ỹ)))²``

    with ``r = log π_base`` — an approximate version of the exact argmin.
    Queries: ``ỹ`` with its log-likelihood, plus the base evaluation of ``y``
    (counted, as in Thm 4.3's framework): ``2 · prompts_per_round`` per round.

    Which iterate is returned: with ``validation_samples = 0`` the last one.
    With ``validation_samples = k > 0``, Algorithm 1's rule: the iterate
    ``π^(t)``, ``t = 1..T+1`` (``π^(1) = π_base``), with the largest estimate
    ``Ĵ_β(π) = mean[(1+β) log π_base(y|x) − β log π(y|x)]`` over ``k`` draws
    ``y ~ π(·|x)`` per validation prompt (Eq. (3) with ``r = log π_base``:
    ``E_π[r] − β KL(π‖π_base)``). Each draw's base evaluation is a query.

    Args:
      policy: the base :class:`~sharpsim.torch.CausalLMPolicy` (the frozen reference).
      prompts: prompt pool (uniform ``μ``).
      T: rounds (``>= 1``).
      beta: ``β > 0``.
      alpha: optimism weight ``α >= 0``.
      prompts_per_round: prompts drawn per round.
      inner_steps: optimiser steps per round.
      max_new_tokens, lora, lr, rng, progress: as in :func:`sft_sharpening`.
      validation_prompts: prompts for the ``Ĵ_β`` estimate (default: ``prompts``).
      validation_samples: draws per validation prompt (``0``: return the last iterate).

    Returns:
      :class:`TorchSharpeningResult` (``diagnostics["losses_per_round"]``; with
      validation also ``diagnostics["validation_J"]`` ``[T+1]`` and
      ``diagnostics["selected_iterate"]``, 1-based as ``π^(t)``).
    """
    T = check_int(T, "T", minimum=1)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    alpha = check_real(alpha, "alpha", low=0.0)
    prompts_per_round = check_int(prompts_per_round, "prompts_per_round", minimum=1)
    inner_steps = check_int(inner_steps, "inner_steps", minimum=1)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    validation_samples = check_int(validation_samples, "validation_samples", minimum=0)
    seed = _seed(rng)
    gen = np.random.default_rng(seed)
    P = policy.encode_prompts(prompts)
    V = P if validation_prompts is None else policy.encode_prompts(validation_prompts)
    model = trainable_copy(policy, lora)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(
        [p for p in model.model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0
    )
    D_x, D_y, D_yt, D_ref_y, D_ref_yt = [], [], [], [], []
    queries, losses, per_round = 0, [], []
    selector = (
        _IterateSelector(policy, V, validation_samples, beta, max_new_tokens)
        if validation_samples
        else None
    )
    if selector:
        queries += selector.consider(model, gen)  # π^(1) = π_base
    bar = _progress(T, "XPO-sharpening", progress)
    for _ in range(T):
        xs = [P[i] for i in gen.integers(len(P), size=prompts_per_round)]
        own = model.sample(xs, 1, max_new_tokens=max_new_tokens, rng=gen)
        ref = policy.sample(xs, 1, max_new_tokens=max_new_tokens, rng=gen)
        y = [g[0] for g in own.token_ids]
        ref_y = policy._score(xs, y)  # base evaluation of the model's own responses
        queries += 2 * prompts_per_round
        D_x += xs
        D_y += y
        D_yt += [g[0] for g in ref.token_ids]
        D_ref_y += list(ref_y)
        D_ref_yt += list(ref.log_probs[:, 0])
        ry, ryt = (
            torch.tensor(D_ref_y, device=model.device),
            torch.tensor(D_ref_yt, device=model.device),
        )
        for _ in range(inner_steps):
            opt.zero_grad()
            both = model.sequence_log_probs(D_x * 2, D_y + D_yt)
            lp_y, lp_yt = both[: len(D_x)], both[len(D_x) :]
            regression = (beta * (lp_y - ry) - beta * (lp_yt - ryt) - (ry - ryt)) ** 2
            loss = alpha * lp_yt.mean() + regression.mean()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        per_round.append(losses[-1])
        if selector:
            queries += selector.consider(model, gen)
        bar.update(1)
    bar.close()
    data = {"prompts": D_x, "y": D_y, "y_tilde": D_yt}
    diagnostics = {"losses_per_round": np.array(per_round)}
    if selector:
        selector.restore_best(model)
        diagnostics.update(
            validation_J=np.array(selector.values), selected_iterate=selector.best + 1
        )
    return TorchSharpeningResult(
        model, queries, seed, np.array(losses), data=data, diagnostics=diagnostics
    )


class _IterateSelector:
    """Algorithm 1's output rule: keep the trainable parameters of the iterate with the largest ``Ĵ_β``."""

    def __init__(self, base, prompts, samples, beta, max_new_tokens):
        self.base, self.prompts, self.samples = base, prompts, samples
        self.beta, self.max_new_tokens = beta, max_new_tokens
        self.values, self.best, self.best_state = [], -1, None

    def consider(self, model, gen) -> int:
        """Estimate ``Ĵ_β(model)``, remember it if best; returns the base queries it spent."""
        draws = model.sample(
            self.prompts, self.samples, max_new_tokens=self.max_new_tokens, rng=gen
        )
        flat_p = [p for p in self.prompts for _ in range(self.samples)]
        flat_y = [y for group in draws.token_ids for y in group]
        base_lp = self.base._score(flat_p, flat_y)
        value = float(np.mean((1 + self.beta) * base_lp - self.beta * draws.log_probs.ravel()))
        self.values.append(value)
        if value > (self.values[self.best] if self.best >= 0 else -np.inf):
            self.best = len(self.values) - 1
            self.best_state = {
                n: p.detach().clone() for n, p in model.model.named_parameters() if p.requires_grad
            }
        return len(flat_y)

    def restore_best(self, model) -> None:
        with torch.no_grad():
            for name, param in model.model.named_parameters():
                if name in self.best_state:
                    param.copy_(self.best_state[name])
