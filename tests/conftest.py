"""Shared fixtures for the power-flow tests.

On the ``powerflow`` branch ``engine`` has no ``__init__.py`` (the main branch owns it),
so ``engine`` imports as a namespace package: run ``python -m pytest`` from the
repository root, which puts the root on ``sys.path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.network import Network, read_matpower

CASES = Path(__file__).parent / "data" / "matpower"


@pytest.fixture(scope="session")
def read_case():
    """Read a bundled MATPOWER case by name, once per session."""
    cache: dict[str, Network] = {}

    def read(name: str) -> Network:
        if name not in cache:
            cache[name] = read_matpower(CASES / f"{name}.m")
        return cache[name]

    return read
