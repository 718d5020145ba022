"""Contract of every registered conditioner (plugins included): shapes, null, dropout."""

import inspect

import pytest
import torch

import videoar.models.conditioners  # noqa: F401  (registers the built-in conditioners)
from videoar.models.conditioners import BaseConditioner, Condition
from videoar.registry import CONDITIONERS

# extra constructor arguments of conditioners that need more than embed_dim
EXTRA_ARGS = {'ClassConditioner': dict(num_classes=10)}
META = {'label': torch.tensor([3, -1, 7]), 'caption': ['digit 3', '', 'digit 7 moving up']}


def _build(name):
    cls = CONDITIONERS.get(name)
    params = inspect.signature(cls.__init__).parameters
    required = {
        n for n, p in params.items()
        if n not in ('self', 'embed_dim') and p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }  # fmt: skip
    extra = EXTRA_ARGS.get(name, {})
    if required - set(extra):
        pytest.skip(f'{name} needs {sorted(required - set(extra))} (add them to EXTRA_ARGS)')
    torch.manual_seed(0)
    return CONDITIONERS.build(dict(type=name, embed_dim=16, **extra))


@pytest.mark.parametrize('name', sorted(CONDITIONERS.module_dict))
def test_conditioner_contract(name):
    cond = _build(name)
    assert isinstance(cond, BaseConditioner)
    cond.eval()
    out = cond(META, 3, 'cpu')
    assert isinstance(out, Condition)
    batch, length, dim = out.prefix.shape
    assert (batch, dim) == (3, 16) and 1 <= length <= cond.prefix_len
    assert out.prefix_mask.shape == (3, length) and out.prefix_mask.dtype == torch.bool
    assert out.pooled.shape == (3, 16)
    null = cond.null(3, 'cpu')
    assert null.prefix.shape == out.prefix.shape and null.pooled.shape == out.pooled.shape
    # dropping every sample gives exactly the null condition; eval is deterministic
    dropped = cond(META, 3, 'cpu', drop_mask=torch.ones(3, dtype=torch.bool))
    torch.testing.assert_close(dropped.pooled, null.pooled)
    torch.testing.assert_close(dropped.prefix, null.prefix)
    torch.testing.assert_close(cond(META, 3, 'cpu').pooled, out.pooled)
    kept = cond(META, 3, 'cpu', drop_mask=torch.zeros(3, dtype=torch.bool))
    torch.testing.assert_close(kept.pooled, out.pooled)
