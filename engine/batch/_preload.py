"""Imported once by the ``forkserver`` that forks the local batch workers, so that every
worker (and every replacement of a dead one) starts with the solve path imported: pandas,
the scenario schema, the components (pvlib), the model, the results and highspy. Imports
only: no solve runs here (HiGHS's threads must not exist in a process that forks)."""
from __future__ import annotations

import pandas  # noqa: F401

import engine.batch.worker  # noqa: F401
import engine.model.build  # noqa: F401
import engine.model.data  # noqa: F401
import engine.results  # noqa: F401
import engine.scenario.container  # noqa: F401
from engine.backends.reuse import preload

preload()
