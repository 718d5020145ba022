"""Models: importing this package registers every model component."""

from . import (  # noqa: F401
    conditioners,
    correctors,
    generators,
    maskings,
    pos_encodings,
    quantizers,
    sampling,
    sequence,
    tokenizers,
    transformers,
)
