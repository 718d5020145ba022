"""Conditioners: class labels and text encoders, with condition dropout for CFG."""

from .base import BaseConditioner, Condition
from .class_conditioner import ClassConditioner
from .text import CharTextConditioner, T5TextConditioner, TextConditionerBase
from .text_tokenizer import ByteTokenizer

__all__ = [
    'BaseConditioner',
    'ByteTokenizer',
    'CharTextConditioner',
    'ClassConditioner',
    'Condition',
    'T5TextConditioner',
    'TextConditionerBase',
]
