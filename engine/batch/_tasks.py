"""The batch runner's bookkeeping of tasks: how pending scenarios are dealt into tasks, how
each task's part file is named, and the rows the driver makes for scenarios that crashed."""
from __future__ import annotations

import math
import time
import uuid
from collections import deque
from typing import Any

from engine.batch.store import Store
from engine.batch.sweep import SweepItem
from engine.batch.worker import BatchContext, TaskResult


class Plan:
    """Names the part file of each task and finds the parts of tasks whose report was lost."""

    def __init__(self, store: Store, worker_writes: bool) -> None:
        self.store, self.worker_writes = store, worker_writes
        self.run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.seq = 0

    def name(self) -> str:
        """A new task's part name (unique across runs into the store)."""
        self.seq += 1
        return f"{self.run_id}-{self.seq:05d}"

    def sink(self, name: str):
        """The task's sink, or None when the driver writes its rows."""
        return self.store.sink(name) if self.worker_writes else None

    def recover(self, name: str | None) -> TaskResult | None:
        """The task's result from its part file, when its worker wrote it (and then died)."""
        rows = self.store.part_rows(name) if name is not None else None
        return None if rows is None else TaskResult(rows=rows, part=name)


class Tasks:
    """The pending scenarios dealt into tasks: a quarter of the rest per worker (at most
    64, at least 1) or ``chunk`` each; tasks given back (a failed submit) come first."""

    def __init__(self, items: list[SweepItem], workers: int, chunk: int | None) -> None:
        self.items, self.workers, self.chunk = items, workers, chunk
        self.pos = 0
        self.back: deque[list[SweepItem]] = deque()

    def __bool__(self) -> bool:
        return bool(self.back) or self.pos < len(self.items)

    def next(self) -> list[SweepItem]:
        if self.back:
            return self.back.popleft()
        rest = len(self.items) - self.pos
        size = self.chunk or max(1, min(64, math.ceil(rest / (4 * self.workers))))
        task = self.items[self.pos:self.pos + size]
        self.pos += len(task)
        return task

    def give_back(self, task: list[SweepItem]) -> None:
        self.back.appendleft(task)


def item_tuple(it: SweepItem, ctx: BatchContext) -> tuple:
    # with a map, the worker needs only the swept values: a few numbers per scenario
    return (it.index, it.id, it.params, None if ctx.pmap is not None else it.scenario)


def failed_row(it: SweepItem, status: str, error: str, attempt: int) -> dict[str, Any]:
    return {"scenario_id": it.id, "index": it.index, "params": it.params, "status": status,
            "error": error, "attempt": attempt, "reused": False, "finished_at": time.time()}
