"""A run's work dir that was copied or moved: its recorded absolute paths follow it."""

import json
import shutil

from videoar.io.checkpoint import find_final_checkpoint, read_finished
from videoar.io.runs import resolve_run_inputs, write_curriculum_record


def _stage(root, name, **extra):
    work = root / name
    work.mkdir(parents=True)
    checkpoint = work / 'iter_4.pth'
    checkpoint.write_bytes(b'x')
    record = dict(checkpoint=str(checkpoint), iteration=4, **extra)
    (work / 'finished.json').write_text(json.dumps(record))
    return str(checkpoint)


def _curriculum(root):
    tokenizer = _stage(root, 'tokenizer', model_type='VideoTokenizer')
    (root / 'latent_cache').mkdir()
    stage1 = _stage(root, 'stage1', model_type='VideoAR', tokenizer_checkpoint=tokenizer,
                    latent_cache_dirs=[str(root / 'latent_cache')])  # fmt: skip
    _stage(root, 'stage2', model_type='VideoAR', tokenizer_checkpoint=tokenizer,
           init_checkpoint=stage1, latent_cache_dirs=[str(root / 'latent_cache')])  # fmt: skip
    write_curriculum_record(str(root), {'tokenizer': 'train', 'stage1': 'train',
                                        'stage2': 'train'}, 'tokenizer', None)  # fmt: skip


def test_a_copied_curriculum_uses_its_own_files_after_the_original_is_gone(tmp_path):
    original, copy = tmp_path / 'orig', tmp_path / 'elsewhere' / 'copy'
    _curriculum(original)
    shutil.copytree(original, copy)
    shutil.rmtree(original)
    finished = read_finished(str(copy / 'stage2'))
    assert finished['checkpoint'] == str(copy / 'stage2' / 'iter_4.pth')
    assert finished['tokenizer_checkpoint'] == str(copy / 'tokenizer' / 'iter_4.pth')
    assert finished['init_checkpoint'] == str(copy / 'stage1' / 'iter_4.pth')
    assert finished['latent_cache_dirs'] == [str(copy / 'latent_cache')]
    assert find_final_checkpoint(str(copy / 'stage2')) == str(copy / 'stage2' / 'iter_4.pth')
    whole = resolve_run_inputs(run=str(copy), init_stage='stage1')
    assert (whole.tokenizer, whole.init, whole.latent_cache) == (
        str(copy / 'tokenizer' / 'iter_4.pth'), str(copy / 'stage1' / 'iter_4.pth'),
        str(copy / 'latent_cache'))  # fmt: skip
    one = resolve_run_inputs(run=str(copy / 'stage2'), init_stage='stage1')
    assert (one.tokenizer, one.init, one.latent_cache) == (
        str(copy / 'tokenizer' / 'iter_4.pth'), str(copy / 'stage2' / 'iter_4.pth'),
        str(copy / 'latent_cache'))  # fmt: skip


def test_a_copy_points_at_its_own_files_while_the_original_exists(tmp_path):
    original, copy = tmp_path / 'orig', tmp_path / 'copy'
    _curriculum(original)
    shutil.copytree(original, copy)
    assert read_finished(str(copy / 'stage2'))['tokenizer_checkpoint'] == str(
        copy / 'tokenizer' / 'iter_4.pth'
    )
    # the original is unchanged, and a path outside the run is kept as recorded
    assert read_finished(str(original / 'stage2'))['tokenizer_checkpoint'] == str(
        original / 'tokenizer' / 'iter_4.pth'
    )


def test_a_stage_copied_alone_keeps_its_outside_inputs(tmp_path):
    _curriculum(tmp_path / 'main')
    shutil.copytree(tmp_path / 'main' / 'stage2', tmp_path / 'alone')
    finished = read_finished(str(tmp_path / 'alone'))
    assert finished['checkpoint'] == str(tmp_path / 'alone' / 'iter_4.pth')
    assert finished['tokenizer_checkpoint'] == str(tmp_path / 'main' / 'tokenizer' / 'iter_4.pth')
