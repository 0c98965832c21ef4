"""The power sampler's Markov chain, exactly: its kernel, its law after k steps, its mixing (SPEC §11).

:func:`~sharpsim.power_sample_mcmc` is a Metropolis–Hastings chain on
``Y = V^H`` toward ``π^α/Z``: from ``y`` it picks a cut ``t`` uniformly from
the cut set ``T`` (every position, or the block boundaries ``0, B, 2B, ...``),
regenerates ``y_{t:}`` from the proposal ``q`` (``π`` at token temperature
``τ``; ``τ = 1/α`` in Karan & Du) and accepts with
``min(1, w(y')/w(y))``, ``w = π^α/q``. For ``|Y|`` small enough to enumerate
its transition matrix is explicit:

``K(y, y') = A(y, y') · (1/|T|) Σ_{t∈T, t ≤ c(y,y')} q(y'_{t:} | y_{<t})`` for ``y' ≠ y``,

with ``c(y, y')`` the length of the common prefix and
``A = min(1, w(y')/w(y))``; the rejected mass stays on the diagonal. ``K`` is
reversible with respect to ``π^α/Z`` (each fixed-``t`` move satisfies detailed
balance), so ``π^α K = π^α``; the law after ``k`` steps from the sampler's
start law ``ν`` is ``ν K^k``, and its total variation to ``π^α/Z``, the
spectral gap and the mixing time are exact (:mod:`.power_mixing`).

Built vectorised with the prefix structure: for each cut ``t`` the proposal is
one row repeated over each block of ``V^(H-t)`` sequences sharing ``y_{<t}``,
added on the diagonal blocks of a strided view; the acceptance is applied a
block of rows at a time. ``O(|Y|^2)`` time, one ``|Y|×|Y|`` array of memory.

Zero-probability states (``π(y) = 0``; never a start of the sampler) reject
every proposal: their rows are point masses, and they carry no mass under
``π^α`` or any start law.

References:
  Karan & Du, "Reasoning with Sampling: Your Base Model is Smarter Than You
  Think" (2025), Algorithm 1 (power sampling by suffix-resampling MH with a
  temperature-``1/α`` proposal); Levin, Peres & Wilmer, "Markov Chains and
  Mixing Times" (2nd ed.), Ch. 4 (TV, ``t_mix``) and Ch. 12 (spectral gap,
  the relaxation-time bound ``t_mix(ε) ≤ t_rel·log(1/(ε π_min))``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided
from scipy.special import logsumexp

from .._validation import check_int, check_real
from ..policies.autoregressive import temper
from ..policies.base import all_sequences, encode_sequences
from .decoding import _check_autoregressive
from .power import check_proposal_temperature, cut_points, growth_stages

#: Largest ``|Y| = V**H`` whose kernel is built (a ``|Y|×|Y|`` float array: 800 MB at 10⁴).
MAX_CHAIN_STATES = 10_000

#: Float entries per block of rows when applying the acceptance (bounds the temporaries).
_ROW_BLOCK_ELEMENTS = 1 << 21


def power_chain_kernel(
    policy,
    x: int,
    alpha: float,
    *,
    proposal_temperature: float = 1.0,
    block_size: int | None = None,
    max_states: int = MAX_CHAIN_STATES,
) -> np.ndarray:
    """Exact transition matrix ``K [|Y|, |Y|]`` of :func:`~sharpsim.power_sample_mcmc` for prompt ``x``.

    Rows and columns are the sequences in mixed-radix order
    (:func:`~sharpsim.decode_responses`); row ``y`` is the law of the chain's
    next state from ``y`` (see the module docstring for the formula). Rows sum
    to 1 and ``π^α(y) K(y,y') = π^α(y') K(y',y)``.

    Args:
      policy: an :class:`~sharpsim.AutoregressivePolicy` with ``V**H <= max_states``.
      x: one prompt (an int).
      alpha: ``α >= 1``.
      proposal_temperature: ``τ > 0``, the proposal's token temperature (``1/α``: Karan & Du).
      block_size: ``None`` (cut anywhere) or ``B >= 1`` (cut at ``0, B, 2B, ...``).
      max_states: refuse (``ValueError``) when ``V**H`` exceeds it.

    Returns:
      float array ``[V**H, V**H]``, row-stochastic.

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.1, 0.4, 0.3, 0.2]], 2, 2)
      >>> K = ss.power_chain_kernel(ar, 0, alpha=2.0, block_size=2)  # independence sampler
      >>> K.sum(axis=1).round(12).tolist()
      [1.0, 1.0, 1.0, 1.0]
      >>> target = ss.power_law(ar, 2.0).probs[0]
      >>> bool(abs(target @ K - target).max() < 1e-15)
      True
    """
    tok_p, tok_q, alpha, cuts = _chain_inputs(
        policy, x, alpha, proposal_temperature, block_size, max_states
    )
    return kernel_from_token_log_probs(tok_p, tok_q, alpha, policy.vocab_size, cuts)


def kernel_from_token_log_probs(tok_p, tok_q, alpha: float, vocab: int, cuts) -> np.ndarray:
    """``K`` from per-position token log-probs ``tok_p, tok_q [H, V**H]`` (validated inputs).

    ``tok_p[h, y] = log π_h(y_h | y_{<h})``, ``tok_q`` the same for ``q``;
    ``cuts`` is the cut set ``T`` (int array). See the module docstring.
    """
    kernel = proposal_matrix(tok_q, vocab, cuts)
    apply_acceptance(kernel, tok_p.sum(axis=0), tok_q.sum(axis=0), alpha)
    return kernel


def proposal_matrix(tok_q: np.ndarray, vocab: int, cuts) -> np.ndarray:
    """``S(y, y') = (1/|T|) Σ_{t∈T, t <= c(y,y')} q(y'_{t:} | y_{<t})`` ``[V**H, V**H]``: the proposal law."""
    horizon, n = tok_q.shape
    # suffix[t, y] = log q(y_{t:} | y_{<t}): sums of finite and -inf terms only, never NaN.
    suffix = np.cumsum(tok_q[::-1], axis=0)[::-1]
    matrix = np.zeros((n, n))
    for t in cuts:
        block = vocab ** (horizon - int(t))
        proposal = np.exp(suffix[t]).reshape(n // block, block) / len(cuts)
        _diagonal_blocks(matrix, block)[...] += proposal[:, None, :]
    return matrix


def _diagonal_blocks(square: np.ndarray, block: int) -> np.ndarray:
    """Writable view ``[n/block, block, block]`` of the diagonal blocks of ``square [n, n]``."""
    row, col = square.strides
    n = square.shape[0]
    return as_strided(
        square, shape=(n // block, block, block), strides=(block * (row + col), row, col)
    )


def apply_acceptance(kernel: np.ndarray, log_p: np.ndarray, log_q: np.ndarray, alpha: float):
    """In place: ``K(y,y') ← S(y,y')·A(y,y')``, and the rejected mass ``Σ S·(1-A)`` onto ``K(y,y)``.

    ``log A = min(0, α(log π(y') - log π(y)) - (log q(y') - log q(y)))`` from whole-sequence
    ``log_p, log_q [V**H]``.
    """
    n = kernel.shape[0]
    rows_per_block = max(1, _ROW_BLOCK_ELEMENTS // n)
    for lo in range(0, n, rows_per_block):
        rows = slice(lo, min(n, lo + rows_per_block))
        with np.errstate(invalid="ignore", over="ignore"):
            # log A = min(0, α(log π(y') - log π(y)) - (log q(y') - log q(y))), as the sampler.
            log_ratio = alpha * (log_p[None, :] - log_p[rows, None]) - (
                log_q[None, :] - log_q[rows, None]
            )
        log_ratio[np.isnan(log_ratio)] = -np.inf  # from a zero-probability state: reject
        np.minimum(log_ratio, 0.0, out=log_ratio)
        proposed = kernel[rows]
        rejected = np.einsum("ij,ij->i", proposed, -np.expm1(log_ratio))
        proposed *= np.exp(log_ratio)
        idx = np.arange(rows.start, rows.stop)
        kernel[idx, idx] += rejected


def _chain_inputs(policy, x, alpha, proposal_temperature, block_size, max_states):
    policy = _check_autoregressive(policy)
    x = int(policy._check_prompts(np.atleast_1d(_check_scalar_prompt(x)))[0])
    alpha = check_real(alpha, "alpha", low=1.0)
    tau = check_proposal_temperature(proposal_temperature)
    cuts = cut_points(policy.horizon, block_size)
    max_states = check_int(max_states, "max_states", minimum=1)
    if policy.n_responses > max_states:
        raise ValueError(
            f"the chain has V**H = {policy.vocab_size}**{policy.horizon} = {policy.n_responses} "
            f"states, more than max_states={max_states}; its kernel would take "
            f"{8 * policy.n_responses**2 / 1e9:.3g} GB"
        )
    tok_p = token_log_probs(policy, x, None)
    tok_q = tok_p if tau is None else token_log_probs(policy, x, tau)
    return tok_p, tok_q, alpha, cuts


def _check_scalar_prompt(x):
    if np.ndim(x) != 0:
        raise ValueError(f"x must be a single prompt (an int); got shape {np.shape(x)}")
    return x


def token_log_probs(policy, x: int, temperature: float | None) -> np.ndarray:
    """``[H, V**H]``: ``log q_h(y_h | y_{<h}, x)`` of every sequence ``y`` (mixed-radix order)."""
    vocab, horizon, n = policy.vocab_size, policy.horizon, policy.n_responses
    out = np.empty((horizon, n))
    for h in range(horizon):
        prefixes = all_sequences(vocab, h, max_sequences=n)
        step = temper(policy._next_log_probs(np.array([[x]]), prefixes[None]), temperature)
        out[h] = np.repeat(step.reshape(-1), vocab ** (horizon - h - 1))
    return out


def start_law(policy, x: int, init, tau: float | None) -> np.ndarray:
    """The sampler's start law ``ν [V**H]`` for ``init`` (``None``, ``"proposal"`` or one sequence)."""
    if init is None or (isinstance(init, str) and init == "proposal"):
        temperature = tau if isinstance(init, str) else None
        return np.exp(token_log_probs(policy, x, temperature).sum(axis=0))
    if isinstance(init, str):
        raise ValueError(f'init must be None, "proposal" or one sequence [H]; got {init!r}')
    seq = policy._check_sequences(init, "init")
    if seq.ndim != 1:
        raise ValueError(f"init must be one sequence of shape [H]; got shape {seq.shape}")
    if not np.isfinite(policy._sequence_log_probs(np.array(x), seq)):
        raise ValueError("init must have positive probability under the policy")
    law = np.zeros(policy.n_responses)
    law[int(encode_sequences(seq, policy.vocab_size))] = 1.0
    return law


def target_law(tok_p: np.ndarray, alpha: float) -> np.ndarray:
    """``π^α/Z [V**H]`` from the token log-probs, normalised in log space."""
    log_p = tok_p.sum(axis=0)
    # Shift before scaling: a huge α then sends only the non-modes to -inf (as power_law).
    with np.errstate(over="ignore"):
        scaled = alpha * (log_p - log_p.max())
    return np.exp(scaled - logsumexp(scaled))


def total_variation(laws: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``½ Σ_y |law(y) - target(y)|`` over the last axis."""
    return 0.5 * np.abs(laws - target).sum(axis=-1)


@dataclass(frozen=True)
class PowerChainLaw:
    """Output of :func:`power_chain_law` (one prompt).

    Attributes:
      steps: int ``[m]``, the step counts ``k``.
      laws: float ``[m, V**H]``, the exact law ``ν K^k`` of the chain after ``steps[i]`` steps.
      tv: float ``[m]``, total variation of each law to ``π^α/Z``.
      target: float ``[V**H]``, ``π^α/Z``.
      start: float ``[V**H]``, the start law ``ν``.
    """

    steps: np.ndarray
    laws: np.ndarray
    tv: np.ndarray
    target: np.ndarray
    start: np.ndarray


def power_chain_law(
    policy,
    x: int,
    alpha: float,
    steps,
    *,
    proposal_temperature: float = 1.0,
    block_size: int | None = None,
    init=None,
    growth_block: int | None = None,
    max_states: int = MAX_CHAIN_STATES,
) -> PowerChainLaw:
    """Exact law of :func:`~sharpsim.power_sample_mcmc`'s state after each of ``steps`` steps.

    ``ν K^k`` by repeated vector–matrix products (``max(steps)·|Y|²`` operations),
    ``ν`` the sampler's start law for the same ``init``; a chain run with
    ``n_steps = k`` has exactly the law ``laws[i]`` where ``steps[i] = k``.

    With ``growth_block = G`` it is the output law of Karan & Du's schedule
    (see :func:`~sharpsim.power_sample_mcmc`) with ``k`` MH steps per stage:
    stage by stage, the law of the prefix ``y_{<L}`` is extended by the next
    chunk's conditional law (the start rule's) and multiplied by ``K_L^k``,
    ``K_L`` the same chain on prefixes of length ``L`` targeting ``π_L^α``.

    Args:
      policy, x, alpha, proposal_temperature, block_size, max_states: as
        :func:`power_chain_kernel`.
      steps: int array ``[m]`` of step counts ``k >= 0`` (any order).
      init: ``None`` (start from ``π``, the sampler's default), ``"proposal"``
        (from ``q``) or one sequence ``[H]`` of positive probability (a point mass).
      growth_block: ``None`` or ``G >= 1``, as :func:`~sharpsim.power_sample_mcmc`
        (``init`` then ``None`` or ``"proposal"``).

    Returns:
      :class:`PowerChainLaw` (``start`` is the law with no MH step: ``k = 0``).

    Example:
      >>> import sharpsim as ss
      >>> ar = ss.JointAutoregressivePolicy([[0.1, 0.4, 0.3, 0.2]], 2, 2)
      >>> out = ss.power_chain_law(ar, 0, 4.0, [0, 1, 10, 100], proposal_temperature=0.25)
      >>> bool(out.tv[0] > out.tv[1] > out.tv[2] > out.tv[3]), bool(out.tv[-1] < 1e-12)
      (True, True)
    """
    tok_p, tok_q, alpha, cuts = _chain_inputs(
        policy, x, alpha, proposal_temperature, block_size, max_states
    )
    steps = np.asarray(steps)
    if steps.size == 0:
        steps = steps.astype(np.int64).reshape(0)
    if steps.ndim != 1 or not np.issubdtype(steps.dtype, np.integer) or np.any(steps < 0):
        raise ValueError(f"steps must be a 1-d array of integers >= 0; got {steps!r}")
    stages = growth_stages(policy.horizon, growth_block)
    if growth_block is not None and not (init is None or isinstance(init, str)):
        raise ValueError('with growth_block, init must be None or "proposal" (the chunks\' law)')
    tau = None if tok_q is tok_p else check_proposal_temperature(proposal_temperature)
    start = start_law(policy, int(x), init, tau)
    target = target_law(tok_p, alpha)
    laws = np.empty((steps.shape[0], start.shape[0]))
    if growth_block is None:
        kernel = kernel_from_token_log_probs(tok_p, tok_q, alpha, policy.vocab_size, cuts)
        law = start
        for k in range(int(steps.max(initial=-1)) + 1):
            laws[steps == k] = law
            law = law @ kernel
    else:
        chunks = tok_p if init is None else tok_q
        kernels = _stage_kernels(tok_p, tok_q, alpha, policy.vocab_size, cuts, stages)
        for i, k in enumerate(steps):
            laws[i] = _grown_law(chunks, kernels, stages, policy.vocab_size, int(k))
    return PowerChainLaw(steps, laws, total_variation(laws, target), target, start)


def _stage_kernels(tok_p, tok_q, alpha, vocab: int, cuts, stages) -> list[np.ndarray]:
    """``K_L`` for each stage length ``L``: the chain on prefixes ``y_{<L}`` toward ``π_L^α``."""
    horizon = tok_p.shape[0]
    kernels = []
    for length in stages:
        # Token h < L depends on y_{<=h} only: one column per prefix y_{<L} (its first extension).
        stride = vocab ** (horizon - length)
        kernels.append(
            kernel_from_token_log_probs(
                tok_p[:length, ::stride],
                tok_q[:length, ::stride],
                alpha,
                vocab,
                cuts[cuts < length],
            )
        )
    return kernels


def _grown_law(chunks, kernels, stages, vocab: int, k: int) -> np.ndarray:
    """Law of the grown sequence: extend by each chunk's conditional law, then ``k`` steps of ``K_L``."""
    horizon = chunks.shape[0]
    law, done = np.ones(1), 0
    for length, kernel in zip(stages, kernels):
        stride = vocab ** (horizon - length)
        chunk = chunks[done:length, ::stride].sum(axis=0)  # log law of y_{done:L} given y_{<done}
        law = np.repeat(law, vocab ** (length - done)) * np.exp(chunk)
        for _ in range(k):
            law = law @ kernel
        done = length
    return law
