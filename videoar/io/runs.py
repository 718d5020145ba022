"""How runs find each other: a run's work directory records what it produced.

Two records, both JSON, both written when the thing they describe exists:

* ``<stage work dir>/finished.json`` (``StageFinishedHook``): the final ``checkpoint``, the
  ``model_type``, and for a generator stage the ``tokenizer_checkpoint`` and ``latent_cache_dirs``
  it trained with.
* ``<curriculum work dir>/run.json`` (the curriculum runner): ``kind='curriculum'``, the stage
  names with their kinds, which stage is the tokenizer, and the shared latent cache directory.

:func:`resolve_run_inputs` turns "the run this config starts from" (a curriculum work dir, a
stage work dir, or explicit files) into the three inputs an autoregressive stage needs: the
tokenizer checkpoint, the checkpoint to initialise from, and the latent cache directory. The
engine gives them to every consumer (``videoar.engine.runs.link_inputs``); ``docs/generation.md``
and the README's "After the main job" describe the config key ``inputs``.
"""

from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass

from .checkpoint import (
    FINISHED_FILE,
    LAST_CHECKPOINT_FILE,
    CheckpointNotFoundError,
    find_final_checkpoint,
    read_finished,
    resolve_checkpoint,
)
from .records import read_json, write_json

RUN_FILE = 'run.json'
#: the stage name a curriculum's tokenizer has unless its run.json says otherwise
DEFAULT_TOKENIZER_STAGE = 'tokenizer'
DEFAULT_LATENT_CACHE = 'latent_cache'
MAIN_JOB_COMMAND = 'python tools/train.py configs/videoar_curriculum.py'


@dataclass
class RunInputs:
    """The resolved inputs of a stage (absolute paths, or None when not asked for)."""

    tokenizer: str | None = None
    init: str | None = None
    latent_cache: str | None = None
    source: str | None = None  # the run they came from

    def describe(self) -> str:
        parts = [
            f'{name} {value}'
            for name, value in (
                ('tokenizer', self.tokenizer),
                ('init', self.init),
                ('latent cache', self.latent_cache),
            )
            if value
        ]
        origin = f' (from {self.source})' if self.source else ''
        return 'inputs' + origin + ': ' + (', '.join(parts) or 'none')


def write_curriculum_record(
    root: str, stages: dict[str, str], tokenizer_stage: str | None, config: str | None
) -> str:
    """Write ``<root>/run.json`` for a curriculum (``stages``: name -> kind)."""
    record = dict(
        kind='curriculum',
        config=osp.abspath(config) if config else None,
        stages=dict(stages),
        tokenizer_stage=tokenizer_stage,
        latent_cache=DEFAULT_LATENT_CACHE,
    )
    return write_json(osp.join(root, RUN_FILE), record)


def curriculum_record(path: str) -> dict | None:
    """The curriculum record of ``path``: its ``run.json``, or (for a curriculum written before
    run.json existed) one inferred from sub-directories holding ``finished.json``. None when
    ``path`` is not a curriculum work directory."""
    if not osp.isdir(path):
        return None
    run_file = osp.join(path, RUN_FILE)
    if osp.isfile(run_file):
        record = read_json(run_file)
        if isinstance(record, dict) and record.get('kind') == 'curriculum':
            return record
    if osp.isfile(osp.join(path, FINISHED_FILE)) or osp.isfile(
        osp.join(path, LAST_CHECKPOINT_FILE)
    ):
        return None  # a stage's own work dir
    stages = {
        name: 'train'
        for name in sorted(os.listdir(path))
        if osp.isfile(osp.join(path, name, FINISHED_FILE))
    }
    if not stages:
        return None
    tokenizer = DEFAULT_TOKENIZER_STAGE if DEFAULT_TOKENIZER_STAGE in stages else None
    return dict(kind='curriculum', stages=stages, tokenizer_stage=tokenizer, latent_cache=None)


def _is_tokenizer_run(finished: dict) -> bool:
    return 'Tokenizer' in str(finished.get('model_type') or '')


def _checkpoint(spec, what: str, command: str) -> str:
    """A file, a run's work dir (its final checkpoint) or ``dict(work_dir=, command=)``."""
    if isinstance(spec, dict) or hasattr(spec, 'keys'):
        return osp.abspath(resolve_checkpoint(dict(spec), what))
    spec = osp.expanduser(str(spec))
    if osp.isdir(spec):
        return osp.abspath(find_final_checkpoint(spec, command=command))
    return osp.abspath(resolve_checkpoint(spec, what))


def _from_curriculum(root: str, record: dict, init_stage, command: str) -> RunInputs:
    found = RunInputs(source=root)
    tokenizer_stage = record.get('tokenizer_stage')
    if tokenizer_stage:
        found.tokenizer = osp.abspath(
            find_final_checkpoint(osp.join(root, tokenizer_stage), command=command)
        )
    cache = osp.join(root, record.get('latent_cache') or DEFAULT_LATENT_CACHE)
    found.latent_cache = osp.abspath(cache) if osp.isdir(cache) else None
    if init_stage:
        stages = record.get('stages') or {}
        if init_stage not in stages:
            raise CheckpointNotFoundError(
                f'the curriculum {root} has no stage {init_stage!r} to initialise from (its '
                f'stages: {sorted(stages)}); set inputs.init_stage to one of them, or '
                'inputs.init=CHECKPOINT.'
            )
        found.init = osp.abspath(
            find_final_checkpoint(
                osp.join(root, init_stage), command=command, require_finished=True
            )
        )
    return found


def _from_stage(work_dir: str, init_stage, command: str) -> RunInputs:
    own = osp.abspath(find_final_checkpoint(work_dir, command=command))
    finished = read_finished(work_dir) or {}
    found = RunInputs(source=work_dir)
    if _is_tokenizer_run(finished):
        found.tokenizer = own
        if init_stage:
            raise CheckpointNotFoundError(
                f'{work_dir} is a tokenizer run, and this stage initialises from stage '
                f'{init_stage!r}: give that stage instead (inputs.run=<its work dir> or '
                'inputs.init=CHECKPOINT), with inputs.tokenizer=' + work_dir + '.'
            )
        return found
    tokenizer = finished.get('tokenizer_checkpoint')
    if tokenizer:
        found.tokenizer = osp.abspath(tokenizer)
    caches = [c for c in finished.get('latent_cache_dirs') or [] if osp.isdir(c)]
    found.latent_cache = osp.abspath(caches[0]) if caches else None
    if init_stage:
        found.init = own
    return found


def resolve_run_inputs(
    run: str | None = None,
    tokenizer: str | None = None,
    init: str | None = None,
    latent_cache: str | None = None,
    init_stage: str | None = None,
    command: str | None = None,
) -> RunInputs:
    """Resolve a stage's inputs (see the module docstring).

    Args:
        run: a curriculum work dir (its tokenizer stage, shared latent cache and the stage named
            ``init_stage``) or a stage's work dir (the tokenizer and latent cache it used, its
            own final checkpoint to initialise from).
        tokenizer, init: a checkpoint file or a run's work dir; each overrides what ``run`` gives.
        latent_cache: a latent cache directory; overrides what ``run`` gives.
        init_stage: the curriculum stage this stage initialises from (None: it initialises from
            nothing).
        command: the command that makes the run, named in errors (default: the main job).

    Raises:
        CheckpointNotFoundError: a named run or file does not exist; the message says which
            command makes it.
    """
    command = command or MAIN_JOB_COMMAND
    found = RunInputs()
    if run:
        root = osp.abspath(osp.expanduser(str(run)))
        if not osp.isdir(root):
            raise CheckpointNotFoundError(
                f'inputs.run={run!r}: {root} does not exist. Run `{command}` first (from the '
                'directory you run this command in), or point inputs.run at a curriculum or '
                'stage work dir, or give inputs.tokenizer / inputs.init.'
            )
        record = curriculum_record(root)
        if record is not None:
            found = _from_curriculum(root, record, init_stage, command)
        else:
            found = _from_stage(root, init_stage, command)
    if tokenizer:
        found.tokenizer = _checkpoint(tokenizer, 'inputs.tokenizer', command)
    if init:
        found.init = _checkpoint(init, 'inputs.init', command)
    if latent_cache:
        found.latent_cache = osp.abspath(osp.expanduser(str(latent_cache)))
    return found


__all__ = [
    'MAIN_JOB_COMMAND',
    'RUN_FILE',
    'RunInputs',
    'curriculum_record',
    'resolve_run_inputs',
    'write_curriculum_record',
]
