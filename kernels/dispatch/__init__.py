"""Dispatch kernels: real-time re-dispatch loops of the rolling-horizon controller.

:func:`battery_redispatch` is the compiled (Numba, ``cache=True``) kernel;
:func:`battery_redispatch_reference` the plain NumPy reference that tests compare it with.
"""
from kernels.dispatch.battery import battery_redispatch, battery_redispatch_reference

__all__ = ["battery_redispatch", "battery_redispatch_reference"]
