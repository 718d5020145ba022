"""Class accuracy of generated videos under a video classifier (the conditioning is the label).

For the embedded MovingDigits demo: does a video generated for class ``c`` show digit ``c``?
The classifier is a ``FEATURE_EXTRACTORS`` entry with ``classify(video) -> (B,)`` or
``logits(video) -> (B, classes)`` (default: :class:`MovingDigitsClassifier`, trained once and
cached). Evaluating ``gt_video`` instead (``video_key='gt_video'``) gives the real-clip reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from videoar.registry import FEATURE_EXTRACTORS, METRICS
from videoar.utils.validation import ConfigError, build_checked

from .base import VideoMetric, sample_get, stack_videos


@METRICS.register_module()
class ClassAccuracy(VideoMetric):
    """Fraction of videos whose predicted class equals their ``label``; key ``class_accuracy``.

    Args:
        classifier: a ``FEATURE_EXTRACTORS`` config or module with ``classify`` or ``logits``
            (default ``dict(type='MovingDigitsClassifier')``).
        video_key: which video of the predict outputs to classify (``pred_video``; ``gt_video``
            for the real-clip reference).
        label_key: the conditioning class in the predict outputs.
        name: the result key.
        device: classifier device (default CUDA when available).
        **base_args: ``collect_device``, ``prefix``, ``collect_dir`` of mmengine's ``BaseMetric``.
    """

    def __init__(
        self,
        classifier=None,
        video_key: str = 'pred_video',
        label_key: str = 'label',
        name: str = 'class_accuracy',
        device: str | None = None,
        **base_args,
    ) -> None:
        super().__init__(**base_args)
        if classifier is None:
            classifier = dict(type='MovingDigitsClassifier')
        model = build_checked(FEATURE_EXTRACTORS, classifier, 'ClassAccuracy classifier')
        if not (hasattr(model, 'classify') or hasattr(model, 'logits')):
            raise ConfigError(
                f'ClassAccuracy classifier {type(model).__name__} has neither classify() nor logits().'
            )
        self.device = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
        self.classifier = model.to(self.device).eval()
        self.video_key = video_key
        self.label_key = label_key
        self.name = name
        self.protocol: dict | None = None

    @torch.no_grad()
    def predict(self, video: torch.Tensor) -> torch.Tensor:
        """Predicted classes ``(B,)`` of ``video (B, 3, F, H, W)`` in ``[-1, 1]``."""
        video = video.to(self.device)
        if hasattr(self.classifier, 'classify'):
            return self.classifier.classify(video).cpu()
        return self.classifier.logits(video).argmax(dim=1).cpu()

    def process(self, data_batch, data_samples: Sequence) -> None:
        labels = []
        for sample in data_samples:
            label = sample_get(sample, self.label_key)
            if label is None or int(label) < 0:
                raise KeyError(
                    f'ClassAccuracy needs a class label >= 0 in {self.label_key!r} of every predict '
                    f'output, got {label!r}.'
                )
            labels.append(int(label))
        predicted = self.predict(stack_videos(data_samples, self.video_key, 'ClassAccuracy'))
        self.results.extend(zip(predicted.tolist(), labels))

    def compute_metrics(self, results: list) -> dict:
        if not results:
            raise RuntimeError('ClassAccuracy: no videos were evaluated.')
        correct = [p == t for p, t in results]
        accuracy = sum(correct) / len(results)
        per_class = {}
        for (_, label), ok in zip(results, correct):
            hit, total = per_class.get(label, (0, 0))
            per_class[label] = (hit + ok, total + 1)
        fingerprint = getattr(self.classifier, 'fingerprint', lambda: {})()
        num_classes = getattr(getattr(self.classifier, 'head', None), 'out_features', None)
        self.protocol = dict(
            metric=self.name,
            value=accuracy,
            num_videos=len(results),
            video_key=self.video_key,
            classifier=fingerprint,
            chance=1.0 / num_classes if num_classes else None,
            per_class={str(k): hit / total for k, (hit, total) in sorted(per_class.items())},
        )
        return {self.name: accuracy}
