import json
import math

import torch
from mmengine.evaluator import Evaluator

from videoar.evaluation.metrics import PSNR, SSIM
from videoar.evaluation.report import collect_protocols, write_metrics_json


def test_metrics_json_holds_numbers_and_protocols(tmp_path):
    evaluator = Evaluator([PSNR(), SSIM()])
    video = torch.rand(3, 2, 12, 12) * 2 - 1
    evaluator.process([dict(pred_video=video, gt_video=video)] * 2)
    metrics = evaluator.evaluate(2)
    assert metrics['psnr'] == math.inf
    path = tmp_path / 'sub' / 'metrics.json'
    write_metrics_json(
        str(path), metrics, evaluator, extra=dict(config='cfg.py', step=torch.tensor(3))
    )
    record = json.loads(path.read_text())  # valid JSON (inf is written as a string)
    assert record['metrics'] == {'psnr': 'inf', 'ssim': 1.0}
    assert record['protocols']['psnr']['num_videos'] == 2
    assert record['protocols']['ssim']['window'].startswith('gaussian 11x11')
    assert record['config'] == 'cfg.py' and record['step'] == 3
    assert 'created' in record and record['videoar_version']


def test_collect_protocols_accepts_lists_and_skips_metrics_without_one():
    class NoProtocol:
        pass

    class WithProtocol:
        name = 'fvd'
        prefix = ''
        protocol = {'ddof': 1}

    assert collect_protocols([NoProtocol(), WithProtocol(), WithProtocol()]) == {
        'fvd': {'ddof': 1},
        'fvd#2': {'ddof': 1},
    }
    assert collect_protocols(None) == {}
