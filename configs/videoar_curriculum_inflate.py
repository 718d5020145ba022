# The main job with the paper's tokenizer initialisation (§4.1): an image-tokenizer stage first
# (the tiny architecture with 2D convolutions, trained on single frames), then the video
# tokenizer starts from its weights inflated to 3D (model.inflate_from; inflate_init 'zero' keeps
# the image tokenizer's output on frame 0, 'random' is the paper's random temporal init); every
# later stage as in configs/videoar_curriculum.py.
#   python tools/train.py configs/videoar_curriculum_inflate.py
# docs/method.md ("Tokenizer from an image tokenizer") has the measured effect on the default.
_base_ = ['./videoar_curriculum.py']

work_dir = './work_dirs/videoar_curriculum_inflate'
image_tokenizer_config = (
    'configs/tokenizer/videoar-image-tokenizer_tiny_1xb32-400iters_movingdigits-32x32.py'
)
inflate_init = 'zero'

stages = dict(
    # the slot of the base (None there) keeps the stage order: image_tokenizer runs first
    image_tokenizer=dict(_delete_=True, config=image_tokenizer_config),
    tokenizer=dict(
        cfg_options={
            'model.inflate_from': '{checkpoint:image_tokenizer}',
            'model.inflate_init': inflate_init,
        },
    ),
)
