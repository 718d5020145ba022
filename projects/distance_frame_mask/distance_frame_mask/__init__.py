from .distance_mask import DistanceFrameMask

__all__ = ['DistanceFrameMask']
