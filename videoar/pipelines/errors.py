"""The error every generation step raises for a request that cannot work."""


class GenerationError(ValueError):
    """A generation request that cannot work; the message says what would be right."""


__all__ = ['GenerationError']
