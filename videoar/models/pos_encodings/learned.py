"""VAR's learned absolute positions, extended to frames and a condition prefix."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from videoar.models.sequence import LayoutCache, SequenceLayout
from videoar.registry import POS_ENCODINGS
from videoar.utils import ConfigError, check_positive, check_scale_sizes

from .base import BasePositionalEncoding, _resolve_range


def _resize_rows(table: torch.Tensor, rows: int) -> torch.Tensor:
    """Keep the first ``rows`` rows; when growing, repeat the last row (``(n, C) -> (rows, C)``)."""
    if table.shape[0] >= rows:
        return table[:rows]
    if table.shape[0] == 0:
        return table.new_zeros(rows, table.shape[1])
    extra = table[-1:].expand(rows - table.shape[0], -1)
    return torch.cat([table, extra], dim=0)


def resize_scale_table(
    table: torch.Tensor, old_sizes: list[tuple[int, int]], new_sizes: list[tuple[int, int]]
) -> torch.Tensor:
    """Map a per-(scale, h, w) table to a new scale schedule.

    Args:
        table: ``(sum_k h_k w_k, C)`` over ``old_sizes`` (row-major per scale).
        old_sizes, new_sizes: scale schedules.

    Returns:
        ``(sum_k h'_k w'_k, C)``. New scale ``k'`` takes the old scale whose *relative* size
        (``h_k / H``, ``w_k / W`` against the schedule's final scale) is closest to its own, and
        that grid is resized bilinearly (``align_corners=False``) to ``(h'_k, w'_k)``. With an
        unchanged schedule this is the identity.
    """
    dim = table.shape[1]
    counts = [h * w for h, w in old_sizes]
    grids = [
        g.reshape(h, w, dim).permute(2, 0, 1) for g, (h, w) in zip(table.split(counts), old_sizes)
    ]
    old_final = torch.tensor(old_sizes[-1], dtype=torch.float64)
    new_final = torch.tensor(new_sizes[-1], dtype=torch.float64)
    old_rel = torch.tensor(old_sizes, dtype=torch.float64) / old_final  # (K_old, 2)
    out = []
    for size in new_sizes:
        rel = torch.tensor(size, dtype=torch.float64) / new_final
        source = int((old_rel - rel).abs().sum(-1).argmin())
        grid = grids[source]
        if tuple(grid.shape[-2:]) != tuple(size):
            grid = F.interpolate(
                grid.unsqueeze(0).float(), size=size, mode='bilinear', align_corners=False
            )[0].to(table.dtype)
        out.append(grid.permute(1, 2, 0).reshape(-1, dim))
    return torch.cat(out, dim=0)


@POS_ENCODINGS.register_module()
class LearnedAbsolutePE(BasePositionalEncoding):
    """Learned absolute positions (VAR's ``pos_1LC``) + a learned frame embedding + prefix slots.

    A video token in cell ``(i, j)`` of scale ``k`` of frame ``t`` gets
    ``scale_pos[k, i, j] + frame_pos[t]``; prefix token ``p`` gets ``prefix_pos[p]``.

    Curriculum at a new resolution or length: the tables follow the schedule stored in the
    persistent buffer ``table_scale_sizes``. Loading a state dict saved with another schedule or
    another ``max_frames``/``max_prefix_len`` maps the checkpoint's tables onto this module's shapes
    (:func:`resize_scale_table` per scale; frame and prefix rows truncated, or extended by repeating
    the last learned row), so a stage-2 model built with new ``scale_sizes`` loads a stage-1
    checkpoint directly. :meth:`resize_tables` does the same in place (rebuild the optimizer after).

    Args:
        init_std: std of the truncated-normal initialisation (VAR uses ``sqrt(1 / 3C)``; default
            0.02).
        **model_args: the model defaults of :class:`BasePositionalEncoding`: ``dim`` (``C``),
            ``scale_sizes`` (the schedule the tables are built for), ``max_frames`` (rows of the
            frame table) and ``max_prefix_len`` (rows of the prefix table, default 0 = no
            prefix) are used, ``head_dim`` is ignored.
    """

    def __init__(self, *, init_std: float = 0.02, **model_args) -> None:
        if any(model_args.get(key) is None for key in ('dim', 'scale_sizes', 'max_frames')):
            raise ConfigError(
                'LearnedAbsolutePE needs dim, scale_sizes and max_frames (the model passes them '
                'as default arguments).'
            )
        sizes = check_scale_sizes(model_args.pop('scale_sizes'))
        model_args['max_prefix_len'] = model_args.get('max_prefix_len') or 0
        super().__init__(scale_sizes=sizes, **model_args)
        dim, max_frames = self.dim, self.max_frames
        check_positive(dim, 'LearnedAbsolutePE dim')
        check_positive(max_frames, 'LearnedAbsolutePE max_frames')
        check_positive(init_std, 'LearnedAbsolutePE init_std')
        self.init_std = float(init_std)
        tokens = sum(h * w for h, w in sizes)
        self.scale_pos = nn.Parameter(torch.empty(tokens, dim))
        self.frame_pos = nn.Parameter(torch.empty(int(max_frames), dim))
        self.prefix_pos = nn.Parameter(torch.empty(int(self.max_prefix_len), dim))
        self.register_buffer('table_scale_sizes', torch.tensor(sizes, dtype=torch.long))
        self._index = LayoutCache()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for table in (self.scale_pos, self.frame_pos, self.prefix_pos):
            nn.init.trunc_normal_(
                table, std=self.init_std, a=-2 * self.init_std, b=2 * self.init_std
            )

    # ---- lookup --------------------------------------------------------------------------
    def _check_layout(self, layout: SequenceLayout) -> None:
        own = [tuple(s) for s in self.table_scale_sizes.tolist()]
        if list(layout.scale_sizes) != own[: layout.num_scales]:
            raise ConfigError(
                f'LearnedAbsolutePE tables are built for scale_sizes={own}, but the sequence uses '
                f'{list(layout.scale_sizes)}; build the model with these scale_sizes (a checkpoint '
                f'of another schedule is resized on load) or call resize_tables(scale_sizes=...).'
            )
        if layout.num_frames > self.frame_pos.shape[0]:
            raise ConfigError(
                f'the sequence has {layout.num_frames} latent frames but LearnedAbsolutePE has '
                f'max_frames={self.frame_pos.shape[0]}; raise max_frames.'
            )
        if layout.prefix_len > self.prefix_pos.shape[0]:
            raise ConfigError(
                f'the sequence has a {layout.prefix_len}-token prefix but LearnedAbsolutePE has '
                f'max_prefix_len={self.prefix_pos.shape[0]}; raise max_prefix_len.'
            )

    def _indices(self, layout: SequenceLayout, device: torch.device):
        def build():
            self._check_layout(layout)
            video = layout.video_slice
            return (
                layout.token_in_frame_index[video].to(device),
                layout.frame_index[video].to(device),
            )

        return self._index.get((layout, str(device)), build)

    def embedding(self, layout: SequenceLayout, start: int = 0, end: int | None = None):
        """Additive ``(end - start, C)`` embedding of tokens ``[start, end)``."""
        start, end = _resolve_range(layout, start, end)
        within, frames = self._indices(layout, self.scale_pos.device)
        parts = []
        prefix_len = layout.prefix_len
        if start < prefix_len:
            parts.append(self.prefix_pos[start : min(end, prefix_len)])
        if end > prefix_len:
            lo, hi = max(start, prefix_len) - prefix_len, end - prefix_len
            parts.append(self.scale_pos[within[lo:hi]] + self.frame_pos[frames[lo:hi]])
        if not parts:
            return self.scale_pos.new_zeros(0, self.scale_pos.shape[1])
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=0)

    # ---- resizing ------------------------------------------------------------------------
    @torch.no_grad()
    def resize_tables(
        self, scale_sizes=None, max_frames: int | None = None, max_prefix_len: int | None = None
    ) -> None:
        """Resize the tables in place to a new schedule / frame count / prefix length.

        The parameters are replaced, so build the optimizer after calling this.
        """
        old = [tuple(s) for s in self.table_scale_sizes.tolist()]
        new = old if scale_sizes is None else check_scale_sizes(scale_sizes)
        frames = self.frame_pos.shape[0] if max_frames is None else int(max_frames)
        prefix = self.prefix_pos.shape[0] if max_prefix_len is None else int(max_prefix_len)
        self.scale_pos = nn.Parameter(resize_scale_table(self.scale_pos.data, old, new))
        self.frame_pos = nn.Parameter(_resize_rows(self.frame_pos.data, frames))
        self.prefix_pos = nn.Parameter(_resize_rows(self.prefix_pos.data, prefix))
        self.table_scale_sizes = torch.tensor(new, dtype=torch.long, device=self.scale_pos.device)
        self.scale_sizes, self.max_frames, self.max_prefix_len = new, frames, prefix
        self._index.clear()

    def adapt_state_dict(self, prefix: str, state_dict: dict) -> None:
        """Map tables saved with another schedule / length onto this module's shapes, in place.

        The weight-adaptation protocol of :mod:`videoar.utils.state_dict`:
        :func:`resize_scale_table` for ``scale_pos`` (when the saved ``table_scale_sizes``
        differ), frame and prefix rows truncated or extended by repeating the last learned row.
        Idempotent: adapted entries carry this module's shapes and schedule.
        """
        key_sizes = prefix + 'table_scale_sizes'
        if key_sizes in state_dict:
            saved = [tuple(s) for s in state_dict[key_sizes].tolist()]
            own = [tuple(s) for s in self.table_scale_sizes.tolist()]
            key = prefix + 'scale_pos'
            if saved != own and key in state_dict:
                state_dict[key] = resize_scale_table(state_dict[key], saved, own)
                state_dict[key_sizes] = self.table_scale_sizes.clone()
        for name in ('frame_pos', 'prefix_pos'):
            key = prefix + name
            rows = getattr(self, name).shape[0]
            if key in state_dict and state_dict[key].shape[0] != rows:
                state_dict[key] = _resize_rows(state_dict[key], rows)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Torch's plain ``load_state_dict`` adapts through :meth:`adapt_state_dict` too."""
        self.adapt_state_dict(prefix, state_dict)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (
            f'dim={self.scale_pos.shape[1]}, scale_sizes={self.table_scale_sizes.tolist()}, '
            f'max_frames={self.frame_pos.shape[0]}, max_prefix_len={self.prefix_pos.shape[0]}'
        )
