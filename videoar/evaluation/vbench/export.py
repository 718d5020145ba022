"""Export videos with the file names VBench expects, and read VBench's result files back.

* ``mode='standard'`` (VBench's prompt suite): ``{prompt}-{i}.mp4`` with ``i`` in ``0..4`` (VBench
  looks for exactly these five names per prompt of ``VBench_full_info.json``).
* ``mode='custom'`` (``custom_input``): ``{prompt}-{i}.mp4`` with any ``i``; VBench recovers the
  prompt by stripping the trailing ``-<number>`` from the file stem. A ``prompts.json`` mapping
  file name -> prompt is also written (VBench's ``prompt_list``), for prompts that do not survive
  as file names.
"""

from __future__ import annotations

import json
import os
import os.path as osp
import re
from collections import defaultdict
from collections.abc import Sequence

from videoar.io.video import write_video
from videoar.utils.validation import check_choice

_NUMBER_SUFFIX = re.compile(r'-\d+$')
#: characters that cannot be part of a file name on common file systems
_FORBIDDEN = re.compile(r'[/\\\x00]')


def prompt_from_filename(path: str) -> str:
    """VBench's ``get_prompt_from_filename``: ``'a cat-3.mp4' -> 'a cat'``."""
    stem = osp.splitext(osp.basename(path))[0]
    return _NUMBER_SUFFIX.sub('', stem)


def vbench_filename(prompt: str, index: int, ext: str = '.mp4') -> str:
    """``{prompt}-{index}{ext}``; raises for prompts that cannot be file names."""
    if _FORBIDDEN.search(prompt) or not prompt.strip():
        raise ValueError(
            f'prompt {prompt!r} cannot be used as a VBench file name (empty or has / \\).'
        )
    name = f'{prompt}-{index}{ext}'
    if len(name.encode()) > 255:
        raise ValueError(
            f'prompt too long for a file name ({len(name.encode())} bytes): {prompt[:60]!r}...'
        )
    return name


def export_for_vbench(
    videos: Sequence,
    prompts: Sequence[str],
    out_dir: str,
    fps: float = 8.0,
    mode: str = 'custom',
    indices: Sequence[int] | None = None,
) -> list[str]:
    """Write ``videos`` (``(3, F, H, W)`` in ``[-1, 1]`` or uint8 ``(F, H, W, 3)``) as mp4.

    Args:
        prompts: the prompt (caption) of each video.
        mode: ``'standard'`` (at most 5 videos per prompt, ``i`` = 0..4) or ``'custom'``.
        indices: the ``i`` of each video (default: 0, 1, ... per prompt in order of appearance).

    Returns:
        The written paths, in input order.
    """
    check_choice(mode, ('standard', 'custom'), 'VBench export mode')
    if len(videos) != len(prompts):
        raise ValueError(f'{len(videos)} videos but {len(prompts)} prompts.')
    counters: dict[str, int] = defaultdict(int)
    if indices is None:
        indices = []
        for prompt in prompts:
            indices.append(counters[prompt])
            counters[prompt] += 1
    names = [vbench_filename(p, int(i)) for p, i in zip(prompts, indices)]
    if len(set(names)) != len(names):
        raise ValueError('two videos map to the same VBench file name; give distinct indices.')
    if mode == 'standard':
        bad = [n for n, i in zip(names, indices) if not 0 <= int(i) <= 4]
        if bad:
            raise ValueError(
                f'VBench standard mode reads {{prompt}}-0..4.mp4 only; these would be ignored: {bad[:3]}'
            )
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for video, name in zip(videos, names):
        paths.append(write_video(osp.join(out_dir, name), video, fps=fps))
    mapping_path = osp.join(out_dir, 'prompts.json')
    mapping = {}
    if osp.isfile(mapping_path):
        with open(mapping_path) as f:
            mapping = json.load(f)
    mapping.update({name: prompt for name, prompt in zip(names, prompts)})
    with open(mapping_path, 'w') as f:
        json.dump(mapping, f, indent=2, ensure_ascii=False)
    return paths


def parse_vbench_results(path: str) -> dict[str, float]:
    """Read ``{name}_eval_results.json`` -> ``{dimension: aggregate score}``.

    VBench writes ``{dimension: [aggregate, [{'video_path': ..., 'video_results': ...}, ...]]}``.
    """
    with open(path) as f:
        data = json.load(f)
    scores = {}
    for dimension, value in data.items():
        aggregate = value[0] if isinstance(value, (list, tuple)) else value
        if isinstance(aggregate, bool) or not isinstance(aggregate, (int, float)):
            raise ValueError(f'{path}: unexpected aggregate for {dimension}: {aggregate!r}')
        scores[dimension] = float(aggregate)
    return scores
