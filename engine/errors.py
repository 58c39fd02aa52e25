"""Exceptions of wattbit.

Every error a user can cause by bad input is a :class:`ScenarioError` that names
the field path and the offending value, e.g.
``sites[0].batteries[1].soc_min_fraction: must be <= 1, got 1.3``.
"""
from __future__ import annotations


class ScenarioError(ValueError):
    """Invalid scenario input: the message names the field path and the value."""


class SolverError(RuntimeError):
    """The solver could not be run at all (not an infeasible or unbounded model)."""


def format_path(loc: tuple) -> str:
    """Format a location tuple such as ``('sites', 0, 'pv', 1)`` as ``sites[0].pv[1]``.

    A key that is not a name (an unknown key ``"0"`` or ``"my key"``) is quoted:
    ``cooling['0']``.
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).isidentifier():
            out += f"[{str(part)!r}]"
        else:
            out += ("." if out else "") + str(part)
    return out
