import pytest

from videoar.registry import Registry
from videoar.utils import (
    ConfigError,
    build_checked,
    check_divisible,
    check_known_keys,
    check_num_frames,
    check_scale_sizes,
)


def test_unknown_key_is_named_with_a_suggestion():
    with pytest.raises(
        ConfigError, match=r"unknown key\(s\) 'num_layrs' \(did you mean 'num_layers'"
    ):
        check_known_keys({'num_layrs': 3}, ['num_layers', 'dim'], 'ToyModel')


def test_build_checked_rejects_unused_keys_before_building():
    reg = Registry('probe')
    built = []

    @reg.register_module()
    class Thing:
        def __init__(self, dim: int, depth: int = 2):
            built.append((dim, depth))

    with pytest.raises(ConfigError, match=r"Thing.*'dpeth'.*did you mean 'depth'"):
        build_checked(reg, dict(type='Thing', dim=4, dpeth=3), 'model.transformer')
    assert built == []  # nothing was constructed
    build_checked(reg, dict(type='Thing', dim=4), 'model.transformer')
    assert built == [(4, 2)]


def test_impossible_shapes_are_explained():
    with pytest.raises(
        ConfigError, match=r'height=30 is not divisible by spatial_stride=8; .*24 or 32'
    ):
        check_divisible(30, 8, 'height', 'spatial_stride')
    with pytest.raises(
        ConfigError, match=r'num_frames=16 is not of the form 1 \+ 4\*k.*use 13 or 17'
    ):
        check_num_frames(16, 4)
    check_num_frames(17, 4)
    check_num_frames(1, 4)
    with pytest.raises(
        ConfigError, match=r'last scale .* is \(3, 3\) but the tokenizer latent is \(4, 4\)'
    ):
        check_scale_sizes([1, 2, 3], latent_size=(4, 4))
    with pytest.raises(ConfigError, match='non-decreasing'):
        check_scale_sizes([(2, 2), (1, 1)])
    assert check_scale_sizes([1, (2, 3)], latent_size=(2, 3)) == [(1, 1), (2, 3)]
