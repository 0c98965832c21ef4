"""``as_causal_lm``: a NumPy autoregressive policy as a torch causal LM, so one algorithm runs on both backends.

Token layout of the wrapped model (vocabulary ``V + X + 1``):

* ``0..V-1`` the response tokens of the NumPy policy;
* ``V + x`` the prompt ``x`` (a prompt is the single token ``[V + x]``);
* ``V + X`` end of sequence, emitted with probability 1 after ``H`` response
  tokens, so ``log π_torch(y + [EOS] | x) = log π_numpy(y | x)`` exactly.

The next-token laws are stored as trainable logits, one row per (prompt,
prefix), initialised at the NumPy policy's log-probabilities, so training
through the torch backend fits the same model class as the core's
``PrefixTreeClass`` (every law over ``V^H``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..policies.autoregressive import AutoregressivePolicy
from ..policies.base import all_sequences
from .policy import CausalLMPolicy

__all__ = ["as_causal_lm", "SequenceTokenizer", "ARPolicyModule", "WrappedPolicy"]

#: Stand-in for log 0 in the trainable logits (exp underflows to exactly 0 in float64).
LOG_ZERO = -1e4


class SequenceTokenizer:
    """A trivial tokenizer: response tokens written as space-separated integers.

    Example:
      >>> tok = SequenceTokenizer(vocab_size=3, n_contexts=2)
      >>> tok.encode("2 0 1"), tok.decode([2, 0, 1, 5], skip_special_tokens=True), len(tok), tok.eos_token_id
      ([2, 0, 1], '2 0 1', 6, 5)
    """

    chat_template = None

    def __init__(self, vocab_size: int, n_contexts: int):
        self.vocab_size, self.n_contexts = int(vocab_size), int(n_contexts)
        self.eos_token_id = self.pad_token_id = self.vocab_size + self.n_contexts

    def __len__(self) -> int:
        return self.vocab_size + self.n_contexts + 1

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids = [int(t) for t in text.split()]
        bad = [t for t in ids if not 0 <= t < self.vocab_size]
        if bad:
            raise ValueError(
                f"text must hold response tokens in [0, {self.vocab_size}); got {bad[0]}"
            )
        return ids

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        ids = [int(t) for t in ids if not (skip_special_tokens and t >= self.vocab_size)]
        return " ".join(str(t) for t in ids)


class ARPolicyModule(torch.nn.Module):
    """Torch module computing the wrapped policy's next-token logits ``[B, L, V + X + 1]``."""

    def __init__(self, policy: AutoregressivePolicy):
        super().__init__()
        if not isinstance(policy, AutoregressivePolicy):
            raise TypeError(
                f"policy must be a sharpsim AutoregressivePolicy (e.g. MarkovPolicy); got {type(policy).__name__}"
            )
        self.V, self.X, self.H = policy.vocab_size, policy.n_contexts, policy.horizon
        x = np.arange(self.X)[:, None]
        laws = [policy._next_log_probs(x, all_sequences(self.V, h)[None]) for h in range(self.H)]
        self.logits = torch.nn.ParameterList(
            torch.nn.Parameter(torch.tensor(np.maximum(t, LOG_ZERO), dtype=torch.float64))
            for t in laws
        )

    def next_token_log_probs(self) -> list[np.ndarray]:
        """The current laws ``[X, states, V]`` per position (normalised), as NumPy arrays."""
        return [torch.log_softmax(t.detach(), -1).numpy() for t in self.logits]

    def forward(self, input_ids, attention_mask=None):
        ids = input_ids
        mask = torch.ones_like(ids) if attention_mask is None else attention_mask
        B, L = ids.shape
        n_real = mask.cumsum(-1)  # real tokens up to and including each position
        first = mask.argmax(-1)
        x = (ids.gather(1, first[:, None])[:, 0] - self.V).clamp(0, self.X - 1)
        out = torch.full(
            (B, L, self.V + self.X + 1), LOG_ZERO, dtype=torch.float64, device=ids.device
        )
        out[..., self.V + self.X] = 0.0  # default: end of sequence
        tok = ids.clamp(0, self.V - 1)
        code = torch.zeros(B, dtype=torch.long, device=ids.device)
        for j in range(L):
            h = n_real[:, j] - 1  # response tokens seen at position j
            if j > 0:
                is_resp = (mask[:, j] == 1) & (h >= 1)
                code = torch.where(is_resp, code * self.V + tok[:, j], code)
            for hh in range(self.H):
                rows = (h == hh) & (mask[:, j] == 1)
                if not bool(rows.any()):
                    continue
                state = torch.zeros_like(code) if hh == 0 else code
                laws = torch.log_softmax(self.logits[hh][x[rows], state[rows]], -1)
                row_out = torch.full(
                    (int(rows.sum()), self.V + self.X + 1),
                    LOG_ZERO,
                    dtype=torch.float64,
                    device=ids.device,
                )
                row_out[:, : self.V] = laws
                out[rows, j] = row_out
        return out


class WrappedPolicy(CausalLMPolicy):
    """:class:`CausalLMPolicy` over a wrapped NumPy policy, with converters to and from its integer encoding."""

    def prompts(self, x) -> list[list[int]]:
        """Prompt token lists ``[[V + x_i]]`` for an int array ``x [k]``."""
        return [[self.model.V + int(i)] for i in np.asarray(x).ravel()]

    def responses(self, seqs) -> list[list[int]]:
        """Response token lists (``H`` tokens + EOS) for sequences ``[k, H]``."""
        eos = self.model.V + self.model.X
        return [list(map(int, s)) + [eos] for s in np.asarray(seqs).reshape(-1, self.model.H)]

    def sequences(self, token_ids) -> np.ndarray:
        """Int array ``[..., H]`` of the response tokens (EOS dropped) from nested token-id lists."""
        flat = [[t for t in r if t < self.model.V] for r in _leaves(token_ids)]
        if any(len(r) != self.model.H for r in flat):
            raise ValueError(f"every response must have horizon={self.model.H} tokens before EOS")
        shape = _outer_shape(token_ids)
        return np.array(flat, dtype=np.int64).reshape(shape + (self.model.H,))

    def to_numpy(self):
        """The current (possibly trained) model as a NumPy :class:`~sharpsim.JointAutoregressivePolicy`."""
        from ..policies.autoregressive import JointAutoregressivePolicy

        laws = [np.exp(t) for t in self.model.next_token_log_probs()]
        # exact zeros only (rows were normalised in log space)
        laws = [np.where(t < np.exp(LOG_ZERO / 2), 0.0, t) for t in laws]
        joint = laws[0][:, 0, :]
        for h in range(1, self.model.H):
            joint = (joint[:, :, None] * laws[h]).reshape(self.model.X, -1)
        return JointAutoregressivePolicy(
            joint / joint.sum(-1, keepdims=True), self.model.V, self.model.H
        )


def _leaves(nested):
    if (
        nested
        and isinstance(nested[0], (list, tuple))
        and nested[0]
        and isinstance(nested[0][0], (list, tuple))
    ):
        return [r for group in nested for r in _leaves(group)]
    return list(nested)


def _outer_shape(nested) -> tuple:
    if (
        nested
        and isinstance(nested[0], (list, tuple))
        and nested[0]
        and isinstance(nested[0][0], (list, tuple))
    ):
        return (len(nested),) + _outer_shape(nested[0])
    return (len(nested),)


def as_causal_lm(ar_policy, *, device="cpu") -> WrappedPolicy:
    """Wrap a NumPy :class:`~sharpsim.MarkovPolicy` / :class:`~sharpsim.JointAutoregressivePolicy` as a torch causal LM.

    Args:
      ar_policy: any :class:`~sharpsim.AutoregressivePolicy`, tabulated per
        prefix (``X · V**H`` entries: small worlds only).
      device: torch device.

    Returns:
      :class:`WrappedPolicy` (a :class:`CausalLMPolicy`) with ``log π(y + [EOS] | [V + x]) = ar_policy.log_prob(x, y)``.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.MarkovPolicy([[0.6, 0.4]], [[[[0.5, 0.5], [0.0, 1.0]]]])
      >>> lm = as_causal_lm(ar)
      >>> float(lm.log_prob(lm.prompts([0]), lm.responses([[1, 1]]))[0].round(4))
      -0.9163
    """
    module = ARPolicyModule(ar_policy)
    return WrappedPolicy(
        module, SequenceTokenizer(module.V, module.X), device=device, chat_template=False
    )
