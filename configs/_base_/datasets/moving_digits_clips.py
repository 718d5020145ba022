# MovingDigits clips, the embedded default dataset: 17 x 32 x 32 clips of bouncing handwritten
# digits rendered deterministically from scikit-learn's bundled digits (nothing to download).
# The one definition of the clip dicts: ./moving_digits.py builds its dataloaders from them, the
# AR stages (configs/_base_/videoar_movingdigits_ar.py) wrap them in a latent cache and the
# curriculum (configs/videoar_curriculum.py) compares generated videos with val_clips.
#
# num_frames and img_size are baked into the dicts when this file is loaded: a child config that
# changes them restates the clip fields, e.g. dict(_base_.train_clips, num_frames=num_frames).
num_frames = 17  # 1 + 4k frames: the tokenizer's temporal stride is 4
img_size = 32

digits_clips = dict(
    type='MovingDigits',
    num_frames=num_frames,
    height=img_size,
    width=img_size,
    num_digits=1,
    seed=0,
)
train_clips = dict(digits_clips, split='train', length=10000)
val_clips = dict(digits_clips, split='val', length=256)
test_clips = dict(digits_clips, split='test', length=256)
