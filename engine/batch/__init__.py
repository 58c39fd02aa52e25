"""Batches: sweeps of scenarios on local processes or a Dask cluster, into a resumable store.

>>> from engine import batch
>>> sweep = batch.Sweep(base="examples/xining_park.yaml",              # doctest: +SKIP
...                     window={"start_h": 0, "horizon_h": 168},
...                     grid={"policy.carbon_price_per_t": [0, 60, 120]})
>>> batch.run(sweep, store="out/", workers=2)                          # doctest: +SKIP
>>> batch.read_store("out/")                                           # doctest: +SKIP

* :mod:`engine.batch.sweep`: the sweep (grid, overrides, samples), dotted paths, expansion
  and validation, content ids;
* :mod:`engine.batch.store`: the Parquet store, :func:`read_store`, :func:`store_status`;
* :mod:`engine.batch.parametric`: a numbers-only sweep's model as a verified affine map of
  the swept values (workers update one HiGHS model from it, nothing rebuilt);
* :mod:`engine.batch.worker`: what a worker runs (a HiGHS model kept warm per thread);
* :mod:`engine.batch.runner`: :func:`run` on local processes or Dask;
  :func:`local_cluster` starts a Dask LocalCluster with :data:`DASK_CONFIG` (Dask's
  background work cut down for batches of short scenarios).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_getattr

_LAZY = {
    "Sweep": "engine.batch.sweep",
    "SweepItem": "engine.batch.sweep",
    "load_sweep": "engine.batch.sweep",
    "read_store": "engine.batch.store",
    "store_status": "engine.batch.store",
    "Store": "engine.batch.store",
    "run": "engine.batch.runner",
    "BatchOutcome": "engine.batch.runner",
    "BatchOptions": "engine.batch.worker",
    "local_cluster": "engine.batch._dask",
    "DASK_CONFIG": "engine.batch._dask",
}

__all__ = ["DASK_CONFIG", "BatchOptions", "BatchOutcome", "Store", "Sweep", "SweepItem",
           "load_sweep", "local_cluster", "read_store", "run", "store_status"]

if TYPE_CHECKING:  # pragma: no cover
    from engine.batch._dask import DASK_CONFIG, local_cluster
    from engine.batch.runner import BatchOutcome, run
    from engine.batch.store import Store, read_store, store_status
    from engine.batch.sweep import Sweep, SweepItem, load_sweep
    from engine.batch.worker import BatchOptions

__getattr__ = lazy_getattr("engine.batch", _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
