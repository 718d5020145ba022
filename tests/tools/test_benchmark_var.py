"""``tools/benchmark.py --var-repo``: ours beside the official VAR code. Runs only when
``VIDEOAR_VAR_REPO`` names a local VAR checkout (VAR is not a dependency of videoar)."""

import importlib
import os

import pytest
import torch

VAR_REPO = os.environ.get('VIDEOAR_VAR_REPO')


@pytest.mark.skipif(not VAR_REPO, reason='set VIDEOAR_VAR_REPO to a checkout of the VAR code')
def test_var_comparison_times_both_sides_at_both_depths(repo_root):
    compare = importlib.import_module('tools.benchmarks.var_compare').compare
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        out = compare(VAR_REPO, quick=True)
    finally:
        torch.set_num_threads(threads)
    for depth in (8, 16):
        for kind in ('train', 'sample'):
            ours, var = out[f'd{depth}_{kind}_ours_ms'], out[f'd{depth}_{kind}_var_ms']
            assert ours > 0 and var > 0
            assert out[f'd{depth}_{kind}_ours_over_var'] == pytest.approx(ours / var)
