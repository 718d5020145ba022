"""load_adapted_state_dict (overlap slices, adapt_state_dict, module loaders) and
find_final_checkpoint."""

import json
import os

import pytest
import torch
from torch import nn

from videoar.engine.weights import load_adapted_state_dict
from videoar.io.checkpoint import CheckpointNotFoundError, find_final_checkpoint


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


def test_module_loader_resizing_is_respected():
    """A module that resizes in its own _load_from_state_dict is not overridden by slicing."""

    class Resizing(nn.Module):
        def __init__(self, rows):
            super().__init__()
            self.table = nn.Parameter(torch.zeros(rows))

        def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
            key = prefix + 'table'
            if key in state_dict and state_dict[key].shape != self.table.shape:
                state_dict[key] = state_dict[key].repeat_interleave(2)
            super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    dst = nn.Sequential(Resizing(4))
    report = load_adapted_state_dict(dst, {'0.table': torch.tensor([1.0, 2.0])})
    assert torch.equal(dst[0].table.data, torch.tensor([1.0, 1.0, 2.0, 2.0]))
    assert 'loader' in report.adapted['0.table']


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


def test_find_final_checkpoint(tmp_path):
    work = tmp_path / 'stage1'
    with pytest.raises(CheckpointNotFoundError, match='run `python tools/train.py s1.py` first'):
        find_final_checkpoint(str(work), command='python tools/train.py s1.py')
    work.mkdir()
    ckpt = work / 'iter_4.pth'
    torch.save({'state_dict': {}}, ckpt)
    (work / 'last_checkpoint').write_text(str(ckpt))
    assert find_final_checkpoint(str(work)) == str(ckpt)
    with pytest.raises(CheckpointNotFoundError, match='finished.json'):
        find_final_checkpoint(str(work), require_finished=True)
    final = work / 'iter_8.pth'
    torch.save({'state_dict': {}}, final)
    (work / 'finished.json').write_text(json.dumps({'checkpoint': 'iter_8.pth'}))
    assert find_final_checkpoint(str(work), require_finished=True) == os.path.join(
        work, 'iter_8.pth'
    )
    os.remove(final)
    with pytest.raises(CheckpointNotFoundError, match='does not exist'):
        find_final_checkpoint(str(work))


def test_learned_positional_table_resizes_through_its_own_loader():
    """VideoAR's LearnedAbsolutePE resizes a table of another scale schedule while loading."""
    from videoar.models.pos_encodings.learned import LearnedAbsolutePE, resize_scale_table

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


def test_resolve_checkpoint_accepts_file_dir_and_names_the_command(tmp_path):
    from videoar.io.checkpoint import CheckpointNotFoundError, resolve_checkpoint

    ckpt = tmp_path / 'run' / 'iter_5.pth'
    ckpt.parent.mkdir()
    ckpt.write_bytes(b'x')
    (tmp_path / 'run' / 'last_checkpoint').write_text(str(ckpt))
    assert resolve_checkpoint(str(ckpt)) == str(ckpt)
    assert resolve_checkpoint(str(tmp_path / 'run')) == str(ckpt)
    assert resolve_checkpoint(dict(work_dir=str(tmp_path / 'run'))) == str(ckpt)
    assert resolve_checkpoint(None) is None
    cmd = 'python tools/train.py configs/tokenizer/x.py'
    import pytest

    with pytest.raises(CheckpointNotFoundError, match='configs/tokenizer/x.py'):
        resolve_checkpoint(dict(work_dir=str(tmp_path / 'missing'), command=cmd))
