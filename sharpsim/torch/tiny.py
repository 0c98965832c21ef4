"""Tiny randomly initialised causal LMs built from a config: offline test and example models.

A byte-level tokenizer (256 byte tokens plus ``<|endoftext|>`` as end-of-
sequence and padding token, no merges) and a GPT-2 or Llama model of a few
thousand parameters, both built in memory — nothing is downloaded.
"""

from __future__ import annotations

import torch

from .._validation import check_int

__all__ = ["tiny_causal_lm", "byte_tokenizer"]

EOS = "<|endoftext|>"


def byte_tokenizer(chat_template: str | None = None):
    """A ``PreTrainedTokenizerFast`` over the 256 bytes plus ``<|endoftext|>`` (id 256).

    Example:
      >>> tok = byte_tokenizer()
      >>> len(tok), tok.encode("hi"), tok.eos_token_id
      (257, [104, 105], 256)
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    byte_to_char = _bytes_to_unicode()
    vocab = {byte_to_char[b]: b for b in range(256)}
    assert set(vocab) == set(alphabet)
    vocab[EOS] = 256
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([EOS])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS)
    if chat_template is not None:
        fast.chat_template = chat_template
    return fast


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    extra = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    return dict(zip(bs, map(chr, cs)))


def tiny_causal_lm(
    arch: str = "gpt2",
    *,
    seed: int = 0,
    hidden: int = 32,
    layers: int = 2,
    dtype=torch.float64,
    chat_template: str | None = None,
):
    """A tiny random GPT-2 or Llama causal LM with the byte tokenizer, as a :class:`CausalLMPolicy`.

    Args:
      arch: ``"gpt2"`` or ``"llama"``.
      seed: torch seed of the random initialisation.
      hidden: hidden size (heads: 2).
      layers: number of transformer blocks.
      dtype: weight dtype (float64 by default, so identities hold to ~1e-12).
      chat_template: optional Jinja chat template for the tokenizer.

    Returns:
      :class:`~sharpsim.torch.CausalLMPolicy` on the CPU.

    Example:
      >>> lm = tiny_causal_lm("llama", seed=1)
      >>> lm.vocab_size
      257
    """
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    from .policy import CausalLMPolicy

    seed = check_int(seed, "seed", minimum=0)
    config: GPT2Config | LlamaConfig
    if arch == "gpt2":
        config = GPT2Config(
            vocab_size=257,
            n_positions=256,
            n_embd=hidden,
            n_layer=layers,
            n_head=2,
            bos_token_id=256,
            eos_token_id=256,
        )
    elif arch == "llama":
        config = LlamaConfig(
            vocab_size=257,
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=layers,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=256,
            bos_token_id=256,
            eos_token_id=256,
            pad_token_id=256,
        )
    else:
        raise ValueError(f"arch must be 'gpt2' or 'llama'; got {arch!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    return CausalLMPolicy(model, byte_tokenizer(chat_template), device="cpu")
