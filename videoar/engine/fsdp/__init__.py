"""FSDP2 training through mmengine: the model wrapper, the runner with sharded checkpoints, and
the DCP helpers (see ``configs/_base_/strategies/fsdp2.py``)."""

from .dcp_checkpoint import (
    SHARDED_KEY,
    consolidate_checkpoint,
    load_sharded,
    read_sharded_checkpoint,
    save_sharded,
    sharded_dir,
    sharded_pointer,
)
from .runner import FSDP2Runner
from .wrapper import FSDP2ModelWrapper, shard_model

__all__ = [
    'SHARDED_KEY',
    'FSDP2ModelWrapper',
    'FSDP2Runner',
    'consolidate_checkpoint',
    'load_sharded',
    'read_sharded_checkpoint',
    'save_sharded',
    'shard_model',
    'sharded_dir',
    'sharded_pointer',
]
