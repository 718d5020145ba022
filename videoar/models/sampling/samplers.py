"""Sampling labels from logits: temperature, top-k and top-p, on whole tensors.

Both label kinds use the same code: bits are 2-way choices (logits ``(..., num_bits, 2)``),
codebook indices are ``V``-way choices (logits ``(..., V)``). Sampling uses the Gumbel-max trick
with noise drawn from an explicit ``torch.Generator``, so a seed fixes the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from videoar.utils import ConfigError


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Mask (set to ``-inf``) the logits outside the top-k / nucleus set, over the last axis.

    Args:
        logits: ``(..., V)``.
        top_k: keep the ``k`` largest logits (``0`` or ``>= V``: keep all).
        top_p: keep the smallest set of largest-probability entries whose mass reaches
            ``top_p`` (``1.0``: keep all). The most likely entry is always kept.

    Returns:
        ``(..., V)`` float32 logits.
    """
    logits = logits.float()
    num_choices = logits.shape[-1]
    if 0 < top_k < num_choices:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float('-inf'))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        mass_before = probs.cumsum(dim=-1) - probs  # mass of strictly more likely entries
        remove_sorted = mass_before >= top_p
        remove_sorted[..., 0] = False
        remove = torch.zeros_like(remove_sorted).scatter(-1, order, remove_sorted)
        logits = logits.masked_fill(remove, float('-inf'))
    return logits


def sample_logits(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one choice per row of ``logits (..., V)``; returns long ``(...)``.

    ``temperature == 0`` gives the argmax (greedy). Gumbel noise comes from ``generator``
    (created on the logits' device when given for another device, the draw is made there and
    moved).
    """
    if temperature < 0:
        raise ValueError(f'temperature must be >= 0, got {temperature}.')
    logits = filter_logits(logits, top_k, top_p)
    if temperature == 0:
        return logits.argmax(dim=-1)
    gen_device = generator.device if generator is not None else logits.device
    uniform = torch.rand(logits.shape, generator=generator, device=gen_device).to(logits.device)
    gumbel = -torch.log(-torch.log(uniform.clamp_(1e-20, 1.0 - 1e-7)))
    return (logits / temperature + gumbel).argmax(dim=-1)


@dataclass
class LabelSampler:
    """Temperature / top-k / top-p settings for one label kind.

    Args:
        label_kind: ``'bits'`` (logits ``(..., num_bits, 2)`` -> labels ``(..., num_bits)``, each
            bit drawn independently as Infinity does) or ``'index'`` (logits ``(..., V)`` ->
            labels ``(...)``).
        temperature: softmax temperature (0: greedy).
        top_k: top-k filter per bit/token (for bits only ``top_k = 1`` changes anything).
        top_p: nucleus filter per bit/token.
    """

    label_kind: str = 'bits'
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.label_kind not in ('bits', 'index'):
            raise ConfigError(f"label_kind must be 'bits' or 'index', got {self.label_kind!r}.")
        if self.temperature < 0:
            raise ConfigError(f'temperature must be >= 0, got {self.temperature}.')
        if self.top_k < 0:
            raise ConfigError(f'top_k must be >= 0 (0 = off), got {self.top_k}.')
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f'top_p must be in (0, 1] (1 = off), got {self.top_p}.')

    def __call__(
        self, logits: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Sample labels from logits (shapes in the class docstring)."""
        if self.label_kind == 'bits' and logits.shape[-1] != 2:
            raise ValueError(f'bit logits need a trailing axis of 2, got {tuple(logits.shape)}.')
        return sample_logits(logits, self.temperature, self.top_k, self.top_p, generator)


def sample_bits(logits, temperature=1.0, top_k=0, top_p=1.0, generator=None) -> torch.Tensor:
    """Per-bit sampling: ``(..., num_bits, 2) -> (..., num_bits)`` long in {0, 1}."""
    return LabelSampler('bits', temperature, top_k, top_p)(logits, generator)


def sample_tokens(logits, temperature=1.0, top_k=0, top_p=1.0, generator=None) -> torch.Tensor:
    """Per-token sampling: ``(..., V) -> (...)`` long codebook indices."""
    return LabelSampler('index', temperature, top_k, top_p)(logits, generator)
