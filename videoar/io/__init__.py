"""The bottom layer: files on disk. Every other layer may import it; it imports none of them.

* :mod:`videoar.io.video`: read, probe and write videos and grids with PyAV (mp4, webm, avi, gif).
* :mod:`videoar.io.checkpoint`: safe checkpoint loading (``weights_only`` with an allowlist),
  the state dict inside, and the final checkpoint of a run's work directory.
* :mod:`videoar.io.records`: content hashes and JSON records.
"""

from .checkpoint import (
    CheckpointNotFoundError,
    UnsafeCheckpointError,
    allow_checkpoint_globals,
    find_final_checkpoint,
    load_checkpoint_safe,
    load_state_dict,
    resolve_checkpoint,
)
from .records import file_sha256, read_json, state_dict_sha256, to_jsonable, write_json
from .video import (
    VIDEO_EXTENSIONS,
    VideoReadError,
    from_uint8,
    make_grid,
    probe_video,
    read_video,
    to_uint8,
    write_grid,
    write_video,
)

__all__ = [
    'VIDEO_EXTENSIONS',
    'CheckpointNotFoundError',
    'UnsafeCheckpointError',
    'VideoReadError',
    'allow_checkpoint_globals',
    'file_sha256',
    'find_final_checkpoint',
    'from_uint8',
    'load_checkpoint_safe',
    'load_state_dict',
    'make_grid',
    'probe_video',
    'read_json',
    'read_video',
    'resolve_checkpoint',
    'state_dict_sha256',
    'to_jsonable',
    'to_uint8',
    'write_grid',
    'write_json',
    'write_video',
]
