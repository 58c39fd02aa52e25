"""Imported once by the ``forkserver`` that forks the local batch workers, so that every
worker (and every replacement of a dead one) starts with the solve path imported: pandas,
the scenario schema, the components (pvlib), the model, the results, highspy and
pyarrow (workers write their tasks' part files). Imports
only: no solve runs here (HiGHS's threads must not exist in a process that forks)."""
from __future__ import annotations

import importlib

from engine.backends.reuse import preload

for _name in ("pandas", "pyarrow.parquet", "engine.scenario.container", "engine.model.data", "engine.model.build",
              "engine.results", "engine.batch.worker"):
    importlib.import_module(_name)
preload()
