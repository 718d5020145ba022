"""ClassConditioner: embeddings, null condition, condition dropout, data_samples formats."""

import pytest
import torch

from videoar.models.conditioners import BaseConditioner, ClassConditioner, Condition
from videoar.registry import CONDITIONERS
from videoar.utils import ConfigError


def _conditioner(**kwargs):
    torch.manual_seed(0)
    return ClassConditioner(num_classes=5, embed_dim=8, **kwargs)


def test_labels_select_their_embedding_and_unlabelled_gets_null():
    cond = _conditioner(drop_prob=0.0).eval()
    out = cond({'label': torch.tensor([3, -1, 0])}, 3, 'cpu')
    table = cond.embedding.weight
    assert out.prefix.shape == (3, 1, 8) and out.prefix_mask.all()
    torch.testing.assert_close(out.pooled, table[[3, 5, 0]])
    torch.testing.assert_close(out.prefix[:, 0], out.pooled)
    null = cond.null(2, 'cpu')
    torch.testing.assert_close(null.pooled, table[[5, 5]])
    # a batch without labels (unconditional) and a list of per-sample dicts
    torch.testing.assert_close(cond({'caption': ['a', 'b']}, 2, 'cpu').pooled, null.pooled)
    listed = cond([{'label': 1}, {'label': 4}], 2, 'cpu')
    torch.testing.assert_close(listed.pooled, table[[1, 4]])


def test_bad_labels_and_config_raise():
    cond = _conditioner()
    with pytest.raises(ValueError, match=r'\[0, 5\)'):
        cond({'label': torch.tensor([5])}, 1, 'cpu')
    with pytest.raises(ValueError, match='same length'):
        cond({'label': torch.tensor([1, 2])}, 3, 'cpu')
    with pytest.raises(ConfigError, match='drop_prob'):
        ClassConditioner(num_classes=5, embed_dim=8, drop_prob=1.0)
    with pytest.raises(ConfigError, match='num_classes'):
        ClassConditioner(num_classes=0, embed_dim=8)


def test_explicit_drop_mask_replaces_by_null():
    cond = _conditioner(drop_prob=0.0)
    labels = {'label': torch.tensor([1, 2, 3])}
    out = cond(labels, 3, 'cpu', drop_mask=torch.tensor([False, True, False]))
    table = cond.embedding.weight
    torch.testing.assert_close(out.pooled, table[[1, 5, 3]])


def test_condition_dropout_rate_in_training_and_none_in_eval():
    cond = _conditioner(drop_prob=0.25)
    labels = {'label': torch.zeros(4000, dtype=torch.long)}
    torch.manual_seed(123)
    out = cond.train()(labels, 4000, 'cpu')
    dropped = (out.pooled == cond.embedding.weight[5]).all(-1).float().mean().item()
    assert abs(dropped - 0.25) < 0.03  # 4000 draws: std ~ 0.007
    out = cond.eval()(labels, 4000, 'cpu')
    assert (out.pooled == cond.embedding.weight[0]).all()


def test_condition_helpers_and_registry():
    cond = CONDITIONERS.build(dict(type='ClassConditioner', num_classes=3, embed_dim=4))
    assert isinstance(cond, BaseConditioner) and cond.prefix_len == 1
    a = cond({'label': torch.tensor([0, 1])}, 2, 'cpu')
    b = cond.null(2, 'cpu')
    both = Condition.cat([a, b])
    assert both.batch_size == 4 and both.prefix_len == 1
    torch.testing.assert_close(both.pooled[2:], b.pooled)
    rep = a.repeat(2)
    torch.testing.assert_close(rep.pooled[1], a.pooled[0])
    torch.testing.assert_close(rep.pooled[2], a.pooled[1])
