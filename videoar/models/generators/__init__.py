"""Generators: the VideoAR model (mmengine BaseModel)."""

from .videoar import VideoAR

__all__ = ['VideoAR']
