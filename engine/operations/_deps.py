"""What the rolling horizon takes from the engine's data, formulation and results.

Imported here once, so that a move of one of them is one edit.
"""
from __future__ import annotations

from engine.data import ScenarioData, prepare
from engine.formulation import build
from engine.results import Result, extract

__all__ = ["Result", "ScenarioData", "build", "extract", "prepare"]
