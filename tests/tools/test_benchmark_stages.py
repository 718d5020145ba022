"""The stage-step benchmark times the tokenizer in both precisions, whatever the config sets."""

import importlib

import torch


def test_tokenizer_steps_are_timed_in_fp32_and_in_bf16(repo_root):
    stages = importlib.import_module('tools.benchmarks.stages')
    wrappers = {}
    for amp in (False, True):
        _, wrapper = stages._build(stages.TOKENIZER_CONFIG, amp)
        wrappers[amp] = wrapper
    assert type(wrappers[False]).__name__ == 'OptimWrapper'  # the config itself sets bf16
    assert type(wrappers[True]).__name__ == 'PortableAmpOptimWrapper'
    assert wrappers[True].cast_dtype == torch.bfloat16
