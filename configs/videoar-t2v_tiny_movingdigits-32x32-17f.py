# Text-to-video with the tiny VideoAR on captioned MovingDigits (17 x 32 x 32 clips):
# captions such as 'digit 3 moving up-left' are encoded by a small byte-level text encoder trained
# with the model (CharTextConditioner); its 32 tokens (bos + bytes + eos, right-padded) form the
# sequence prefix at 1-D positions (i, i, i) of Multi-scale Temporal RoPE. Condition dropout
# (drop_prob 0.1) to a learned null prefix gives classifier-free guidance, sampled with the paper's
# decreasing text-to-video schedule (gamma 5 -> 3 over the blocks, DecreasingCFG).
#   python tools/train.py configs/videoar-t2v_tiny_movingdigits-32x32-17f.py
#   python tools/generate.py configs/videoar-t2v_tiny_movingdigits-32x32-17f.py CKPT \
#       --prompts "digit 3 moving up-left" "digit 7 moving down" --num-samples 2
# The frozen tokenizer is the main job's (python tools/train.py configs/videoar_curriculum.py),
# found through `inputs` (videoar/engine/runs.py); another one: --cfg-options
# inputs.tokenizer=CHECKPOINT_OR_RUN_DIR (a run of configs/tokenizer/videoar-tokenizer_tiny_*.py).
# Train only (tools/test.py adds metrics), as ./_base_/videoar_tiny_movingdigits.py.
_base_ = ['./_base_/videoar_tiny_movingdigits.py']

inputs = dict(
    run='./work_dirs/videoar_curriculum',
    command='python tools/train.py configs/videoar_curriculum.py',
)

model = dict(
    conditioner=dict(
        _delete_=True,
        type='CharTextConditioner',
        max_length=32,  # single-digit captions are at most 25 bytes
        width=64,
        depth=2,
        num_heads=4,
        drop_prob=0.1,
    ),
    sample_cfg=dict(
        _delete_=True,
        cfg_schedule=dict(type='DecreasingCFG', start=5.0, end=3.0),
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        seed=0,
    ),
)
