"""UCF-101 over its standard layout and official split files.

::

    root/UCF-101/<ClassName>/v_<ClassName>_gXX_cYY.avi
    root/ucfTrainTestlist/classInd.txt          "1 ApplyEyeMakeup" (1-based)
    root/ucfTrainTestlist/trainlist0N.txt       "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
    root/ucfTrainTestlist/testlist0N.txt        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"

Labels are 0-based (``classInd`` index - 1); the caption is the class name in words
(``'ApplyEyeMakeup'`` -> ``'apply eye makeup'``). A test-list entry (no label) gets its label
from its class folder, matched case-insensitively against ``classInd.txt``; the class folder on
disk is matched case-insensitively too. Files listed but missing
on disk are skipped and reported like any bad file.
"""

from __future__ import annotations

import os
import re

from videoar.registry import DATASETS
from videoar.utils.validation import ConfigError, check_choice

from .video_folder import VideoFolderDataset


def class_name_to_words(name: str) -> str:
    """``'ApplyEyeMakeup'`` -> ``'apply eye makeup'``, ``'YoYo'`` -> ``'yo yo'``."""
    spaced = re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', ' ', name)
    return ' '.join(spaced.replace('_', ' ').split()).lower()


@DATASETS.register_module()
class UCF101(VideoFolderDataset):
    """UCF-101 clips for one official split.

    Args:
        root: the folder holding ``video_dir`` and ``split_dir``.
        split: official split 1, 2 or 3.
        subset: ``'train'`` (``trainlist0N.txt``) or ``'test'`` (``testlist0N.txt``).
        video_dir, split_dir: folder names inside ``root``.
        **kwargs: clip sampling and transforms of :class:`VideoFolderDataset`.
    """

    def __init__(
        self,
        root: str,
        split: int = 1,
        subset: str = 'train',
        video_dir: str = 'UCF-101',
        split_dir: str = 'ucfTrainTestlist',
        **kwargs,
    ):
        check_choice(split, (1, 2, 3), 'UCF101 split')
        check_choice(subset, ('train', 'test'), 'UCF101 subset')
        for key in ('data_root', 'ann_file', 'classes', 'label_from_subdir'):
            if key in kwargs:
                raise ConfigError(f'UCF101 sets {key!r} itself from root/split files; remove it.')
        self.root = root
        self.split = split
        self.subset = subset
        self.video_dir = os.path.join(root, video_dir)
        self.split_dir = os.path.join(root, split_dir)
        super().__init__(data_root=self.video_dir, **kwargs)

    def _source_description(self) -> str:
        return f'root={self.root!r}, split={self.split}, subset={self.subset!r}'

    def _read_lines(self, name: str) -> list[str]:
        path = os.path.join(self.split_dir, name)
        if not os.path.isfile(path):
            raise ConfigError(
                f'UCF101: {path!r} not found; root must hold {os.path.basename(self.split_dir)}/'
                'classInd.txt, trainlist0{1,2,3}.txt and testlist0{1,2,3}.txt.'
            )
        with open(path, encoding='utf-8') as handle:
            return [line.strip() for line in handle if line.strip()]

    def _load_entries(self) -> list[dict]:
        if not os.path.isdir(self.video_dir):
            raise ConfigError(f'UCF101: video folder {self.video_dir!r} does not exist.')
        names: dict[int, str] = {}
        for line in self._read_lines('classInd.txt'):
            number, _, name = line.partition(' ')
            try:
                names[int(number)] = name.strip()
            except ValueError as err:
                raise ConfigError(f'UCF101: bad classInd.txt line {line!r}.') from err
        if sorted(names) != list(range(1, len(names) + 1)):
            raise ConfigError(
                f'UCF101: classInd.txt must number classes 1..N, got {sorted(names)}.'
            )
        self.classes = tuple(names[i] for i in range(1, len(names) + 1))
        lookup = {name.lower(): i for i, name in enumerate(self.classes)}

        # on disk, class folders are matched case-insensitively too
        folders = {d.lower(): d for d in os.listdir(self.video_dir)}
        list_name = f'{self.subset}list0{self.split}.txt'
        entries = []
        for line in self._read_lines(list_name):
            parts = line.split()
            relpath = parts[0].replace('\\', '/')
            folder = relpath.split('/')[0]
            if len(parts) > 1:
                label = int(parts[1]) - 1
            elif folder.lower() in lookup:
                label = lookup[folder.lower()]
            else:
                raise ConfigError(
                    f'UCF101: {list_name} lists {relpath!r} whose class {folder!r} is not in '
                    'classInd.txt.'
                )
            if not 0 <= label < len(self.classes):
                raise ConfigError(f'UCF101: {list_name} gives label {label + 1} for {relpath!r}.')
            parts = relpath.split('/')
            parts[0] = folders.get(parts[0].lower(), parts[0])
            entries.append(
                dict(
                    path=os.path.join(self.video_dir, *parts),
                    label=label,
                    caption=class_name_to_words(self.classes[label]),
                )
            )
        return entries
