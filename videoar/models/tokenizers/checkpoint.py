"""Load a trained :class:`VideoTokenizer` checkpoint into a frozen tokenizer / quantizer pair."""

from __future__ import annotations

from torch import nn

from videoar.io.checkpoint import load_state_dict
from videoar.utils import freeze
from videoar.utils.state_dict import load_adapted_state_dict


def _sub_state(state: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def load_tokenizer_checkpoint(
    path: str, tokenizer: nn.Module, quantizer: nn.Module, freeze_modules: bool = True
):
    """Load the ``tokenizer.`` / ``quantizer.`` weights of a VideoTokenizer checkpoint.

    Args:
        path: an mmengine checkpoint (``ckpt['state_dict']``) or a bare state dict, loaded with
            ``weights_only=True`` (:func:`videoar.io.checkpoint.load_state_dict`).
        tokenizer, quantizer: built modules of the same config, strictly loaded after the
            modules' own adaptation (:func:`videoar.utils.state_dict.load_adapted_state_dict`):
            a quantizer trained with another scale schedule takes the checkpoint's per-scale
            tables mapped onto its schedule (the curriculum's stage 1 uses fewer scales).
        freeze_modules: put both in eval mode without gradients (the AR model's frozen pair).

    Returns:
        ``(tokenizer, quantizer)``.

    Raises:
        KeyError: the checkpoint holds no ``tokenizer.`` or no ``quantizer.`` weights.
        RuntimeError: the weights do not fit after adaptation (a different architecture).
    """
    state = load_state_dict(path)
    for prefix, module in (('tokenizer.', tokenizer), ('quantizer.', quantizer)):
        sub = _sub_state(state, prefix)
        own = module.state_dict()
        if not sub and own:
            raise KeyError(
                f'{path!r} holds no {prefix!r} weights; is it a VideoTokenizer checkpoint? '
                f'(first keys: {list(state)[:5]})'
            )
        try:
            load_adapted_state_dict(module, sub, logger='silent', strict=True)
        except RuntimeError as err:
            raise RuntimeError(
                f'{path!r}: the {prefix[:-1]} weights do not fit the configured '
                f'{type(module).__name__} (build it from the config it was trained with). {err}'
            ) from err
        if freeze_modules:
            freeze(module)
    return tokenizer, quantizer


def inflate_tokenizer_checkpoint(
    path: str, tokenizer: nn.Module, quantizer: nn.Module, temporal_init: str = 'zero'
):
    """Initialise a video tokenizer and its quantizer from an image-tokenizer checkpoint.

    Args:
        path: a :class:`VideoTokenizer` checkpoint whose tokenizer is an ``ImageTokenizer2D``
            of the same architecture (the image-tokenizer stage of the tokenizer recipe).
        tokenizer: a built tokenizer with ``inflate_from_2d`` (``CausalVideoTokenizer``).
        quantizer: the quantizer of the same config; loaded as it is (it works per frame).
        temporal_init: ``'zero'`` or ``'random'`` for the time slices the 2D kernels do not fill
            (see :meth:`CausalVideoTokenizer.inflate_from_2d`).

    Raises:
        KeyError: the checkpoint holds no ``tokenizer.`` weights, or another layout.
    """
    state = load_state_dict(path)
    sub = _sub_state(state, 'tokenizer.')
    if not sub:
        raise KeyError(
            f'{path!r} holds no tokenizer. weights; is it a VideoTokenizer checkpoint of an '
            f'ImageTokenizer2D? (first keys: {list(state)[:5]})'
        )
    tokenizer.inflate_from_2d(sub, temporal_init)
    quantizer_state = _sub_state(state, 'quantizer.')
    if quantizer_state:
        load_adapted_state_dict(quantizer, quantizer_state, logger='silent', strict=True)
    return tokenizer, quantizer
