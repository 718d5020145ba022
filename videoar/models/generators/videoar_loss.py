"""The training loss of :class:`~videoar.models.generators.VideoAR`: bitwise cross-entropy (BSQ
labels) or cross-entropy (VQ indices) over the video tokens, optionally reweighted by scale."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from videoar.models.sequence import SequenceLayout


def token_losses(
    logits: torch.Tensor, labels: torch.Tensor, label_kind: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-token loss and accuracies, computed in fp32.

    Args:
        logits: ``(B, Lv, logits_per_token)``.
        labels: ``(B, Lv, d)`` bits (``label_kind='bits'``) or ``(B, Lv)`` indices.

    Returns:
        ``loss (B, Lv)`` (mean over the bits), ``bit accuracy (B, Lv)`` and ``token accuracy
        (B, Lv)`` (all bits right); for indices both accuracies are the token accuracy.
    """
    logits = logits.float()
    if label_kind == 'bits':
        bit_logits = logits.unflatten(-1, (-1, 2))  # (B, Lv, d, 2)
        ce = F.cross_entropy(bit_logits.flatten(0, 2), labels.flatten(), reduction='none')
        ce = ce.view(labels.shape)  # (B, Lv, d)
        correct = bit_logits.argmax(-1) == labels
        return ce.mean(-1), correct.float().mean(-1), correct.all(-1).float()
    ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction='none')
    correct = (logits.argmax(-1) == labels).float()
    return ce.view(labels.shape), correct, correct


def scale_weights(
    layout: SequenceLayout, scale_sizes, reweight_by_scale: bool, device
) -> torch.Tensor:
    """``(Lv,)`` per-token weights summing to one.

    Uniform, or with ``reweight_by_scale`` each token of scale ``k`` weighted by
    ``sqrt(area_K / area_k)`` before normalising (Infinity's ``reweight_loss_by_scale``).
    """
    video_scales = layout.scale_index[layout.prefix_len :].to(device)
    if not reweight_by_scale:
        return torch.full(video_scales.shape, 1.0 / video_scales.numel(), device=device)
    areas = torch.tensor([h * w for h, w in scale_sizes], dtype=torch.float32)
    per_scale = torch.sqrt(areas[-1] / areas).to(device)
    weights = per_scale[video_scales]
    return weights / weights.sum()


def weighted_loss(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, label_kind: str
) -> dict[str, torch.Tensor]:
    """``loss`` (weighted over tokens, mean over the batch) and the logging accuracies
    ``acc_bit`` + ``acc_token`` (bits) or ``acc_token`` (indices), detached."""
    token_loss, bit_acc, token_acc = token_losses(logits, labels, label_kind)
    out = {'loss': (token_loss * weights).sum(-1).mean()}
    if label_kind == 'bits':
        out['acc_bit'] = bit_acc.mean().detach()
    out['acc_token'] = token_acc.mean().detach()
    return out


__all__ = ['scale_weights', 'token_losses', 'weighted_loss']
