"""The interface every multi-scale residual quantizer implements.

A quantizer works on single latent frames ``(N, d, h, w)`` (fold the time axis into the batch
with ``rearrange(latent, 'b d t h w -> (b t) d h w')``): each latent frame is quantized
independently (as in the VideoAR paper). Over a scale schedule ``scale_sizes = [(h_1, w_1), ..., (h_K, w_K)]``
with ``(h_K, w_K) = (h, w)`` it produces a residual pyramid:

    cum = 0
    for k in 1..K:
        r_k     = down(latent - cum, (h_k, w_k))          # the residual at scale k
        codes_k, labels_k = quantize_scale(r_k, k)        # (N, d, h_k, w_k), labels of scale k
        cum    += codes_to_residual(codes_k, k)           # back to (N, d, h, w)

Labels are bits ``(N, h_k, w_k, num_bits)`` (``label_kind == 'bits'``, long in {0, 1}) or
codebook indices ``(N, h_k, w_k)`` (``label_kind == 'index'``, long).

The autoregressive model only uses this interface, through the residual pyramid of
:mod:`videoar.models.sequence.pyramid`: ``quantize_residual`` to get the labels of a scale,
``labels_to_codes`` and ``codes_to_residual`` to turn (sampled) labels into latent, and
``resize_input_to_scale`` to build the input of the next scale.

Two down-samplings, two modes: ``down_mode`` shrinks the residual that scale ``k`` quantizes
(it defines the labels; 'area' as VAR and Infinity), ``input_down_mode`` shrinks the running sum
into the AR model's input of scale ``k`` (it never changes a label; 'bilinear', the paper's
Eq. 2 / Eq. 6). The tokenizer never uses ``input_down_mode``; the AR model's config sets it with
``model.quantizer.input_down_mode``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from videoar.utils import check_choice, check_scale_sizes

DOWN_MODES = ('area', 'bilinear', 'bicubic', 'nearest')
UP_MODES = ('bilinear', 'bicubic', 'nearest', 'trilinear')


@dataclass
class QuantizerOutput:
    """Result of quantizing ``N`` latent frames.

    Attributes:
        quantized: ``(N, d, h, w)`` sum of all scales' contributions, with a straight-through
            estimator in training (gradients reach the encoder as if quantization were identity).
        labels: K tensors, ``(N, h_k, w_k, num_bits)`` (bits) or ``(N, h_k, w_k)`` (index).
        codes: K tensors ``(N, d, h_k, w_k)``: the dequantized code map of each scale.
        losses: named scalar losses (e.g. ``loss_commit``, ``loss_entropy``), already weighted.
        stats: named floats for logging (e.g. per-scale codebook or bit usage).
    """

    quantized: torch.Tensor
    labels: list[torch.Tensor]
    codes: list[torch.Tensor]
    losses: dict[str, torch.Tensor] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)


class MultiScaleQuantizer(nn.Module):
    """Base class: the shared residual loop and resizing; subclasses quantize one scale.

    Args:
        embed_dim: latent channels ``d``.
        scale_sizes: ``[(h_1, w_1), ..., (h_K, w_K)]``, non-decreasing, last = latent size.
        down_mode: interpolation used to shrink residuals to a scale before quantizing them
            ('area', as VAR and Infinity).
        up_mode: interpolation used to grow maps to the latent size ('bilinear', the paper's;
            VAR uses 'bicubic'; 'trilinear', Infinity's name, is accepted as a synonym of
            'bilinear' for per-frame 2D maps).
        input_down_mode: interpolation used to shrink the running sum into the AR model's input
            of a scale (``resize_input_to_scale``; 'bilinear', the paper's Eq. 2 / Eq. 6 and, as
            'trilinear' on single frames, Infinity's; VAR uses 'area').
    """

    label_kind: str = ''
    #: names of parameters/buffers whose first axis runs over the K scales (adapted on load)
    per_scale_keys: tuple[str, ...] = ()

    def __init__(
        self,
        embed_dim: int,
        scale_sizes,
        down_mode: str = 'area',
        up_mode: str = 'bilinear',
        input_down_mode: str = 'bilinear',
    ) -> None:
        super().__init__()
        check_choice(down_mode, DOWN_MODES, 'down_mode')
        check_choice(up_mode, UP_MODES, 'up_mode')
        check_choice(input_down_mode, DOWN_MODES + ('trilinear',), 'input_down_mode')
        self.embed_dim = int(embed_dim)
        self.scale_sizes: list[tuple[int, int]] = check_scale_sizes(scale_sizes)
        self.down_mode = down_mode
        self.up_mode = 'bilinear' if up_mode == 'trilinear' else up_mode
        self.input_down_mode = 'bilinear' if input_down_mode == 'trilinear' else input_down_mode
        # the schedule travels with the weights, so a checkpoint can be loaded under another one
        self.register_buffer('scale_schedule', torch.tensor(self.scale_sizes, dtype=torch.long))

    def adapt_state_dict(self, prefix: str, state_dict: dict) -> None:
        """Map per-scale tensors saved under another scale schedule onto this one, in place.

        The weight-adaptation protocol of :mod:`videoar.utils.state_dict` (curriculum stages at
        other resolutions). Each scale of this schedule takes the saved scale of the same size,
        else the one at the closest relative size ``log(h_k / h_K)``; without a saved schedule
        (checkpoints from before it was stored), scale ``k`` takes saved scale
        ``min(k, K_saved - 1)``. Idempotent: adapted entries carry this schedule.
        """
        saved = state_dict.get(prefix + 'scale_schedule')
        # from the Python list: the buffer has no data when the model is built on the meta device
        mine = torch.tensor(self.scale_sizes, dtype=torch.long, device='cpu')
        lengths = {
            state_dict[prefix + n].shape[0] for n in self.per_scale_keys if prefix + n in state_dict
        }
        if (saved is not None and not torch.equal(saved.cpu(), mine)) or (
            saved is None and lengths and lengths != {self.num_scales}
        ):
            index = self._schedule_mapping(saved, next(iter(lengths)) if lengths else None)
            for name in self.per_scale_keys:
                if prefix + name in state_dict:
                    state_dict[prefix + name] = state_dict[prefix + name][index]
            state_dict[prefix + 'scale_schedule'] = mine
        elif saved is None:
            state_dict[prefix + 'scale_schedule'] = mine  # checkpoints from before

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Torch's plain ``load_state_dict`` adapts through :meth:`adapt_state_dict` too."""
        self.adapt_state_dict(prefix, state_dict)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _schedule_mapping(self, saved, saved_len) -> torch.Tensor:
        if saved is None:
            return torch.tensor([min(k, saved_len - 1) for k in range(self.num_scales)])
        saved_sizes = [tuple(int(v) for v in row) for row in saved.tolist()]
        rel_saved = torch.tensor([math.log(h / saved_sizes[-1][0]) for h, _ in saved_sizes])
        index = []
        for h, w in self.scale_sizes:
            if (h, w) in saved_sizes:
                index.append(saved_sizes.index((h, w)))
            else:
                rel = math.log(h / self.latent_size[0])
                index.append(int((rel_saved - rel).abs().argmin()))
        return torch.tensor(index)

    # ---- sizes ---------------------------------------------------------------------------
    @property
    def num_scales(self) -> int:
        return len(self.scale_sizes)

    @property
    def latent_size(self) -> tuple[int, int]:
        return self.scale_sizes[-1]

    @property
    def label_space_size(self) -> int:
        """Size of the label space of one token (``2**num_bits`` or the codebook size)."""
        raise NotImplementedError

    @property
    def logits_per_token(self) -> int:
        """Number of logits the transformer head must output per token."""
        raise NotImplementedError

    @property
    def label_shape(self) -> tuple[int, ...]:
        """Trailing label shape per token: ``(num_bits,)`` for bits, ``()`` for indices."""
        raise NotImplementedError

    def check_latent_size(self, latent_size) -> None:
        """Raise a ConfigError if the schedule does not end at the tokenizer's latent size."""
        check_scale_sizes(self.scale_sizes, tuple(latent_size))

    # ---- resizing ------------------------------------------------------------------------
    def _resize(self, x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        kwargs = {} if mode in ('area', 'nearest') else {'align_corners': False}
        return F.interpolate(x, size=size, mode=mode, **kwargs)

    def downsample(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """``(N, d, H, W) -> (N, d, *size)`` with the down mode."""
        return self._resize(x, size, self.down_mode)

    def upsample(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """``(N, d, h_k, w_k) -> (N, d, *size)`` (default: latent size) with the up mode."""
        return self._resize(x, size or self.latent_size, self.up_mode)

    def resize_to_scale(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Resize a latent-sized residual ``(N, d, h, w)`` to scale ``k`` (0-based) with the
        down mode (what scale ``k`` quantizes)."""
        size = self.scale_sizes[k]
        if size[0] <= x.shape[-2] and size[1] <= x.shape[-1]:
            return self.downsample(x, size)
        return self.upsample(x, size)

    def resize_input_to_scale(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Resize a latent-sized running sum ``(N, d, h, w)`` to scale ``k`` (0-based) with
        ``input_down_mode``: the AR model's input of scale ``k``."""
        size = self.scale_sizes[k]
        if size[0] <= x.shape[-2] and size[1] <= x.shape[-1]:
            return self._resize(x, size, self.input_down_mode)
        return self.upsample(x, size)

    # ---- per-scale hooks (subclasses) ---------------------------------------------------
    def quantize_scale(
        self, residual: torch.Tensor, k: int
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """Quantize the scale-``k`` residual ``(N, d, h_k, w_k)``.

        Returns ``(codes, labels, aux)``: codes ``(N, d, h_k, w_k)``, labels of scale ``k``,
        and auxiliary unweighted loss terms of this scale. Codes may carry gradient to the
        quantizer's own parameters (codebook, code scales); the straight-through estimator to
        the latent is applied once, to the summed pyramid, by :meth:`forward`.
        """
        raise NotImplementedError

    def labels_to_codes(self, labels: torch.Tensor, k: int) -> torch.Tensor:
        """Labels of scale ``k`` -> codes ``(N, d, h_k, w_k)``."""
        raise NotImplementedError

    def codes_to_residual(self, codes: torch.Tensor, k: int) -> torch.Tensor:
        """Codes of scale ``k`` ``(N, d, h_k, w_k)`` -> contribution ``(N, d, h, w)``.

        Default: upsample to the latent size. VQ adds its per-scale refinement conv here.
        """
        return self.upsample(codes)

    def quantize_residual(self, residual: torch.Tensor, k: int):
        """Quantize a latent-sized residual ``(N, d, h, w)`` at scale ``k``.

        Returns ``(codes, labels, aux)`` at scale ``k``. Used by the residual loop and by the
        correctors, which recompute targets against a corrupted running sum.
        """
        return self.quantize_scale(self.resize_to_scale(residual, k), k)

    # ---- the residual loop --------------------------------------------------------------
    def forward(self, latent: torch.Tensor) -> QuantizerOutput:
        """Quantize latent frames ``(N, d, h, w)`` into a K-level residual pyramid."""
        if latent.dim() != 4:
            raise ValueError(
                f'quantizers take single latent frames (N, d, h, w); got shape '
                f"{tuple(latent.shape)}. Fold time first: rearrange(x, 'b d t h w -> (b t) d h w')."
            )
        if tuple(latent.shape[-2:]) != self.latent_size:
            self.check_latent_size(latent.shape[-2:])
        latent_fp32 = latent.float()
        cum = torch.zeros_like(latent_fp32)
        labels, codes, aux_terms = [], [], {}
        for k in range(self.num_scales):
            codes_k, labels_k, aux = self.quantize_residual(latent_fp32 - cum.detach(), k)
            cum = cum + self.codes_to_residual(codes_k, k)
            labels.append(labels_k)
            codes.append(codes_k)
            for name, value in aux.items():
                aux_terms.setdefault(name, []).append(value)
        losses = self.combine_losses(latent_fp32, cum, aux_terms)
        quantized = latent_fp32 + (cum - latent_fp32).detach() if self.training else cum
        stats = self.usage_stats(labels)
        return QuantizerOutput(quantized.to(latent.dtype), labels, codes, losses, stats)

    def combine_losses(
        self, latent: torch.Tensor, quantized: torch.Tensor, aux_terms: dict[str, list]
    ) -> dict[str, torch.Tensor]:
        """Turn the per-scale auxiliary terms into the weighted losses. Subclasses override."""
        return {}

    @torch.no_grad()
    def usage_stats(self, labels: list[torch.Tensor]) -> dict[str, float]:
        """Per-scale usage statistics for logging. Subclasses override."""
        return {}
