from .modules import eval_mode, freeze, unwrap
from .validation import (
    ConfigError,
    build_checked,
    check_choice,
    check_divisible,
    check_known_keys,
    check_kwargs_for,
    check_num_frames,
    check_positive,
    check_scale_sizes,
)

__all__ = [
    'ConfigError',
    'build_checked',
    'check_choice',
    'check_divisible',
    'check_known_keys',
    'check_kwargs_for',
    'check_num_frames',
    'check_positive',
    'check_scale_sizes',
    'eval_mode',
    'freeze',
    'unwrap',
]
