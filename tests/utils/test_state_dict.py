"""load_adapted_state_dict: overlap slices, the adapt_state_dict protocol (also from torch's
plain load_state_dict), strict loading, and the quantizer / positional-table adaptation."""

import pytest
import torch
from torch import nn

from videoar.models.pos_encodings.learned import LearnedAbsolutePE, resize_scale_table
from videoar.models.quantizers.bsq import MultiScaleBSQ
from videoar.utils.state_dict import load_adapted_state_dict


class Interpolating(nn.Module):
    """A positional table (n, C) that interpolates a checkpoint's table of another length."""

    def __init__(self, rows: int, dim: int = 2) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.zeros(rows, dim))
        self.calls = []

    def adapt_state_dict(self, prefix, state_dict):
        self.calls.append(prefix)
        key = prefix + 'table'
        src = state_dict[key]
        state_dict[key] = nn.functional.interpolate(
            src.t()[None], size=self.table.shape[0], mode='linear', align_corners=True
        )[0].t()


class Net(nn.Module):
    def __init__(self, scales: int, rows: int) -> None:
        super().__init__()
        self.scale_embed = nn.Embedding(scales, 3)
        self.linear = nn.Linear(3, 3)
        self.pos = Interpolating(rows)
        self.register_buffer('steps', torch.zeros(()))


def test_equal_shapes_copy_and_overlap_slice_for_grown_table():
    torch.manual_seed(0)
    small, big = Net(scales=2, rows=3), Net(scales=4, rows=3)
    init_rows = big.scale_embed.weight[2:].detach().clone()
    report = load_adapted_state_dict(big, small.state_dict())
    assert torch.equal(big.linear.weight, small.linear.weight)
    assert torch.equal(big.scale_embed.weight[:2], small.scale_embed.weight)
    assert torch.equal(big.scale_embed.weight[2:], init_rows)  # the new scales keep their init
    assert 'overlapping slice (2, 3)' in report.adapted['scale_embed.weight']
    assert 'linear.weight' in report.loaded and not report.missing and not report.unexpected
    assert big.pos.calls == []  # its table already matched: no adaptation asked


def test_shrunk_table_takes_leading_slice():
    big, small = Net(scales=4, rows=3), Net(scales=2, rows=3)
    load_adapted_state_dict(small, big.state_dict())
    assert torch.equal(small.scale_embed.weight, big.scale_embed.weight[:2])


def test_adapt_state_dict_is_called_for_mismatched_tensor():
    src, dst = Net(2, rows=2), Net(2, rows=5)
    with torch.no_grad():
        src.pos.table.copy_(torch.tensor([[0.0, 10.0], [4.0, 14.0]]))
    report = load_adapted_state_dict(dst, src.state_dict())
    assert dst.pos.calls == ['pos.']
    expected = torch.tensor([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0], [3.0, 13.0], [4.0, 14.0]])
    assert torch.allclose(dst.pos.table, expected)
    assert 'adapt_state_dict' in report.adapted['pos.table']


def test_module_adaptation_is_respected_by_plain_and_adapted_loading():
    """A module's own adapt_state_dict wins over slicing, from both loading paths."""

    class Resizing(nn.Module):
        def __init__(self, rows):
            super().__init__()
            self.table = nn.Parameter(torch.zeros(rows))

        def adapt_state_dict(self, prefix, state_dict):
            key = prefix + 'table'
            if key in state_dict and state_dict[key].shape != self.table.shape:
                state_dict[key] = state_dict[key].repeat_interleave(2)

        def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
            self.adapt_state_dict(prefix, state_dict)
            super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    dst = nn.Sequential(Resizing(4))
    report = load_adapted_state_dict(dst, {'0.table': torch.tensor([1.0, 2.0])})
    assert torch.equal(dst[0].table.data, torch.tensor([1.0, 1.0, 2.0, 2.0]))
    assert 'Resizing.adapt_state_dict' in report.adapted['0.table']
    plain = nn.Sequential(Resizing(4))
    plain.load_state_dict({'0.table': torch.tensor([3.0, 4.0])})  # strict torch loading
    assert torch.equal(plain[0].table.data, torch.tensor([3.0, 3.0, 4.0, 4.0]))


def test_missing_unexpected_prefixes_and_module_prefix():
    src, dst = Net(2, 3), Net(2, 3)
    state = {f'module.{k}': v for k, v in src.state_dict().items() if not k.startswith('pos.')}
    state['module.extra.weight'] = torch.ones(1)
    before = dst.linear.weight.detach().clone()
    report = load_adapted_state_dict(dst, state, key_prefixes=['scale_embed.', 'pos.', 'extra.'])
    assert torch.equal(dst.scale_embed.weight, src.scale_embed.weight)
    assert torch.equal(dst.linear.weight, before)  # not selected
    assert report.missing == ['pos.table'] and report.unexpected == ['extra.weight']
    assert 'linear.weight' in report.not_selected


def test_learned_positional_table_resizes_through_its_own_loader():
    """VideoAR's LearnedAbsolutePE resizes a table of another scale schedule while loading."""
    torch.manual_seed(0)
    src = LearnedAbsolutePE(dim=4, scale_sizes=[1, 2], max_frames=2)
    dst = LearnedAbsolutePE(dim=4, scale_sizes=[1, 2, 4], max_frames=3)
    report = load_adapted_state_dict(
        nn.ModuleDict({'pe': dst}), {f'pe.{k}': v for k, v in src.state_dict().items()}
    )
    expected = resize_scale_table(src.scale_pos.data, [(1, 1), (2, 2)], [(1, 1), (2, 2), (4, 4)])
    assert torch.allclose(dst.scale_pos, expected)
    assert torch.equal(dst.frame_pos[:2], src.frame_pos) and torch.equal(
        dst.frame_pos[2], src.frame_pos[1]
    )
    assert 'overlapping' not in report.adapted['pe.scale_pos']


def test_strict_raises_on_what_adaptation_cannot_fix_and_loads_otherwise():
    src, dst = Net(scales=2, rows=3), Net(scales=4, rows=3)
    with pytest.raises(RuntimeError, match=r'size mismatch for scale_embed.weight'):
        load_adapted_state_dict(dst, src.state_dict(), strict=True)
    state = {k: v for k, v in Net(2, rows=2).state_dict().items() if k != 'steps'}
    with pytest.raises(RuntimeError, match=r"missing keys: \['steps'\]"):
        load_adapted_state_dict(Net(2, rows=5), state, strict=True)
    same = Net(2, rows=5)
    report = load_adapted_state_dict(same, Net(2, rows=2).state_dict(), strict=True)
    assert same.pos.calls == ['pos.'] and not report.missing and not report.unexpected


@pytest.mark.parametrize('loader', ['plain', 'adapted'])
def test_quantizer_of_another_schedule_loads_through_the_protocol(loader):
    """A 4-scale tokenizer quantizer loads into a 2-scale one (curriculum stage 1)."""
    trained = MultiScaleBSQ(embed_dim=4, scale_sizes=[1, 2, 3, 4], scale_init=[0.9, 0.5, 0.3, 0.2])
    small = MultiScaleBSQ(embed_dim=4, scale_sizes=[2, 4])
    if loader == 'plain':
        small.load_state_dict(trained.state_dict())
    else:
        report = load_adapted_state_dict(small, trained.state_dict(), strict=True)
        assert 'MultiScaleBSQ.adapt_state_dict' in report.adapted['scale_schedule']
    # scales of the same size take the saved scale of that size: sizes 2 and 4 are scales 1, 3
    assert torch.allclose(small.log_scales.exp(), torch.tensor([0.5, 0.2]))
    assert small.scale_schedule.tolist() == [[2, 2], [4, 4]]
