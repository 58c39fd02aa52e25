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
    """The pending scenarios dealt into tasks; tasks given back (a failed submit) come first.

    Guided sizes: ``1 / share`` of the remaining scenarios per worker, so that large tasks
    come first and small ones at the end (the workers finish together). Until a scenario's
    time is known at most ``MAX_UNTIMED`` and a quarter of the rest per worker (scenarios may
    be long); once the driver has seen rows
    (:meth:`observe`), a task holds at most ``max_task_s`` and at least ``min_task_s`` of
    work (CPU seconds of the solving thread). The backend sets them by what a task costs
    it: a local pool's task ~0.2 ms (share 4, at least 25 ms of work), a Dask task ~5 ms of
    scheduler, client and worker time whatever its size (share 2, at least 0.1 s: with
    ~10 ms scenarios, tasks of one or two scenarios would pay it every 20 ms). ``chunk``
    fixes the size instead.
    """

    MAX_UNTIMED = 64

    def __init__(self, items: list[SweepItem], workers: int, chunk: int | None,
                 min_task_s: float = 0.025, max_task_s: float = 1.0, share: int = 4) -> None:
        self.items, self.workers, self.chunk = items, workers, chunk
        self.min_task_s, self.max_task_s, self.share = min_task_s, max_task_s, share
        self.pos = 0
        self.back: deque[list[SweepItem]] = deque()
        self._busy_s = 0.0  # seconds of work of the scenarios observed, and how many
        self._seen = 0

    def __bool__(self) -> bool:
        return bool(self.back) or self.pos < len(self.items)

    def observe(self, rows: list[dict[str, Any]]) -> None:
        """Count the work of reported rows: their solving thread's CPU seconds (what a
        task's overhead is weighed against; wall time would shrink tasks on a loaded
        machine), else their ``total_s``."""
        for row in rows:
            t = row.get("cpu_thread_s") or row.get("total_s")
            if t:
                self._busy_s += t
                self._seen += 1

    def bounds(self) -> tuple[int, int]:
        """The smallest and largest task size, from the scenarios' mean time."""
        if not self._seen:
            return 1, self.MAX_UNTIMED
        per = self._busy_s / self._seen
        lo = max(1, math.ceil(self.min_task_s / per - 1e-9))  # 0.1 / 0.01 is 10, not 11
        return lo, max(lo, min(1024, math.floor(self.max_task_s / per)))

    def next(self) -> list[SweepItem]:
        if self.back:
            return self.back.popleft()
        rest = len(self.items) - self.pos
        lo, hi = self.bounds()
        # until a scenario's time is known, a quarter at most: scenarios may be long
        share = self.share if self._seen else max(self.share, 4)
        size = self.chunk or min(hi, max(lo, math.ceil(rest / (share * self.workers))))
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
