"""Conditioners: class labels (and, later, text encoders) with condition dropout for CFG."""

from .base import BaseConditioner, Condition, get_field
from .class_conditioner import ClassConditioner

__all__ = ['BaseConditioner', 'ClassConditioner', 'Condition', 'get_field']
