"""Run the ``vbench`` package in its own virtual environment, as a subprocess.

VBench pins an old stack (``numpy<2``, ``transformers==4.33.2``, detectron2 from git, ...), so it
cannot live in videoar's environment. Set it up once (see ``docs/evaluation.md``)::

    python -m venv ~/vbench-venv
    ~/vbench-venv/bin/pip install vbench      # + detectron2 from git for the GRiT dimensions
    # put the checkpoints under $VBENCH_CACHE_DIR (default ~/.cache/vbench)

then :func:`run_vbench` exports nothing itself: give it a folder written by
:func:`~videoar.evaluation.vbench.export.export_for_vbench`. The subprocess runs with
``local=True`` (checkpoints from ``VBENCH_CACHE_DIR``) and ``HF_HUB_OFFLINE=1`` /
``TRANSFORMERS_OFFLINE=1``; a missing checkpoint makes VBench try ``wget``, which fails offline.
"""

from __future__ import annotations

import json
import os
import os.path as osp
import subprocess

from videoar.utils.validation import check_choice

from .export import parse_vbench_results

#: dimensions VBench's custom_input mode refuses (they need the prompt suite's auxiliary info)
CUSTOM_UNSUPPORTED = (
    'object_class', 'multiple_objects', 'scene', 'appearance_style', 'color', 'spatial_relationship',
)  # fmt: skip

_DRIVER = r"""
import json, os, sys
import vbench
from vbench import VBench
args = json.loads(sys.argv[1])
full_info = args["full_info"] or os.path.join(os.path.dirname(vbench.__file__), "VBench_full_info.json")
bench = VBench(args["device"], full_info, args["output_path"])
kwargs = dict(args.get("kwargs") or {})
if args["mode"] == "custom_input" and args.get("prompt_file"):
    with open(args["prompt_file"]) as f:
        kwargs["prompt_list"] = json.load(f)
bench.evaluate(videos_path=args["videos_path"], name=args["name"], dimension_list=args["dimensions"],
               local=True, mode=args["mode"], **kwargs)
"""


def build_command(python: str, args: dict) -> list[str]:
    return [python, '-c', _DRIVER, json.dumps(args)]


def run_vbench(
    videos_path: str,
    dimensions: list[str],
    output_path: str,
    python: str,
    name: str = 'videoar',
    mode: str = 'custom_input',
    cache_dir: str | None = None,
    device: str = 'cuda',
    full_info: str | None = None,
    prompt_file: str | None = None,
    timeout: float | None = None,
    extra_env: dict | None = None,
    kwargs: dict | None = None,
) -> dict[str, float]:
    """Evaluate ``dimensions`` with the vbench package of the interpreter ``python``.

    Args:
        videos_path: folder of videos named as VBench expects.
        python: the vbench virtualenv's interpreter (e.g. ``~/vbench-venv/bin/python``).
        mode: ``'custom_input'`` (any prompts; not the 6 dimensions in
            :data:`CUSTOM_UNSUPPORTED`) or ``'vbench_standard'`` (the official prompt suite).
        cache_dir: ``VBENCH_CACHE_DIR`` for the subprocess (default: inherited / ~/.cache/vbench).
        prompt_file: a ``{file name: prompt}`` JSON (``prompts.json`` of the exporter) for
            custom_input mode.

    Returns:
        ``{dimension: aggregate score}`` parsed from ``{output_path}/{name}_eval_results.json``.
    """
    check_choice(mode, ('custom_input', 'vbench_standard'), 'VBench mode')
    if mode == 'custom_input':
        bad = sorted(set(dimensions) & set(CUSTOM_UNSUPPORTED))
        if bad:
            raise ValueError(
                f'VBench custom_input mode cannot evaluate {bad}; use vbench_standard.'
            )
    python = osp.expanduser(python)
    if not osp.isfile(python):
        raise FileNotFoundError(
            f'vbench interpreter {python!r} not found; create the virtualenv as in docs/evaluation.md.'
        )
    os.makedirs(output_path, exist_ok=True)
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    if cache_dir:
        env['VBENCH_CACHE_DIR'] = osp.expanduser(cache_dir)
    env.update(extra_env or {})
    args = dict(
        videos_path=osp.abspath(videos_path),
        name=name,
        dimensions=list(dimensions),
        output_path=osp.abspath(output_path),
        device=device,
        mode=mode,
        full_info=full_info,
        prompt_file=prompt_file,
        kwargs=kwargs or {},
    )
    proc = subprocess.run(
        build_command(python, args), env=env, capture_output=True, text=True, timeout=timeout
    )
    log_path = osp.join(output_path, f'{name}_vbench.log')
    with open(log_path, 'w') as f:
        f.write(proc.stdout + '\n' + proc.stderr)
    result_path = osp.join(output_path, f'{name}_eval_results.json')
    if proc.returncode != 0 or not osp.isfile(result_path):
        tail = '\n'.join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise RuntimeError(
            f'vbench failed (exit {proc.returncode}); full log in {log_path}. Last lines:\n{tail}'
        )
    return parse_vbench_results(result_path)
