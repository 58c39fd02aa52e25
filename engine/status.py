"""Solver outcomes, mapped once from each backend's own codes."""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """Outcome of a solve; callers never branch on raw solver enums."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value

    @property
    def has_solution(self) -> bool:
        """Whether primal values are available (optimal, or a feasible point at a time limit)."""
        return self in (Status.OPTIMAL, Status.TIME_LIMIT)
