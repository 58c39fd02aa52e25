"""Exceptions raised by the power-flow kernels.

Kernels import nothing from ``engine``; the engine may catch these and re-raise its own.
"""


class PowerFlowInputError(ValueError):
    """Input arrays are malformed (shape, NaN, unknown bus number, unsupported element)."""


class NotRadialError(PowerFlowInputError):
    """The in-service branches do not form a tree rooted at the slack bus."""
