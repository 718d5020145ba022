"""Class-label conditioning (UCF-101, MovingDigits) with a learned null class for CFG."""

from __future__ import annotations

import torch
from torch import nn

from videoar.registry import CONDITIONERS
from videoar.structures import VideoBatch
from videoar.utils import check_positive

from .base import BaseConditioner, Condition


@CONDITIONERS.register_module()
class ClassConditioner(BaseConditioner):
    """One learned embedding per class plus a learned null embedding (index ``num_classes``).

    The condition is a single token: ``prefix (B, 1, C)`` equals ``pooled (B, C)``. A label of
    ``-1`` (unlabelled) or a batch without labels gets the null embedding.

    Args:
        num_classes: number of classes.
        embed_dim: width ``C`` (given by the model).
        drop_prob: condition-dropout probability in training (VAR/Infinity use 0.1).
        label_key: the batch field holding the class index (``'label'``, or an ``extra`` key).
        init_std: std of the normal init of the embeddings.
    """

    prefix_len = 1

    def __init__(
        self,
        num_classes: int,
        embed_dim: int,
        drop_prob: float = 0.1,
        label_key: str = 'label',
        init_std: float = 0.02,
    ) -> None:
        super().__init__(embed_dim, drop_prob)
        check_positive(num_classes, 'ClassConditioner.num_classes')
        self.num_classes = int(num_classes)
        self.label_key = label_key
        self.embedding = nn.Embedding(self.num_classes + 1, self.embed_dim)
        nn.init.normal_(self.embedding.weight, std=init_std)

    @property
    def null_index(self) -> int:
        return self.num_classes

    def labels_of(self, batch: VideoBatch, device) -> torch.Tensor:
        """``(B,)`` long class indices; ``-1`` (unlabelled) maps to the null index."""
        labels = batch.get(self.label_key)
        if labels is None:
            return torch.full((len(batch),), self.null_index, dtype=torch.long, device=device)
        labels = torch.as_tensor(labels, dtype=torch.long).to(device)
        bad = (labels < -1) | (labels >= self.num_classes)
        if bad.any():
            raise ValueError(
                f'class labels must lie in [0, {self.num_classes}) or be -1 (unlabelled); got '
                f'{labels[bad].unique().tolist()}.'
            )
        return torch.where(labels < 0, torch.full_like(labels, self.null_index), labels)

    def _condition(self, indices: torch.Tensor) -> Condition:
        pooled = self.embedding(indices)  # (B, C)
        mask = torch.ones(indices.shape[0], 1, dtype=torch.bool, device=indices.device)
        return Condition(prefix=pooled.unsqueeze(1), prefix_mask=mask, pooled=pooled)

    def encode(self, batch: VideoBatch, device) -> Condition:
        return self._condition(self.labels_of(batch, device))

    def null(self, batch_size: int, device) -> Condition:
        indices = torch.full((batch_size,), self.null_index, dtype=torch.long, device=device)
        return self._condition(indices)
