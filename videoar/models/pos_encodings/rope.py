"""Axial rotary position encodings over the (frame, scale) layout.

Every token gets an integer position on each of its axes (``t``, ``h``, ``w`` or a subset); the
``Dh / 2`` frequency pairs of a head are split between the axes (``axis_split``) and pair ``j`` of
axis ``a`` rotates by ``pos_a * base ** (-j / n_a)`` (``n_a`` pairs on that axis, the usual
``1 / base^(2j / dim_a)``). Angles are computed in fp64 on the CPU, ``cos``/``sin`` stored in fp32
on the module's device, once per layout (LRU cache).

Spatial positions of a token in cell ``(i, j)`` of a scale ``(h_k, w_k)``:

* raw (``normalize_to_final=False``): ``(i, j)``, the same cell index in every scale (VideoAR's
  Fig. 2 example);
* normalised to the final grid (``normalize_to_final=True``, Infinity's ``rope2d_normalized_by_hw
  = 2``): ``(round(i * H / h_k), round(j * W / w_k))`` with ``(H, W)`` the final scale and Python /
  ``torch.round`` rounding (half to even), so a coarse token sits where its top-left corner falls
  on the final grid. The final scale is the model's (constructor ``scale_sizes``) when the layout's
  schedule is a prefix of it (training on fewer scales keeps inference positions), else the
  layout's own last scale.

Prefix (condition) tokens, ``prefix_mode``:

* ``'diagonal'``: prefix token ``i`` at ``(i, ..., i)`` (plain 1-D RoPE on text, Qwen2-VL M-RoPE
  style) and every video axis offset by the prefix length ``P`` (VideoAR's ``+|Psi|``);
* ``'none'``: prefix tokens at the origin, i.e. no rotation (the prefix is position-free, as text
  seen through cross-attention is), and video positions unshifted.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from videoar.models.sequence import LayoutCache, SequenceLayout
from videoar.registry import POS_ENCODINGS
from videoar.utils import ConfigError, check_choice, check_positive

from .base import BasePositionalEncoding, _resolve_range

AXES = ('t', 'h', 'w')
PREFIX_MODES = ('diagonal', 'none')


def default_axis_split(num_pairs: int, num_axes: int) -> tuple[int, ...]:
    """Equal split of ``num_pairs`` frequency pairs; the remainder goes to the first axis (time
    for 3-axis encodings, height for 2-D), so the spatial axes stay symmetric."""
    base, remainder = divmod(num_pairs, num_axes)
    return (base + remainder,) + (base,) * (num_axes - 1)


class AxialRoPE(BasePositionalEncoding):
    """Rotary encoding over a subset of the axes ``('t', 'h', 'w')`` (base of the RoPE classes).

    Args:
        axes: the axes that get frequencies, e.g. ``('h', 'w')`` or ``('t', 'h', 'w')``.
        axis_split: frequency pairs per axis, summing to ``head_dim // 2`` (default: equal,
            remainder to the first axis).
        base: RoPE base (10000).
        normalize_to_final: place coarse tokens on the final grid (see the module docstring).
        prefix_mode: ``'diagonal'`` or ``'none'`` (see the module docstring).
        **model_args: the model defaults of :class:`BasePositionalEncoding` (``dim``,
            ``head_dim``, ``scale_sizes``, ``max_frames``, ``max_prefix_len``); only ``head_dim``
            and ``scale_sizes`` are used.
    """

    def __init__(
        self,
        *,
        axes: Sequence[str] = AXES,
        axis_split: Sequence[int] | None = None,
        base: float = 10000.0,
        normalize_to_final: bool = False,
        prefix_mode: str = 'diagonal',
        **model_args,
    ) -> None:
        super().__init__(**model_args)
        head_dim = self.head_dim
        name = type(self).__name__
        if head_dim is None:
            raise ConfigError(f'{name} needs head_dim (the model passes it as a default argument).')
        axes = tuple(axes)
        for axis in axes:
            check_choice(axis, AXES, f'{name} axes entry')
        if len(set(axes)) != len(axes) or not axes:
            raise ConfigError(f'{name}: axes must be distinct entries of {AXES}, got {axes}.')
        if head_dim % 2 != 0:
            raise ConfigError(f'{name}: head_dim={head_dim} must be even for rotary embeddings.')
        num_pairs = head_dim // 2
        if axis_split is None:
            axis_split = default_axis_split(num_pairs, len(axes))
        axis_split = tuple(int(n) for n in axis_split)
        if len(axis_split) != len(axes) or sum(axis_split) != num_pairs or min(axis_split) < 0:
            raise ConfigError(
                f'{name}: axis_split={axis_split} must give one non-negative count of frequency '
                f'pairs per axis {axes}, summing to head_dim // 2 = {num_pairs}; e.g. '
                f'{default_axis_split(num_pairs, len(axes))}.'
            )
        check_positive(base, f'{name} base')
        check_choice(prefix_mode, PREFIX_MODES, f'{name} prefix_mode')
        self.axes = axes
        self.axis_split = axis_split
        self.base = float(base)
        self.normalize_to_final = bool(normalize_to_final)
        self.prefix_mode = prefix_mode
        self._tables = LayoutCache()
        # a non-persistent anchor so that module.to(device) tells us where tables belong
        self.register_buffer('_anchor', torch.zeros(()), persistent=False)

    # ---- positions -----------------------------------------------------------------------
    def final_size(self, layout: SequenceLayout) -> tuple[int, int]:
        own = tuple(self.scale_sizes) if self.scale_sizes else None
        if own and tuple(own[: layout.num_scales]) == tuple(layout.scale_sizes):
            return own[-1]
        return layout.scale_sizes[-1]

    def positions(self, layout: SequenceLayout) -> torch.Tensor:
        """Integer positions ``(L, len(axes))`` (CPU long), in the order of ``self.axes``."""
        video = layout.video_slice
        spatial = layout.spatial_index[video].clone()  # (Lv, 2) raw
        if self.normalize_to_final:
            final_h, final_w = self.final_size(layout)
            scale = layout.scale_index[video]
            sizes = torch.tensor(layout.scale_sizes, dtype=torch.float64)[scale]  # (Lv, 2)
            final = torch.tensor([final_h, final_w], dtype=torch.float64)
            spatial = torch.round(spatial.double() * final / sizes).long()
        per_axis = {'t': layout.frame_index[video], 'h': spatial[:, 0], 'w': spatial[:, 1]}
        video_pos = torch.stack([per_axis[a] for a in self.axes], dim=-1)
        prefix = torch.arange(layout.prefix_len).unsqueeze(-1).expand(-1, len(self.axes))
        if self.prefix_mode == 'diagonal':
            video_pos = video_pos + layout.prefix_len
        else:
            prefix = torch.zeros_like(prefix)
        return torch.cat([prefix, video_pos], dim=0)

    def inv_freqs(self) -> list[torch.Tensor]:
        """Per axis ``(n_a,)`` fp64 inverse frequencies ``base ** (-j / n_a)``."""
        return [
            self.base ** (-torch.arange(n, dtype=torch.float64) / n) if n else torch.zeros(0)
            for n in self.axis_split
        ]

    def angles(self, layout: SequenceLayout) -> torch.Tensor:
        """``(L, Dh / 2)`` fp64 rotation angles (axis blocks in the order of ``self.axes``)."""
        pos = self.positions(layout).double()
        parts = [
            pos[:, a : a + 1] * freqs.double()
            for a, freqs in enumerate(self.inv_freqs())
            if freqs.numel()
        ]
        return torch.cat(parts, dim=-1)

    # ---- tables --------------------------------------------------------------------------
    def _full_tables(self, layout: SequenceLayout) -> tuple[torch.Tensor, torch.Tensor]:
        device = self._anchor.device

        def build():
            theta = self.angles(layout)
            theta = torch.cat([theta, theta], dim=-1)  # rotate-half layout
            cos = torch.cos(theta).float().to(device)
            sin = torch.sin(theta).float().to(device)
            return cos, sin

        return self._tables.get((layout, str(device)), build)

    def rotary(self, layout: SequenceLayout, start: int = 0, end: int | None = None):
        """``(cos, sin)`` fp32, each ``(end - start, head_dim)``, for tokens ``[start, end)``."""
        start, end = _resolve_range(layout, start, end)
        cos, sin = self._full_tables(layout)
        return cos[start:end], sin[start:end]

    def extra_repr(self) -> str:
        return (
            f'axes={self.axes}, axis_split={self.axis_split}, base={self.base}, '
            f'normalize_to_final={self.normalize_to_final}, prefix_mode={self.prefix_mode!r}'
        )


@POS_ENCODINGS.register_module()
class RoPE2D(AxialRoPE):
    """Infinity's 2-D RoPE: the head's frequency pairs split between height and width.

    Frames are not encoded (every frame reuses the same spatial positions; frame order comes from
    the causal mask and the inputs). Coarse tokens are placed on the final grid by default
    (``normalize_to_final=True``, Infinity's released setting); prefix tokens get 1-D positions
    ``(i, i)`` and video positions are offset by ``P`` (``prefix_mode='diagonal'``). Arguments as
    :class:`AxialRoPE` without ``axes`` (always ``('h', 'w')``).
    """

    def __init__(self, *, normalize_to_final: bool = True, **kwargs) -> None:
        super().__init__(axes=('h', 'w'), normalize_to_final=normalize_to_final, **kwargs)


@POS_ENCODINGS.register_module()
class RoPE3D(AxialRoPE):
    """3-D RoPE over ``(t, h, w)``, InfinityStar style.

    Defaults: coarse tokens on the final grid (``normalize_to_final=True``) and a position-free
    prefix (``prefix_mode='none'``: condition tokens are not rotated and video positions are not
    shifted), as text reached through cross-attention is in InfinityStar. Compare
    :class:`MultiScaleTemporalRoPE`, which places the prefix on the 1-D diagonal. Arguments as
    :class:`AxialRoPE` without ``axes`` (always ``('t', 'h', 'w')``).
    """

    def __init__(
        self, *, normalize_to_final: bool = True, prefix_mode: str = 'none', **kwargs
    ) -> None:
        super().__init__(
            axes=AXES, normalize_to_final=normalize_to_final, prefix_mode=prefix_mode, **kwargs
        )


@POS_ENCODINGS.register_module()
class MultiScaleTemporalRoPE(AxialRoPE):
    """VideoAR's Multi-scale Temporal RoPE (the VideoAR paper, arXiv 2601.05966).

    Prefix token ``i`` sits at ``(i, i, i)``; the video token in cell ``(h, w)`` of any scale of
    frame ``t`` sits at ``(t + P, h + P, w + P)`` with raw per-scale indices (the paper's Fig. 2;
    ``normalize_to_final=True`` switches to final-grid positions). Scale identity is left to the
    model's learnable scale embedding. The ``head_dim / 2`` frequency pairs are split equally
    between t, h and w, the remainder going to t (``axis_split`` overrides), ``base`` 10000.
    Arguments as :class:`AxialRoPE` without ``axes`` and ``prefix_mode`` (always ``'diagonal'``).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(axes=AXES, prefix_mode='diagonal', **kwargs)
