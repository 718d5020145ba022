from . import feature_extractors, metrics  # noqa: F401
