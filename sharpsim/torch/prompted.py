"""A causal LM over a fixed list of prompts: the core's policy protocol, so one algorithm runs on both backends.

The core algorithms (``sharpsim.best_of_n``, ``adaptive_best_of_n``,
``sft_sharpening``, ``dpo_sharpening``, ``xpo_sharpening``) see a policy as
``π(y|x)`` over prompt *indices* ``x ∈ {0..n_contexts-1}`` with responses as
integer arrays, reached through the sample-and-evaluate oracle
(Definition 3.2). :class:`PromptedLM` gives a :class:`CausalLMPolicy` that
shape: context ``x`` is ``prompts[x]``; a response is its token ids, an int64
row of length ``max_new_tokens`` padded with :data:`PAD` after its end (the
end-of-sequence token, when generated, is part of the response). It cannot be
enumerated (``enumerable = False``), so the core uses its faithful samplers
and refuses the exact-law shortcuts.

References:
  Huang et al., "Self-Improvement in Language Models: The Sharpening
  Mechanism", ICLR 2025: Definition 3.2.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_index_array, check_int, check_prompt_indices, check_real, check_rng
from .policy import CausalLMPolicy, Replay

__all__ = ["PAD", "PromptedLM"]

#: Filler after the end of a response in the padded ``[..., max_new_tokens]`` arrays.
PAD = -1


class PromptedLM:
    """``π(y | prompts[x])`` of a causal LM as a core policy over prompt indices.

    Args:
      lm: the :class:`~sharpsim.torch.CausalLMPolicy`.
      prompts: the ``n_contexts`` prompts (strings or token-id lists).
      max_new_tokens: the response length cap ``H`` (``>= 1``).
      temperature: token temperature of :meth:`sample` (``> 0``). Log-likelihoods
        are always those of the model itself (temperature 1): with ``T ≠ 1`` the
        oracle draws from the tempered sampler and reveals ``log π_base``.

    Attributes:
      n_contexts: number of prompts.
      response_ndim: 1 (a response is a token row).
      enumerable: False (``V**H`` responses cannot be tabulated).

    Example:
      >>> import sharpsim as ss
      >>> from sharpsim.torch import tiny_causal_lm
      >>> base = PromptedLM(tiny_causal_lm(seed=0), ["1+1=", "2+2="], max_new_tokens=3)
      >>> res = ss.best_of_n(base, [0, 1], 4, rng=0)
      >>> res.responses.shape, res.queries
      ((2, 3), 8)
    """

    response_ndim = 1
    enumerable = False

    def __init__(self, lm, prompts, *, max_new_tokens: int, temperature: float = 1.0):
        if not isinstance(lm, CausalLMPolicy):
            raise TypeError(f"lm must be a CausalLMPolicy; got {type(lm).__name__}")
        self.lm = lm
        self.prompt_ids = lm.encode_prompts(prompts)
        self.n_contexts = len(self.prompt_ids)
        self.max_new_tokens = check_int(max_new_tokens, "max_new_tokens", minimum=1)
        lm.check_fits(self.prompt_ids, self.max_new_tokens)
        self.temperature = check_real(temperature, "temperature", low=0.0, low_open=True)

    def with_lm(self, lm) -> PromptedLM:
        """The same prompts and sizes over another model (e.g. a trained copy)."""
        out = object.__new__(PromptedLM)
        out.__dict__.update(self.__dict__, lm=lm)
        return out

    # ------------------------------------------------------------ the protocol
    def sample_with_log_prob(self, x, n: int, rng=None):
        """``n`` responses per prompt in ``x [k]`` and their log-likelihoods, from one generation pass.

        Returns:
          ``(y, log_prob)``: int64 ``[k, n, max_new_tokens]`` (padded with :data:`PAD`) and float ``[k, n]``.
        """
        x = self._check_prompts(x)
        n = check_int(n, "n", minimum=0)
        if x.size == 0 or n == 0:
            return np.full((x.size, n, self.max_new_tokens), PAD, np.int64), np.zeros((x.size, n))
        drawn = self.lm.sample(
            [self.prompt_ids[i] for i in x],
            n,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            rng=check_rng(rng),
        )
        return self.pad(drawn.token_ids), drawn.log_probs

    def sample(self, x, n: int, rng=None) -> np.ndarray:
        """``n`` responses per prompt, int64 ``[k, n, max_new_tokens]`` (same draws as :meth:`sample_with_log_prob`)."""
        return self.sample_with_log_prob(x, n, rng)[0]

    def log_prob(self, x, y) -> np.ndarray:
        """``log π(y|prompts[x])`` for ``x`` broadcasting against ``y [..., max_new_tokens]``; float ``[...]``."""
        y = self._check_responses(y)
        x = check_index_array(x, "x", self.n_contexts)
        x = np.broadcast_to(x, y.shape[:-1]).ravel()
        rows = y.reshape(-1, y.shape[-1])
        scores = self.lm._score([self.prompt_ids[i] for i in x], self.unpad(rows))
        return scores.reshape(y.shape[:-1])

    # ------------------------------------------------------------ suffix protocol (power sampling)
    @property
    def horizon(self) -> int:
        """The row length ``H = max_new_tokens`` (the core's suffix protocol)."""
        return self.max_new_tokens

    def check_sequences(self, seqs, name: str = "seqs") -> np.ndarray:
        """Validated int64 responses ``[..., H]``: token ids in ``[0, V)``, then :data:`PAD` only
        right after an end-of-sequence token (which ends the row) or nowhere."""
        seqs = np.asarray(seqs)
        if not np.issubdtype(seqs.dtype, np.integer) or seqs.ndim < 1:
            raise ValueError(
                f"{name} must be an integer array [..., H]; got {seqs.dtype} {seqs.shape}"
            )
        if seqs.shape[-1] != self.horizon:
            raise ValueError(
                f"{name} must have shape [..., horizon={self.horizon}]; got {seqs.shape}"
            )
        seqs = seqs.astype(np.int64)
        rows = seqs.reshape(-1, self.horizon)
        is_eos = np.isin(rows, self.lm.eos_token_ids)
        after_end: np.ndarray = np.cumsum(is_eos, axis=1) - is_eos
        if np.any((rows == PAD) != (after_end > 0)):
            raise ValueError(
                f"{name} rows must be token ids, with {PAD} (PAD) exactly at the positions after "
                "an end-of-sequence token"
            )
        if np.any(rows[rows != PAD] < 0) or np.any(rows >= self.lm.vocab_size):
            raise ValueError(f"{name} token ids must be in [0, {self.lm.vocab_size}) or {PAD}")
        return seqs

    def redraw(self, x, seqs, start, stop: int, rng, temperature=None) -> np.ndarray:
        """Regenerate ``seqs[i, start[i]:stop]`` (in place) given ``prompts[x[i]] + seqs[i, :start[i]]``.

        Batched through :meth:`CausalLMPolicy._generate <sharpsim.torch.CausalLMPolicy>`
        (KV cache) with ``caps = stop - start``; a new part that ends early is
        padded with :data:`PAD` up to ``stop``. A row whose prefix already holds an
        end-of-sequence token is left ended (``PAD`` up to ``stop``). The
        uniforms come from ``rng`` as the NumPy policies draw them: position by
        position, one per row with ``start[i] <= h < stop``, whether or not the
        row has ended, so a wrapped NumPy policy draws the same tokens.
        """
        start = np.asarray(start)
        uniforms = _position_major_uniforms(start, stop, rng)
        prefix_len = int(start.max(initial=0))
        eos = np.isin(seqs[:, :prefix_len], self.lm.eos_token_ids)
        ended = (eos & (np.arange(prefix_len) < start[:, None])).any(axis=1)
        todo = np.flatnonzero(~ended & (start < stop))
        for rows in np.array_split(todo, -(-todo.size // self.lm.batch_size) or 1):
            if rows.size:
                self._redraw_rows(x, seqs, start, stop, rows, uniforms, temperature)
        for i in np.flatnonzero(ended):
            seqs[i, start[i] : stop] = PAD
        return seqs

    def _redraw_rows(self, x, seqs, start, stop, rows, uniforms, temperature) -> None:
        caps = stop - start[rows]
        steps = start[rows, None] + np.arange(caps.max())
        u = np.take_along_axis(uniforms[rows], np.minimum(steps, stop - 1), axis=1)
        g = self.lm._generate(
            [self.prompt_ids[x[i]] + seqs[i, : start[i]].tolist() for i in rows],
            int(caps.max()),
            1.0 if temperature is None else temperature,
            Replay(u),
            caps=caps.tolist(),
        )
        for i, tokens in zip(rows, g.token_ids):
            seqs[i, start[i] : stop] = PAD
            seqs[i, start[i] : start[i] + len(tokens)] = tokens

    def prefix_log_probs(self, x, seqs, stop: int, temperature=None):
        """``(log π, log π_T)`` of the first ``stop`` tokens of each row (up to :data:`PAD`), float ``[n]`` each.

        One forward pass per batch scores both (:meth:`CausalLMPolicy._score_at`).
        """
        prompts = [self.prompt_ids[i] for i in np.asarray(x)]
        return self.lm._score_at(prompts, self.unpad(seqs[:, :stop]), temperature)

    # ------------------------------------------------------------ conversions
    def pad(self, token_ids) -> np.ndarray:
        """Nested lists ``[k][n]`` of token-id lists → int64 ``[k, n, max_new_tokens]`` padded with :data:`PAD`."""
        k, n = len(token_ids), len(token_ids[0]) if token_ids else 0
        out = np.full((k, n, self.max_new_tokens), PAD, dtype=np.int64)
        for i, group in enumerate(token_ids):
            for j, ids in enumerate(group):
                if len(ids) > self.max_new_tokens:
                    raise ValueError(
                        f"a response has {len(ids)} tokens, more than max_new_tokens={self.max_new_tokens}"
                    )
                out[i, j, : len(ids)] = ids
        return out

    @staticmethod
    def unpad(rows) -> list[list[int]]:
        """Token-id lists of padded rows ``[m, H]`` (everything from the first :data:`PAD` dropped)."""
        rows = np.asarray(rows)
        lengths = np.where((rows == PAD).any(-1), (rows == PAD).argmax(-1), rows.shape[-1])
        return [r[:n].tolist() for r, n in zip(rows, lengths)]

    def texts(self, y) -> np.ndarray:
        """Decoded responses of ``y [..., max_new_tokens]``, an object array ``[...]`` of strings."""
        y = self._check_responses(y)
        flat = [self.lm.decode(ids) for ids in self.unpad(y.reshape(-1, y.shape[-1]))]
        return np.array(flat, dtype=object).reshape(y.shape[:-1])

    # ------------------------------------------------------------ checks
    def _check_prompts(self, x) -> np.ndarray:
        return check_prompt_indices(x, self.n_contexts)

    def _check_responses(self, y) -> np.ndarray:
        y = np.asarray(y)
        if (
            y.ndim < 1
            or y.shape[-1] != self.max_new_tokens
            or not np.issubdtype(y.dtype, np.integer)
        ):
            raise ValueError(
                f"y must be integer token rows [..., max_new_tokens={self.max_new_tokens}]; got "
                f"{y.dtype} {y.shape}"
            )
        return y

    def __repr__(self) -> str:
        return (
            f"PromptedLM({self.lm!r}, n_contexts={self.n_contexts}, "
            f"max_new_tokens={self.max_new_tokens})"
        )


def _position_major_uniforms(start, stop: int, rng) -> np.ndarray:
    """``[n, stop]`` uniforms of ``rng`` for the cells ``start[i] <= h < stop``, drawn position by position.

    The order of :meth:`sharpsim.AutoregressivePolicy.redraw` (``h`` outer, rows
    inner); other cells hold 1.
    """
    cells = np.arange(stop) >= start[:, None]
    out = np.ones((start.shape[0], stop))
    out.T[cells.T] = rng.random(int(cells.sum()))
    return out
