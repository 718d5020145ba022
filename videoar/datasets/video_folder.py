"""Real-video datasets decoded with PyAV: a folder or a manifest of files.

Bad files are skipped and reported, never a crash and never silent:

* at index time (``probe=True``, the default) every file is opened, its first frame decoded and
  its frame count read (cheap: no full decode); a missing, empty, corrupt, truncated or
  non-video file, or one shorter than the clip (``short_clip='skip'``), is left out;
* at ``__getitem__`` time a decoding failure (e.g. a file truncated after its header) is caught,
  the file is marked bad and a replacement is served deterministically: the next good entry
  (``index + 1``, ``index + 2``, ... wrapping around).

Every skip appends ``(path, reason)`` to :attr:`VideoFolderDataset.skipped` and logs a warning
naming the file, the reason and the running count, through the ``videoar.datasets`` Python
logger and mmengine's current logger (the console, and the run's log file under a Runner). In DataLoader workers each worker keeps its own list.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Callable, Sequence

import numpy as np
from mmengine.logging import print_log
from torch.utils.data import Dataset

from videoar.io.video import VIDEO_EXTENSIONS, VideoReadError, from_uint8, probe_video, read_video
from videoar.registry import DATASETS, TRANSFORMS
from videoar.utils.validation import ConfigError, build_checked, check_choice, check_positive

from .samplers import VisitIndex, split_visit
from .transforms import resize_and_crop

# Records propagate to the root logger (pytest's caplog, a user's handlers); the NullHandler
# keeps Python's last-resort handler from printing them a second time.
logger = logging.getLogger('videoar.datasets')
logger.addHandler(logging.NullHandler())

OFFSETS = ('random', 'center', 'start')
CROPS = ('center', 'random')
SHORT_CLIP = ('skip', 'pad')


def _log_warning(message: str) -> None:
    """Warn through ``logging`` and mmengine's current logger (console and the run's log file)."""
    logger.warning(message)
    try:
        print_log(message, logger='current', level=logging.WARNING)
    except Exception:  # pragma: no cover - logging must never break data loading
        pass


@DATASETS.register_module()
class VideoFolderDataset(Dataset):
    """Clips from the videos under a folder or listed in a manifest.

    Args:
        data_root: a folder searched recursively for ``extensions``; with ``ann_file``, the
            folder that relative manifest paths are relative to.
        ann_file: a manifest, ``.jsonl`` (one JSON object per line) or ``.csv`` (with a header),
            with a ``path`` field and optional ``label`` (int), ``caption`` (str) and
            ``num_frames`` (int, used only when ``probe=False``). Relative paths are relative to
            the manifest's folder (or to ``data_root`` when given) and must stay inside it: an
            entry like ``../elsewhere.mp4`` is skipped and reported, as an absolute path is
            unless ``allow_absolute_paths``.
        num_frames: ``F`` frames per clip.
        frame_stride: take every ``frame_stride``-th frame.
        offset: where the clip starts: ``'random'`` (from the per-item RNG), ``'center'`` or
            ``'start'``.
        height, width: output size; the clip is resized (aspect kept: shorter side to
            ``short_side``, or just enough to cover ``height x width``) and cropped. Both
            ``None``: frames keep their size.
        crop: ``'center'`` or ``'random'``.
        short_side: optional shorter-side length before cropping.
        short_clip: a video shorter than ``1 + (num_frames - 1) * frame_stride`` frames is
            ``'skip'``-ped (reported) or ``'pad'``-ded by repeating its last frame.
        extensions: file endings searched in ``data_root`` (case-insensitive).
        label_from_subdir: in folder mode, the label is the index of the first sub-folder name
            (sorted); otherwise labels are ``-1``.
        classes: optional class names (``metainfo['classes']``).
        deterministic: True: item ``i`` always gives the same clip (RNG seeded by
            ``(seed, i)``, for val/test); False: a new clip at each visit (RNG seeded by
            ``(seed, i, visit)``, for training). Pair False with
            ``sampler=dict(type='VisitInfiniteSampler')``: its requests carry the visit number
            (see ``videoar/datasets/samplers.py``), so the draws do not depend on worker
            processes and a resumed run skips items without loading them; with a plain integer
            index the dataset counts visits itself (per worker copy).
        probe: check every file at index time (see the module docstring).
        pipeline: optional list of ``TRANSFORMS`` configs (or callables) applied after the
            built-in resize/crop to ``dict(inputs=(3, F, H, W), rng=Generator, meta=dict)``.
        seed: base seed of the per-item RNG.
        allow_absolute_paths: serve manifest entries with absolute paths (default: skip and
            report them, so a manifest cannot point the loader anywhere on the machine).

    Item: ``dict(inputs=float32 (3, F, H, W) in [-1, 1], data_samples=dict(label, caption,
    index, path))``; ``index`` is the entry actually served (it differs from the requested
    index only when a bad file was replaced).
    """

    def __init__(
        self,
        data_root: str | None = None,
        ann_file: str | None = None,
        num_frames: int = 17,
        frame_stride: int = 1,
        offset: str = 'random',
        height: int | None = None,
        width: int | None = None,
        crop: str = 'center',
        short_side: int | None = None,
        short_clip: str = 'skip',
        extensions: Sequence[str] = VIDEO_EXTENSIONS,
        label_from_subdir: bool = False,
        classes: Sequence[str] | None = None,
        deterministic: bool = True,
        probe: bool = True,
        pipeline: Sequence[dict | Callable] | None = None,
        seed: int = 0,
        allow_absolute_paths: bool = False,
    ):
        check_positive(num_frames, f'{self.__class__.__name__} num_frames')
        check_positive(frame_stride, f'{self.__class__.__name__} frame_stride')
        check_choice(offset, OFFSETS, f'{self.__class__.__name__} offset')
        check_choice(crop, CROPS, f'{self.__class__.__name__} crop')
        check_choice(short_clip, SHORT_CLIP, f'{self.__class__.__name__} short_clip')
        if (height is None) != (width is None):
            raise ConfigError(
                f'{self.__class__.__name__}: give both height and width (the crop size) or '
                f'neither, got height={height}, width={width}.'
            )
        if height is not None:
            check_positive(height, 'height')
            check_positive(width, 'width')
        if short_side is not None:
            check_positive(short_side, 'short_side')
        self.data_root = data_root
        self.ann_file = ann_file
        self.num_frames = int(num_frames)
        self.frame_stride = int(frame_stride)
        self.clip_span = 1 + (self.num_frames - 1) * self.frame_stride
        self.offset = offset
        self.size = None if height is None else (int(height), int(width))
        self.crop = crop
        self.short_side = short_side
        self.short_clip = short_clip
        self.extensions = tuple(e.lower() for e in extensions)
        self.label_from_subdir = label_from_subdir
        self.classes = tuple(classes) if classes is not None else None
        self.deterministic = deterministic
        self.seed = int(seed)
        self.allow_absolute_paths = bool(allow_absolute_paths)
        self.pipeline = [
            build_checked(TRANSFORMS, t, f'{self.__class__.__name__} pipeline') if isinstance(t, dict) else t
            for t in (pipeline or [])
        ]  # fmt: skip
        self.skipped: list[tuple[str, str]] = []
        self._bad: set[int] = set()
        self._visits: dict[int, int] = {}

        entries = self._load_entries()
        listed = len(entries)
        self.entries = [e for e in entries if self._check_entry(e)] if probe else entries
        if not self.entries:
            reasons = '; '.join(f'{os.path.basename(p)}: {r}' for p, r in self.skipped[:10])
            raise ConfigError(
                f'{self.__class__.__name__}: no usable video among {listed} listed '
                f'({self._source_description()}). {len(self.skipped)} skipped: {reasons}'
            )
        if self.skipped:
            _log_warning(
                f'{self.__class__.__name__}: {len(self.entries)} of {listed} videos usable '
                f'({self._source_description()}); {len(self.skipped)} skipped, see .skipped.'
            )

    # ---- indexing -----------------------------------------------------------------------------
    def _source_description(self) -> str:
        return f'ann_file={self.ann_file!r}' if self.ann_file else f'data_root={self.data_root!r}'

    def _load_entries(self) -> list[dict]:
        """List of ``dict(path, label, caption[, num_frames])`` (sorted, before probing)."""
        if self.ann_file is not None:
            return self._load_manifest(self.ann_file)
        if self.data_root is None:
            raise ConfigError(
                f'{self.__class__.__name__} needs data_root (a folder of videos) or ann_file '
                '(a .jsonl/.csv manifest with a "path" column).'
            )
        if not os.path.isdir(self.data_root):
            raise ConfigError(
                f'{self.__class__.__name__}: data_root {self.data_root!r} is not a folder.'
            )
        paths = []
        for folder, dirs, files in os.walk(self.data_root):
            dirs.sort()
            paths += [
                os.path.join(folder, f)
                for f in sorted(files)
                if f.lower().endswith(self.extensions)
            ]
        subdirs = [os.path.relpath(p, self.data_root).split(os.sep) for p in paths]
        if self.label_from_subdir and self.classes is None:
            self.classes = tuple(sorted({parts[0] for parts in subdirs if len(parts) > 1}))
        lookup = {name: i for i, name in enumerate(self.classes or ())}
        entries = []
        for path, parts in zip(paths, subdirs):
            label = lookup.get(parts[0], -1) if self.label_from_subdir and len(parts) > 1 else -1
            entries.append(dict(path=path, label=label, caption=''))
        return entries

    def _load_manifest(self, ann_file: str) -> list[dict]:
        if not os.path.isfile(ann_file):
            raise ConfigError(f'{self.__class__.__name__}: ann_file {ann_file!r} does not exist.')
        base = self.data_root or os.path.dirname(os.path.abspath(ann_file))
        ext = os.path.splitext(ann_file)[1].lower()
        rows: list[tuple[int, dict]] = []
        with open(ann_file, newline='', encoding='utf-8') as handle:
            if ext == '.jsonl':
                for line_no, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        rows.append((line_no, json.loads(line)))
                    except json.JSONDecodeError as err:
                        raise ConfigError(f'{ann_file}:{line_no}: not valid JSON ({err}).') from err
            elif ext == '.csv':
                reader = csv.DictReader(handle)
                if reader.fieldnames is None or 'path' not in reader.fieldnames:
                    raise ConfigError(
                        f'{ann_file}: a CSV manifest needs a header with a "path" column '
                        f'(optional: label, caption, num_frames), got {reader.fieldnames}.'
                    )
                rows = [(line_no, row) for line_no, row in enumerate(reader, 2)]
            else:
                raise ConfigError(f'{ann_file}: the manifest must be .jsonl or .csv, got {ext!r}.')
        entries = []
        for line_no, row in rows:
            if not isinstance(row, dict) or not row.get('path'):
                raise ConfigError(f'{ann_file}:{line_no}: the entry needs a "path", got {row!r}.')
            try:
                label = int(row['label']) if row.get('label') not in (None, '') else -1
                frames = row.get('num_frames')
                frames = int(frames) if frames not in (None, '') else None
            except (TypeError, ValueError) as err:
                raise ConfigError(
                    f'{ann_file}:{line_no}: label/num_frames must be ints ({err}).'
                ) from err
            path = self._manifest_path(str(row['path']), base, f'{ann_file}:{line_no}')
            if path is None:
                continue
            entry = dict(
                path=path,
                label=label,
                caption=str(row.get('caption') or ''),
            )
            if frames is not None:
                entry['num_frames'] = frames
            entries.append(entry)
        return entries

    def _manifest_path(self, path: str, base: str, where: str) -> str | None:
        """The file a manifest entry names, or None (reported) when it may not be served."""
        if os.path.isabs(path):
            if self.allow_absolute_paths:
                return os.path.normpath(path)
            self._report_skip(
                path,
                f'{where}: absolute paths are not served (write it relative to {base!r}, or set '
                'allow_absolute_paths=True)',
            )
            return None
        root = os.path.abspath(base)
        resolved = os.path.normpath(os.path.join(root, path))
        if os.path.commonpath([root, resolved]) != root:
            self._report_skip(
                path, f'{where}: the path leaves the dataset root {root!r}; entries must stay in it'
            )
            return None
        return resolved

    def _report_skip(self, path: str, reason: str) -> None:
        self.skipped.append((path, reason))
        _log_warning(
            f'{self.__class__.__name__}: skipping {path!r}: {reason} '
            f'({len(self.skipped)} file(s) skipped so far)'
        )

    def _check_entry(self, entry: dict) -> bool:
        try:
            info = probe_video(entry['path'], verify=True)
        except VideoReadError as err:
            self._report_skip(entry['path'], err.reason)
            return False
        entry['num_frames'] = info['num_frames']
        if info['num_frames'] < self.clip_span and self.short_clip == 'skip':
            self._report_skip(
                entry['path'],
                f'too short: {info["num_frames"]} frames, a clip needs {self.clip_span} '
                f'(num_frames={self.num_frames}, frame_stride={self.frame_stride}); '
                "set short_clip='pad' to repeat the last frame instead",
            )
            return False
        return True

    # ---- items --------------------------------------------------------------------------------
    @property
    def metainfo(self) -> dict:
        return dict(classes=self.classes, dataset=self.__class__.__name__)

    @property
    def num_skipped(self) -> int:
        return len(self.skipped)

    def __len__(self) -> int:
        return len(self.entries)

    def _rng(self, index: int, visit: int | None) -> np.random.Generator:
        if self.deterministic:
            return np.random.default_rng([self.seed, index])
        if visit is None:  # a plain integer request: count the visits here
            visit = self._visits.get(index, 0)
            self._visits[index] = visit + 1
        return np.random.default_rng([self.seed, index, visit])

    def clip_indices(self, total: int, rng: np.random.Generator) -> list[int]:
        """Frame indices of a clip from a video of ``total`` frames."""
        room = total - self.clip_span
        if room < 0:  # short_clip == 'pad' (or a probe that over-counted)
            start = 0
        elif self.offset == 'start':
            start = 0
        elif self.offset == 'center':
            start = room // 2
        else:
            start = int(rng.integers(0, room + 1))
        return [min(start + i * self.frame_stride, total - 1) for i in range(self.num_frames)]

    def _load(self, index: int, visit: int | None) -> dict:
        entry = self.entries[index]
        rng = self._rng(index, visit)
        total = entry.get('num_frames')
        if total is None:  # probe=False and no count in the manifest: probe now
            total = entry['num_frames'] = probe_video(entry['path'])['num_frames']
        if total < self.clip_span and self.short_clip == 'skip':
            raise VideoReadError(
                entry['path'], f'too short: {total} frames, a clip needs {self.clip_span}'
            )
        frames = read_video(entry['path'], frame_indices=self.clip_indices(total, rng))
        video = from_uint8(frames)
        if self.size is not None:
            video = resize_and_crop(video, self.size, self.crop, self.short_side, rng)
        meta = dict(
            label=int(entry['label']), caption=entry['caption'], index=index, path=entry['path']
        )
        if self.pipeline:
            results = dict(inputs=video, rng=rng, meta=meta)
            for transform in self.pipeline:
                results = transform(results)
            video = results['inputs']
        return dict(inputs=video.contiguous(), data_samples=meta)

    def __getitem__(self, request: int | VisitIndex) -> dict:
        """Item ``request``: an index, or ``(index, visit)`` from ``VisitInfiniteSampler``."""
        count = len(self.entries)
        index, visit = split_visit(request)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(f'{self.__class__.__name__} index {index} out of range [0, {count}).')
        for step in range(count):
            candidate = (index + step) % count
            if candidate in self._bad:
                continue
            try:
                return self._load(candidate, visit)
            except Exception as err:  # VideoReadError, or anything a broken file triggers
                reason = (
                    err.reason
                    if isinstance(err, VideoReadError)
                    else f'{type(err).__name__}: {err}'
                )
                self._bad.add(candidate)
                self._report_skip(self.entries[candidate]['path'], reason)
        raise RuntimeError(
            f'{self.__class__.__name__}: every one of the {count} videos failed to decode; '
            f'skipped: {self.skipped[-5:]}'
        )

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}({self._source_description()}, videos={len(self.entries)}, '
            f'skipped={len(self.skipped)}, clip={self.num_frames}x{self.frame_stride}, '
            f'size={self.size})'
        )
