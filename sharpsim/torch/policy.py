"""A causal language model as a policy ``π(y|x)`` with ``log_prob`` and ``sample`` (SPEC §1, Def. 3.2).

:class:`CausalLMPolicy` wraps any Hugging Face ``AutoModelForCausalLM`` (or any
``torch.nn.Module`` mapping token ids ``[B, L]`` to next-token logits
``[B, L, V]``) and its tokenizer. A *response* is the token sequence that
follows the (chat-formatted) prompt; its log-likelihood is the sum of the
next-token log-softmax terms over the response tokens only (prompt and padding
masked). :meth:`CausalLMPolicy.sample` returns, with every response, its
log-likelihood at temperature 1 read from the raw logits of the generation
pass itself — the sample-and-evaluate oracle of Definition 3.2 costs one pass.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025 (arXiv 2412.01951): Definition 3.2, Eq. (2).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._validation import check_int, check_real, check_rng

__all__ = ["CausalLMPolicy", "SampledResponses", "DecodedResponses", "check_device", "check_dtype"]

#: Default number of sequences per forward pass.
DEFAULT_BATCH_SIZE = 16


@dataclass(frozen=True)
class SampledResponses:
    """``n`` sampled responses for each of ``k`` prompts.

    Attributes:
      texts: decoded responses, ``[k][n]`` (special tokens skipped).
      token_ids: response token ids, ``[k][n]`` lists of ints (the end-of-sequence
        token included when generated).
      log_probs: ``log π(y|x)`` at temperature 1 of exactly those tokens,
        float64 ``[k, n]``.
      finished: whether each response ended with an end-of-sequence token, bool ``[k, n]``.
    """

    texts: list
    token_ids: list
    log_probs: np.ndarray
    finished: np.ndarray


@dataclass(frozen=True)
class DecodedResponses:
    """One deterministic response per prompt (greedy or beam search).

    Attributes:
      texts: ``[k]`` decoded responses.
      token_ids: ``[k]`` lists of response token ids.
      log_probs: ``log π(y|x)`` of each, float64 ``[k]``.
    """

    texts: list
    token_ids: list
    log_probs: np.ndarray


@dataclass(frozen=True)
class _Generated:
    """Raw output of one generation batch: per-row tokens and per-token log-probs."""

    token_ids: list
    log_probs: list  # temperature-1 terms, one float64 array per row
    tempered_log_probs: list  # terms of the sampler's (tempered) law
    ended: np.ndarray  # bool [b]: emitted an end-of-sequence token


def is_hf_model(model) -> bool:
    """True for a Hugging Face ``PreTrainedModel`` (or a peft wrapper around one)."""
    from transformers import PreTrainedModel

    if isinstance(model, PreTrainedModel):
        return True
    get_base = getattr(model, "get_base_model", None)
    return callable(get_base) and isinstance(get_base(), PreTrainedModel)


def _model_vocab(model) -> int | None:
    get_emb = getattr(model, "get_input_embeddings", None)
    if callable(get_emb):
        emb = get_emb()
        if emb is not None and hasattr(emb, "num_embeddings"):
            return int(emb.num_embeddings)
    vocab = getattr(model, "vocab_size", None)
    return int(vocab) if isinstance(vocab, numbers.Integral) else None


def _cache_keyword(model) -> str:
    """The KV-cache argument of ``forward``: ``cache`` (transformers >= 5.2x) or ``past_key_values``."""
    import inspect

    base = model.get_base_model() if callable(getattr(model, "get_base_model", None)) else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _float_logits(logits):
    """Half-precision logits are scored in float32; float32/float64 as they are."""
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


def check_device(device) -> torch.device:
    """``device`` as a ``torch.device`` that exists on this machine; ``ValueError`` naming it otherwise.

    Called before any model is loaded, so ``--device cuda`` on a machine
    without a GPU fails at once with one clear line.

    Example:
      >>> check_device("cpu")
      device(type='cpu')
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be a torch device such as 'cpu' or 'cuda:0'; got {device!r}"
        ) from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"device {str(device)!r} is not available: this machine has no CUDA GPU"
            )
        if dev.index is not None and dev.index >= count:
            raise ValueError(
                f"device {str(device)!r} is not available: this machine has {count} CUDA GPU(s)"
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {str(device)!r} is not available on this machine")
    return dev


_DTYPES = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float64": torch.float64,
}


def check_dtype(dtype) -> torch.dtype:
    """``None`` (float32), a ``torch.dtype`` or one of ``"float32"``, ``"bfloat16"``, ``"float16"``, ``"float64"``.

    Example:
      >>> check_dtype("bfloat16")
      torch.bfloat16
    """
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype) and dtype in _DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    raise ValueError(f"dtype must be one of {sorted(_DTYPES)}; got {dtype!r}")


def _inverse_cdf(log_probs, gen: np.random.Generator):
    """One token per row of ``log_probs [b, V]`` from one uniform ``u ∈ (0, 1]`` each: ``#{cdf < u}``.

    The NumPy policies' rule (``sample_tokens``): the same generator state gives
    the same tokens on both backends (up to a uniform landing within rounding
    of a CDF step). The CDF is normalised so its last entry is exactly 1.
    """
    cdf = torch.cumsum(log_probs.exp(), dim=-1)
    cdf = cdf / cdf[:, -1:]
    u = torch.as_tensor(1.0 - gen.random(log_probs.shape[0]), device=cdf.device, dtype=cdf.dtype)
    return (cdf < u[:, None]).sum(-1)


class Replay:
    """A stand-in generator for :meth:`CausalLMPolicy._generate`: its ``s``-th ``random(b)`` is column ``s`` of ``u [b, steps]``."""

    def __init__(self, u: np.ndarray):
        self.u, self.step = u, 0

    def random(self, size) -> np.ndarray:
        out = self.u[:, self.step]
        if out.shape != (size,):
            raise RuntimeError(f"replayed {out.shape[0]} uniforms where {size} were asked for")
        self.step += 1
        return out


def _context_length(model) -> int | None:
    """The model's context window (``max_position_embeddings`` / ``n_positions``), when it declares one."""
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions"):
        value = getattr(config, name, None)
        if isinstance(value, numbers.Integral) and int(value) > 0:
            return int(value)
    return None


def _eos_ids(model, tokenizer) -> list[int]:
    ids = []
    for source in (
        getattr(tokenizer, "eos_token_id", None),
        getattr(getattr(model, "generation_config", None), "eos_token_id", None),
    ):
        if source is None:
            continue
        ids.extend([source] if isinstance(source, numbers.Integral) else list(source))
    return sorted({int(i) for i in ids})


class CausalLMPolicy:
    """A causal LM seen as a policy over token sequences: ``log_prob`` and ``sample``.

    Args:
      model: a Hugging Face causal LM, or any ``torch.nn.Module`` called as
        ``model(input_ids, attention_mask=mask)`` returning logits ``[B, L, V]``
        (or an object with ``.logits``). Put in eval mode and moved to ``device``.
      tokenizer: a tokenizer with ``encode``/``decode`` and ``len()``; its
        vocabulary must fit the model's (``ValueError`` otherwise).
      device: ``None`` (the model's current device), a string or ``torch.device``.
      chat_template: format string prompts with the tokenizer's chat template
        (one user turn plus the generation prompt) when it has one.
      batch_size: sequences per forward pass in scoring and sampling.

    Example:
      >>> from sharpsim.torch import CausalLMPolicy, tiny_causal_lm
      >>> lm = tiny_causal_lm("gpt2", seed=0)
      >>> s = lm.sample(["1+1="], 2, max_new_tokens=4, rng=0)
      >>> len(s.texts), len(s.texts[0]), s.log_probs.shape
      (1, 2, (1, 2))
      >>> bool(np.allclose(lm.log_prob(["1+1="], [s.token_ids[0][1]]), s.log_probs[0, 1]))
      True
    """

    def __init__(
        self, model, tokenizer, *, device=None, chat_template=True, batch_size=DEFAULT_BATCH_SIZE
    ):
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        for attr in ("encode", "decode"):
            if not callable(getattr(tokenizer, attr, None)):
                raise TypeError(
                    f"tokenizer must have an {attr}() method; got {type(tokenizer).__name__}"
                )
        if device is None:
            param = next(iter(model.parameters()), None)
            device = param.device if param is not None else torch.device("cpu")
        self.device = check_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.chat_template = bool(chat_template)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self._hf = is_hf_model(model)
        self._cache_kw = _cache_keyword(model) if self._hf else None
        self.eos_token_ids = _eos_ids(model, tokenizer)
        pad = getattr(tokenizer, "pad_token_id", None)
        self.pad_token_id = int(
            pad if pad is not None else (self.eos_token_ids[0] if self.eos_token_ids else 0)
        )
        self.vocab_size = self._check_vocab(model, tokenizer)
        self.context_length = _context_length(model)

    @staticmethod
    def _check_vocab(model, tokenizer) -> int:
        n_tok = len(tokenizer)
        n_model = _model_vocab(model)
        if n_model is not None and n_tok > n_model:
            raise ValueError(
                f"tokenizer does not match the model: the tokenizer has {n_tok} tokens but the model's "
                f"embedding has only {n_model} rows"
            )
        return n_model if n_model is not None else n_tok

    @classmethod
    def from_pretrained(
        cls, path, *, device=None, dtype=None, chat_template=True, **kwargs
    ) -> CausalLMPolicy:
        """Load a local Hugging Face causal-LM folder (never downloads).

        Args:
          path: a folder holding ``config.json``, the weights and the tokenizer.
          device: as in the constructor.
          dtype: optional ``torch.dtype`` of the weights (default: float32).
          chat_template: as in the constructor.
          **kwargs: passed to both ``from_pretrained`` calls (e.g. ``gguf_file=``).

        Returns:
          :class:`CausalLMPolicy`.
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device, dtype = None if device is None else check_device(device), check_dtype(dtype)
        folder = Path(path)
        if not folder.is_dir():
            raise ValueError(
                f"path must be an existing local model folder; got {str(path)!r}, which does not exist"
            )
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype=dtype, **kwargs
        )
        return cls(model, tokenizer, device=device, chat_template=chat_template)

    # ------------------------------------------------------------ encoding
    def encode_prompt(self, prompt) -> list[int]:
        """Token ids of a prompt: a string (chat-formatted when enabled) or a list of ids as is."""
        if isinstance(prompt, str):
            template = getattr(self.tokenizer, "chat_template", None)
            if self.chat_template and template:
                prompt = self.tokenizer.apply_chat_template(
                    [{"role": "user", "content": prompt}],
                    tokenize=False,
                    add_generation_prompt=True,
                )
                return list(self.tokenizer.encode(prompt, add_special_tokens=False))
            return list(self.tokenizer.encode(prompt))
        return self._check_ids(prompt, "prompt")

    def encode_response(self, response) -> list[int]:
        """Token ids of a response: a string (no special tokens added) or a list of ids as is."""
        if isinstance(response, str):
            return list(self.tokenizer.encode(response, add_special_tokens=False))
        return self._check_ids(response, "response")

    def _check_ids(self, ids, name: str) -> list[int]:
        arr = np.asarray(ids)
        if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
            raise TypeError(
                f"each {name} must be a string or a 1-d list of token ids; got {type(ids).__name__} {arr.shape}"
            )
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(
                f"{name} token ids must be in [0, {self.vocab_size}); got {int(arr.max() if arr.max() >= self.vocab_size else arr.min())}"
            )
        return [int(i) for i in arr]

    def encode_prompts(self, prompts) -> list[list[int]]:
        """Validate a non-empty list of prompts and encode each (each must have >= 1 token)."""
        if isinstance(prompts, str) or not isinstance(prompts, (list, tuple)):
            raise TypeError(
                f"prompts must be a list of strings or token-id lists; got {type(prompts).__name__}"
            )
        if len(prompts) == 0:
            raise ValueError("prompts must be a non-empty list; got an empty one")
        encoded = [self.encode_prompt(p) for p in prompts]
        for i, ids in enumerate(encoded):
            if not ids:
                raise ValueError(
                    f"prompts[{i}] encodes to no tokens; every prompt needs at least one token"
                )
            if self.context_length is not None and len(ids) >= self.context_length:
                raise ValueError(
                    f"prompts[{i}] has {len(ids)} tokens; the model's context holds "
                    f"{self.context_length}, with room needed for the response"
                )
        return encoded

    def check_fits(self, prompt_ids, max_new_tokens: int) -> None:
        """``ValueError`` when the longest prompt plus ``max_new_tokens`` exceeds the model's context."""
        longest = max(len(p) for p in prompt_ids)
        if self.context_length is not None and longest + max_new_tokens > self.context_length:
            raise ValueError(
                f"a prompt of {longest} tokens plus max_new_tokens={max_new_tokens} exceeds the "
                f"model's context of {self.context_length} tokens"
            )

    def encode_responses(self, responses, k: int) -> list[list[int]]:
        if isinstance(responses, str) or not isinstance(responses, (list, tuple)):
            raise TypeError(
                f"responses must be a list (one per prompt) of strings or token-id lists; got {type(responses).__name__}"
            )
        if len(responses) != k:
            raise ValueError(
                f"responses must have one entry per prompt (len {k}); got {len(responses)}"
            )
        return [self.encode_response(r) for r in responses]

    def decode(self, ids) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    # ------------------------------------------------------------ forward
    def _forward(
        self, ids, mask, *, position_ids=None, past=None, use_cache=False
    ) -> tuple[Any, Any]:
        """Logits ``[B, L, V]`` (and the KV cache for Hugging Face models)."""
        if self._hf:
            out = self.model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=position_ids,
                use_cache=use_cache,
                **{self._cache_kw: past},
            )
            return out.logits, (getattr(out, self._cache_kw) if use_cache else None)
        out = self.model(ids, attention_mask=mask)
        logits = getattr(out, "logits", out)
        if logits.shape[-1] < self.vocab_size:
            raise ValueError(
                f"tokenizer does not match the model: the model returns {logits.shape[-1]} logits per position "
                f"but the tokenizer has {self.vocab_size} tokens"
            )
        return logits, None

    def _left_pad(self, prompt_ids):
        """Left-padded ``ids`` and attention ``mask``, long tensors ``[b, longest prompt]`` (on the CPU)."""
        b, Lp = len(prompt_ids), max(len(p) for p in prompt_ids)
        ids = torch.full((b, Lp), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((b, Lp), dtype=torch.long)
        for i, p in enumerate(prompt_ids):
            ids[i, Lp - len(p) :] = torch.tensor(p, dtype=torch.long)
            mask[i, Lp - len(p) :] = 1
        return ids, mask

    def sequence_log_probs(self, prompt_ids, response_ids) -> torch.Tensor:
        """Differentiable ``log π(y|x)``, float64 tensor ``[b]``, for encoded pairs (one forward pass).

        Right padding: every real token keeps the positions it has unpadded, and
        the causal mask keeps padding from influencing it.
        """
        logp, tokens, rows = self._response_log_softmax(prompt_ids, response_ids)
        terms = logp.gather(-1, tokens[:, None])[:, 0].double()
        return torch.zeros(len(prompt_ids), dtype=torch.float64, device=self.device).index_add(
            0, rows, terms
        )

    def _response_log_softmax(self, prompt_ids, response_ids):
        """Next-token log-softmax at each response position ``[n_targets, V]``, the tokens and their rows."""
        b = len(prompt_ids)
        lengths = [len(p) + len(r) for p, r in zip(prompt_ids, response_ids)]
        L = max(lengths)
        ids = torch.full((b, L), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((b, L), dtype=torch.long)
        target = torch.zeros((b, L), dtype=torch.bool)  # position t scores token t+1
        for i, (p, r) in enumerate(zip(prompt_ids, response_ids)):
            ids[i, : lengths[i]] = torch.tensor(p + r, dtype=torch.long)
            mask[i, : lengths[i]] = 1
            target[i, len(p) - 1 : lengths[i] - 1] = True
        ids, mask, target = ids.to(self.device), mask.to(self.device), target.to(self.device)
        logits, _ = self._forward(ids, mask)
        picked = logits[:, :-1][target[:, :-1]]  # [n_targets, V]: only response positions
        tokens = ids[:, 1:][target[:, :-1]]
        rows = torch.arange(b, device=self.device)[:, None].expand(b, L - 1)[target[:, :-1]]
        return torch.log_softmax(_float_logits(picked), dim=-1), tokens, rows

    def _score_at(self, P, R, temperature) -> tuple[np.ndarray, np.ndarray]:
        """``(log π(y|x), log π_T(y|x))``, float64 ``[k]`` each, one forward pass per batch.

        ``π_T`` is the model at token temperature ``T`` as :meth:`_generate` draws
        from it; ``temperature=None`` means 1 and returns the same array twice.
        """
        out = np.zeros((2, len(P)))
        order = np.argsort(
            [len(p) + len(r) for p, r in zip(P, R)], kind="stable"
        )  # batch by length
        with torch.inference_mode():
            for s in range(0, len(P), self.batch_size):
                rows = order[s : s + self.batch_size]
                logp, tokens, at = self._response_log_softmax(
                    [P[i] for i in rows], [R[i] for i in rows]
                )
                sums = torch.zeros((2, len(rows)), dtype=torch.float64, device=self.device)
                sums[0].index_add_(0, at, logp.gather(-1, tokens[:, None])[:, 0].double())
                if temperature is not None:
                    scaled = torch.log_softmax(
                        (logp - logp.max(-1, keepdim=True).values) / temperature, dim=-1
                    )
                    sums[1].index_add_(0, at, scaled.gather(-1, tokens[:, None])[:, 0].double())
                out[:, rows] = sums.cpu().numpy()
        return out[0], (out[0] if temperature is None else out[1])

    # ------------------------------------------------------------ public API
    def log_prob(self, prompts, responses) -> np.ndarray:
        """Sequence log-likelihood ``log π(y|x)`` summed over the response tokens.

        Args:
          prompts: ``k`` prompts (strings or token-id lists).
          responses: ``k`` responses, one per prompt (strings or token-id lists).

        Returns:
          float64 array ``[k]``; an empty response scores 0.
        """
        P = self.encode_prompts(prompts)
        R = self.encode_responses(responses, len(P))
        return self._score(P, R)

    def _score(self, P, R) -> np.ndarray:
        """``log π(y|x)`` float64 ``[k]`` of encoded pairs (similar lengths batched together)."""
        return self._score_at(P, R, None)[0]

    def sample(self, prompts, n, *, max_new_tokens, temperature=1.0, rng=None) -> SampledResponses:
        """Draw ``n`` responses per prompt at a token-level temperature, with their log-likelihoods.

        ``log_probs`` are the temperature-1 log-likelihoods of the generated
        tokens, gathered from the raw logits of the generation pass (no second
        pass): they equal :meth:`log_prob` of the same ids. A response stops at
        the first end-of-sequence token (included) or after ``max_new_tokens``.

        Args:
          prompts: ``k`` prompts.
          n: responses per prompt (``>= 1``).
          max_new_tokens: cap on the response length (``>= 1``).
          temperature: token-level temperature ``> 0`` of the sampler.
          rng: ``None``, an int seed or a ``numpy.random.Generator``. Every token is
            drawn by inverse CDF from one uniform of this generator: a
            ``[max_new_tokens, k·n]`` block drawn up front, position-major, rows
            in prompt-major order, exactly as the NumPy policies draw
            (``sharpsim.policies.autoregressive.sample_tokens``). So the same
            ``rng`` gives the same samples whatever the batch size or device
            (up to a uniform landing within rounding of a CDF step).

        Returns:
          :class:`SampledResponses` with ``texts``/``token_ids`` ``[k][n]`` and ``log_probs [k, n]``.
        """
        P = self.encode_prompts(prompts)
        n = check_int(n, "n", minimum=1)
        max_new_tokens = check_int(max_new_tokens, "max_new_tokens", minimum=1)
        temperature = check_real(temperature, "temperature", low=0.0, low_open=True)
        self.check_fits(P, max_new_tokens)
        rows = np.repeat(np.arange(len(P)), n)
        # One uniform per (step, row), drawn position-major up front: the draws do not depend on
        # the batch size, and they are those of the NumPy policies' ancestral sampler.
        uniforms = check_rng(rng).random((max_new_tokens, len(rows)))
        ids, lps, done = [], [], []
        for s in range(0, len(rows), self.batch_size):
            # Each distinct prompt of the chunk is encoded once; its KV cache is then shared by its n rows.
            distinct, expand = np.unique(rows[s : s + self.batch_size], return_inverse=True)
            replay = Replay(uniforms[:, s : s + self.batch_size].T)
            g = self._generate(
                [P[i] for i in distinct], max_new_tokens, temperature, replay, expand=expand
            )
            ids += g.token_ids
            lps += [t.sum() for t in g.log_probs]
            done.append(g.ended)
        k = len(P)
        token_ids = [ids[i * n : (i + 1) * n] for i in range(k)]
        texts = [[self.decode(t) for t in group] for group in token_ids]
        return SampledResponses(
            texts,
            token_ids,
            np.array(lps, dtype=float).reshape(k, n),
            np.concatenate(done).reshape(k, n),
        )

    @torch.inference_mode()
    def _generate(
        self, prompt_ids, max_new_tokens, temperature, gen, greedy=False, caps=None, expand=None
    ) -> _Generated:
        """Left-padded batched ancestral sampling with a KV cache (Hugging Face) or full recompute.

        ``expand [b]`` (optional) maps each generated row to its prompt in
        ``prompt_ids``: prompts are encoded once and their cache is repeated.
        ``caps [b]`` optionally stops row ``i`` after ``caps[i] <= max_new_tokens``
        tokens. ``gen`` is a ``numpy.random.Generator``: each step draws one
        uniform per row (finished rows included) and picks the token by
        inverse CDF of the tempered law. Returns per-token temperature-1 and
        tempered log-probs.
        """
        b = len(prompt_ids)
        ids, mask = self._left_pad(prompt_ids)
        ids, mask = ids.to(self.device), mask.to(self.device)
        pos = (mask.cumsum(-1) - 1).clamp(min=0) if self._hf else None
        rows = (
            None
            if expand is None
            else torch.as_tensor(np.asarray(expand), dtype=torch.long, device=self.device)
        )
        if rows is not None and not self._hf:  # no cache to share: expand before the first pass
            ids, mask, rows = ids[rows], mask[rows], None
        logits, past = self._forward(ids, mask, position_ids=pos, use_cache=self._hf)
        logits = logits[:, -1]
        if rows is not None:  # only with a Hugging Face model (see above): a cache and positions
            assert past is not None and pos is not None
            past.reorder_cache(rows)
            logits, mask, pos = logits[rows], mask[rows], pos[rows]
        b = logits.shape[0]
        cap = torch.as_tensor(
            caps if caps is not None else [max_new_tokens] * b, device=self.device
        )
        eos = torch.tensor(self.eos_token_ids or [-1], device=self.device)
        ended = torch.zeros(
            b, dtype=torch.bool, device=self.device
        )  # emitted an end-of-sequence token
        done = cap <= 0
        steps, terms, tempered = [], [], []
        for step in range(max_new_tokens):
            logp = torch.log_softmax(
                _float_logits(logits), dim=-1
            )  # raw logits: the temperature-1 model
            # Shift by the row max before dividing: a tiny temperature cannot overflow.
            scaled = torch.log_softmax(
                (logp - logp.max(-1, keepdim=True).values) / temperature, dim=-1
            )
            tok = logp.argmax(-1) if greedy else _inverse_cdf(scaled, gen)
            tok = torch.where(done, torch.full_like(tok, self.pad_token_id), tok)
            steps.append(torch.where(done, -1, tok))
            terms.append(logp.gather(-1, tok[:, None])[:, 0].double())
            tempered.append(scaled.gather(-1, tok[:, None])[:, 0].double())
            ended |= ~done & torch.isin(tok, eos)
            done = done | ended | (cap <= step + 1)
            if bool(done.all()):
                break
            mask = torch.cat(
                [mask, torch.ones((b, 1), dtype=mask.dtype, device=self.device)], dim=1
            )
            if self._hf:
                assert pos is not None
                pos = pos[:, -1:] + 1
                logits, past = self._forward(
                    tok[:, None], mask, position_ids=pos, past=past, use_cache=True
                )
            else:
                ids = torch.cat([ids, tok[:, None]], dim=1)
                logits, _ = self._forward(ids, mask)
            logits = logits[:, -1]
        grid = torch.stack(steps, dim=1).cpu().numpy()
        lp = torch.stack(terms, dim=1).cpu().numpy()
        lpt = torch.stack(tempered, dim=1).cpu().numpy()
        lengths = (grid >= 0).sum(axis=1)
        return _Generated(
            [grid[i, : lengths[i]].tolist() for i in range(b)],
            [lp[i, : lengths[i]] for i in range(b)],
            [lpt[i, : lengths[i]] for i in range(b)],
            ended.cpu().numpy(),
        )

    def decode_greedy(self, prompts, *, max_new_tokens, num_beams=1) -> DecodedResponses:
        """Greedy (``num_beams=1``) or beam-search responses through the model's own ``generate``.

        Hugging Face models use ``model.generate(do_sample=False, num_beams=...)``;
        other modules support greedy only (token-wise argmax). Log-likelihoods
        are recomputed with :meth:`log_prob`.

        Args:
          prompts: ``k`` prompts.
          max_new_tokens: cap on the response length (``>= 1``).
          num_beams: beam width (``>= 1``).

        Returns:
          :class:`DecodedResponses` ``[k]``.
        """
        P = self.encode_prompts(prompts)
        max_new_tokens = check_int(max_new_tokens, "max_new_tokens", minimum=1)
        num_beams = check_int(num_beams, "num_beams", minimum=1)
        if self._hf:
            ids = [
                self._hf_generate(P[s : s + self.batch_size], max_new_tokens, num_beams)
                for s in range(0, len(P), self.batch_size)
            ]
            ids = [r for chunk in ids for r in chunk]
        elif num_beams == 1:
            ids = []
            for s in range(0, len(P), self.batch_size):
                ids += self._generate(
                    P[s : s + self.batch_size], max_new_tokens, 1.0, None, greedy=True
                ).token_ids
        else:
            raise ValueError(
                f"num_beams={num_beams} > 1 needs a Hugging Face model with generate(); got {type(self.model).__name__}"
            )
        return DecodedResponses([self.decode(r) for r in ids], ids, self._score(P, ids))

    @torch.inference_mode()
    def _hf_generate(self, prompt_ids, max_new_tokens, num_beams):
        from transformers import GenerationConfig

        Lp = max(len(p) for p in prompt_ids)
        ids, mask = self._left_pad(prompt_ids)
        config = GenerationConfig(
            do_sample=False,
            num_beams=num_beams,
            max_new_tokens=max_new_tokens,
            eos_token_id=self.eos_token_ids or None,
            pad_token_id=self.pad_token_id,
        )
        out = self.model.generate(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            generation_config=config,
        )
        result = []
        for row in out[:, Lp:].cpu().tolist():
            cut = next((j + 1 for j, t in enumerate(row) if t in self.eos_token_ids), len(row))
            result.append(row[:cut])
        return result

    def __repr__(self) -> str:
        return f"CausalLMPolicy({type(self.model).__name__}, vocab_size={self.vocab_size}, device={self.device})"
