"""tools/extract_latents.py: 2 ranks encode a dataset into latent shards; a run cut short (and a
partial temporary file) resumes without redoing finished shards; the latents equal a direct
encode with the same tokenizer."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from videoar.datasets import ShardDataset
from videoar.datasets.shards import read_index
from videoar.registry import DATASETS, TOKENIZERS

CONFIG = """
_base_ = [{tiny!r}]
train_dataloader = dict(dataset=dict(length=10))
"""


@pytest.mark.dist
def test_extraction_over_two_ranks_resumes_after_a_kill(tmp_path, repo_root, run_tool):
    config = tmp_path / 'cfg.py'
    config.write_text(CONFIG.format(
        tiny=os.path.join(repo_root, 'configs/_base_/videoar_tiny_movingdigits.py')))  # fmt: skip
    out = str(tmp_path / 'latents')
    common = ['tools/extract_latents.py', str(config), out, '--samples-per-shard', '3',
              '--batch-size', '2']  # fmt: skip
    # "killed" after one shard, leaving a partial temporary file behind
    run_tool(*common, '--max-shards', '1', check=True)
    assert sorted(f for f in os.listdir(out) if f.endswith('.tar')) == ['latent-000000.tar']
    first = os.path.getmtime(os.path.join(out, 'latent-000000.tar'))
    with open(os.path.join(out, '.tmp-latent-000001-000000.tar'), 'wb') as handle:
        handle.write(b'partial')
    run_tool('-m', 'torch.distributed.run', '--nproc-per-node', '2', '--master-port', '29547',
             *common, '--launcher', 'pytorch', check=True)  # fmt: skip
    assert [s['num_samples'] for s in read_index(out)] == [3, 3, 3, 1]
    assert os.path.getmtime(os.path.join(out, 'latent-000000.tar')) == first  # not redone
    items = sorted(ShardDataset(out, kind='latent', shuffle=False),
                   key=lambda item: item['data_samples']['index'])  # fmt: skip
    assert [i['data_samples']['index'] for i in items] == list(range(10))

    cfg = Config.fromfile(str(config))
    with DefaultScope.overwrite_default_scope('videoar'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        torch.manual_seed(0)  # the tool's random init (no tokenizer checkpoint here)
        tokenizer = TOKENIZERS.build(dict(cfg.model.tokenizer)).eval()
    with torch.no_grad():
        direct = tokenizer.encode(torch.stack([dataset[i]['inputs'] for i in (0, 7)]))
    for row, index in enumerate((0, 7)):
        stored = items[index]['data_samples']['latent']
        torch.testing.assert_close(stored, direct[row], atol=2e-3, rtol=2e-3)  # float16 storage
