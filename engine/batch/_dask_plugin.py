"""The Dask worker plugin that installs a batch's context on every worker.

A plugin (rather than scattered data) because the scheduler sends it to every worker,
including one started after another died: scattered data is not recomputable, and Dask's
active memory manager may drop its extra replicas, so a killed worker could take the last
copy with it and the scheduler would then forget every task that needs it. Imported only
where ``distributed`` is installed.
"""
from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from engine.batch.worker import BatchContext, install, uninstall

__all__ = ["ContextPlugin"]


class ContextPlugin(WorkerPlugin):
    """Installs ``ctx`` in each worker process (tasks then name it by its token).

    Parameters
    ----------
    ctx : BatchContext
        The batch's context (its parametric map, if any).
    """

    idempotent = False

    def __init__(self, ctx: BatchContext) -> None:
        self.ctx = ctx
        self.name = f"wattbit-batch-{ctx.token[:16]}"

    def setup(self, worker: Any) -> None:
        install(self.ctx)

    def teardown(self, worker: Any) -> None:
        uninstall(self.ctx.token)
