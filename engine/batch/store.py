"""The batch store: a directory of plain Parquet files, written incrementally and atomically.

Layout::

    STORE/
      part-<time>-<n>.parquet   summary rows, one small file per flush (the dataset)
      _batch/manifest.json      batch name and hash, swept paths, column list, counts
      _batch/scenarios.parquet  every scenario of the batch: index, id, swept values
      _hourly/<id>.parquet      hourly table of a scenario (when asked for)

``pd.read_parquet(STORE)`` reads the summary rows (pyarrow skips names that start with
``_`` or ``.``), as do DuckDB (``read_parquet('STORE/part-*.parquet')``) and polars
(``pl.read_parquet('STORE/part-*.parquet')``). The process that runs a batch writes the
manifest and fixes the columns; each worker writes the part file of each of its tasks
(:class:`PartSink`; the driver writes rows that reached it, e.g. before the columns were
fixed). Each file is written under a hidden temporary name and renamed into place, so a
reader never sees half a file and an interrupted run leaves only whole files. Summary
columns: ``scenario_id``, ``index``, one column per swept path (named by the path),
``status``, ``objective``, ``mip_gap``, ``iterations``, ``cost.<term>``, ``kpi.<name>``,
``prepare_s``, ``build_s``, ``solve_s``, ``extract_s``, ``total_s``, ``cpu_s`` (CPU
seconds of the worker process meanwhile), ``reused`` (the
worker's HiGHS model was updated in place), ``worker``, ``attempt``, ``error``,
``finished_at``.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ScenarioError

__all__ = ["BASE_COLUMNS", "PartSink", "Store", "read_store", "store_status"]

#: Summary columns every row has, with their Arrow types.
BASE_COLUMNS = {
    "scenario_id": "string", "index": "int64", "status": "string", "objective": "float64",
    "mip_gap": "float64", "iterations": "int64", "prepare_s": "float64", "build_s": "float64",
    "solve_s": "float64", "extract_s": "float64", "total_s": "float64", "cpu_s": "float64", "reused": "bool_",
    "worker": "string", "attempt": "int64", "error": "string", "finished_at": "float64",
}
#: Statuses that may carry a solution (a time limit only with an objective); a scenario
#: that ended otherwise counts as failed.
DONE_STATUSES = ("optimal", "time_limit")
_META = "_batch"
_HOURLY = "_hourly"


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@dataclass(frozen=True)
class PartSink:
    """What a worker needs to write its task's rows as one part file of a store.

    Attributes
    ----------
    path : str
        The store directory (a worker must see the same file system).
    param_types : dict
        Arrow type of each swept path's column.
    columns : list of str
        The fixed cost, KPI and ``extra`` columns.
    name : str
        The part's name: ``part-<name>.parquet``. A task run again (a retry) writes the
        same name, so its rows are stored once.
    """

    path: str
    param_types: dict
    columns: list
    name: str

    def write(self, rows: list[dict[str, Any]], hourly: dict[str, Any] | None = None) -> float:
        """Write the rows (and hourly tables); the seconds it took."""
        st = Store(self.path)
        st._param_types, st._columns = self.param_types, self.columns
        st.write_rows(rows, hourly, name=self.name)
        return st.write_s


class Store:
    """A batch's store directory (see the module docstring).

    Parameters
    ----------
    path : path
        The directory (created on :meth:`open`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.meta = self.path / _META
        self._columns: list[str] | None = None
        self._param_types: dict[str, str] = {}
        self._n_parts = 0
        self.write_s = 0.0

    # ------------------------------------------------------------------ manifest
    def manifest(self) -> dict[str, Any] | None:
        """The manifest, or None for a directory that holds no batch yet."""
        f = self.meta / "manifest.json"
        if not f.is_file():
            return None
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"store {str(self.path)!r}: cannot read its manifest: {exc}"
                                ) from None

    def check(self, name: str, batch_hash: str) -> dict[str, Any] | None:
        """The manifest when the store holds the batch ``batch_hash``, None when the
        directory is new or empty; a :class:`ScenarioError` for a store written by another
        batch definition, a file, or a directory of other things."""
        if self.path.exists() and not self.path.is_dir():
            raise ScenarioError(f"store {str(self.path)!r} is a file, not a directory")
        m = self.manifest()
        if m is not None:
            if m.get("batch_hash") != batch_hash:
                raise ScenarioError(
                    f"store {str(self.path)!r} was written by another batch definition "
                    f"({m.get('name')!r}, hash {m.get('batch_hash')}; this batch "
                    f"{name!r} has hash {batch_hash}): use a new store directory, or delete "
                    f"this one to start over")
            return m
        if self.path.exists() and any(p for p in self.path.iterdir()
                                      if not p.name.startswith(".")):
            raise ScenarioError(f"store {str(self.path)!r} exists, is not empty and holds no "
                                f"batch manifest: choose an empty or new directory")
        return None

    def open(self, name: str, batch_hash: str, items: list, paths: list[str]) -> None:
        """Start or resume the batch ``batch_hash`` (see :meth:`check`); a new store gets
        its manifest and scenario list."""
        m = self.check(name, batch_hash)
        if m is not None:
            self._columns = m.get("columns")
            self._param_types = m.get("param_types", {})
            return
        import pandas as pd

        self.meta.mkdir(parents=True, exist_ok=True)
        self._param_types = {p: _param_type([it.params.get(p) for it in items]) for p in paths}
        rows = {"index": [it.index for it in items], "scenario_id": [it.id for it in items]}
        for p in paths:
            rows[p] = [_param_value(it.params.get(p), self._param_types[p]) for it in items]
        frame = pd.DataFrame(rows)
        _atomic_write(self.meta / "scenarios.parquet", lambda f: frame.to_parquet(f, index=False))
        self._write_manifest({"name": name, "batch_hash": batch_hash, "created": time.time(),
                              "n_scenarios": len({it.id for it in items}), "paths": paths,
                              "param_types": self._param_types, "columns": None})

    def _write_manifest(self, m: dict[str, Any]) -> None:
        text = json.dumps(m, indent=1)
        _atomic_write(self.meta / "manifest.json", lambda f: f.write_text(text))

    # ------------------------------------------------------------------ rows
    def stored_ids(self) -> set[str]:
        """Ids of every scenario with a row in the store."""
        import pyarrow.parquet as pq

        ids: set[str] = set()
        for f in self._parts():
            ids.update(pq.read_table(f, columns=["scenario_id"]).column(0).to_pylist())
        return ids

    def _parts(self) -> list[Path]:
        return sorted(self.path.glob("part-*.parquet")) if self.path.is_dir() else []

    def can_fix_columns(self, rows: list[dict[str, Any]]) -> bool:
        """Whether the summary columns are fixed (or these rows fix them: one has a
        solution, so its cost and KPI names are known)."""
        return self._columns is not None or any("cost" in r for r in rows)

    @property
    def columns(self) -> list[str] | None:
        """The cost, KPI and ``extra`` columns once fixed (None before)."""
        return self._columns

    @staticmethod
    def columns_of(row: dict[str, Any]) -> list[str] | None:
        """The cost, KPI and ``extra`` columns a row with a solution fixes (None without)."""
        if "cost" not in row:
            return None
        return ([f"cost.{k}" for k in row["cost"]] + [f"kpi.{k}" for k in row["kpi"]]
                + ["extra"])

    def fix_columns(self, columns: list[str]) -> None:
        """Fix the cost and KPI columns of every part (in the manifest; parts written
        before, of failures only, are given them as nulls). A no-op once fixed."""
        if self._columns is not None:
            return
        self._columns = list(columns)
        m = self.manifest() or {}
        m["columns"] = self._columns
        self._write_manifest(m)
        for part in self._parts():  # parts of failures only, written before any solution
            self._conform(part)

    def sink(self, name: str) -> PartSink | None:
        """What a worker needs to write the part file ``part-<name>.parquet`` itself (None
        while the columns are not fixed: then the driver writes)."""
        if self._columns is None:
            return None
        return PartSink(str(self.path), dict(self._param_types), list(self._columns), name)

    def part_path(self, name: str) -> Path:
        """The path of the part file ``name`` (see :meth:`sink`)."""
        return self.path / f"part-{name}.parquet"

    def part_rows(self, name: str) -> list[dict[str, Any]] | None:
        """The rows of the part file ``name`` without costs and KPIs (None when it does not
        exist): a task whose worker wrote its part and died before reporting it is done."""
        f = self.part_path(name)
        if not f.is_file():
            return None
        import pyarrow.parquet as pq

        cols = ["scenario_id", "index", "status", "objective", "reused", "worker", "attempt",
                "error", "finished_at"]
        return pq.read_table(f, columns=cols).to_pylist()

    def write_rows(self, rows: list[dict[str, Any]], hourly: dict[str, Any] | None = None,
                   name: str | None = None) -> None:
        """Write rows (and hourly tables by id) as new files (the part ``name``, by default
        a new name). The first rows with a solution fix the cost and KPI columns of every
        part (:meth:`fix_columns`); a later name that is not among them goes to ``extra``
        as JSON."""
        if not rows:
            return
        t0 = time.perf_counter()
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._columns is None:
            cols = next((c for c in map(self.columns_of, rows) if c is not None), None)
            if cols is not None:
                self.fix_columns(cols)
        schema = self._schema()
        flat = [self._flatten(r) for r in rows]
        table = pa.Table.from_pylist(flat, schema=schema)
        self._n_parts += 1
        name = name or f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        for sid, frame in (hourly or {}).items():
            (self.path / _HOURLY).mkdir(exist_ok=True)
            _atomic_write(self.path / _HOURLY / f"{sid}.parquet", frame.to_parquet)
        # the part file last: once it exists, the rows (and their hourly tables) are stored
        _atomic_write(self.part_path(name), lambda f: pq.write_table(table, f))
        self.write_s += time.perf_counter() - t0

    def _schema(self):
        import pyarrow as pa

        fields = [pa.field(k, getattr(pa, t)()) for k, t in BASE_COLUMNS.items()]
        fields[2:2] = [pa.field(p, getattr(pa, t)()) for p, t in self._param_types.items()]
        fields += [pa.field(c, pa.string() if c == "extra" else pa.float64())
                   for c in self._columns or []]
        return pa.schema(fields)

    def _flatten(self, row: dict[str, Any]) -> dict[str, Any]:
        out = {k: row.get(k) for k in BASE_COLUMNS}
        params = row.get("params", {})
        for p, t in self._param_types.items():
            out[p] = _param_value(params.get(p), t)
        extra = {}
        known = set(self._columns or [])
        for group in ("cost", "kpi"):
            for k, v in (row.get(group) or {}).items():
                col = f"{group}.{k}"
                if col in known:
                    out[col] = v
                else:
                    extra[col] = v
        if self._columns is not None:
            out["extra"] = json.dumps(extra) if extra else None
        return out

    def _conform(self, part: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.read_table(part)
        schema = self._schema()
        cols = [table.column(f.name) if f.name in table.column_names
                else pa.nulls(len(table), f.type) for f in schema]
        fixed = pa.Table.from_arrays(cols, schema=schema)
        _atomic_write(part, lambda f: pq.write_table(fixed, f))

    def cleanup(self) -> None:
        """Remove temporary files an interrupted run left behind."""
        for d in (self.path, self.path / _HOURLY, self.meta):
            if d.is_dir():
                for f in d.glob(".tmp-*"):
                    f.unlink(missing_ok=True)


def _param_type(values: list[Any]) -> str:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float64"
    return "string"


def _param_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "float64":
        return float(value)
    return value if isinstance(value, str) else json.dumps(value)


def read_store(path: str | Path):
    """The summary rows of a batch store as a ``pandas.DataFrame`` (one row per scenario).

    Columns: ``scenario_id``, ``index``, one column per swept path (e.g.
    ``policy.carbon_price_per_t``), ``status``, ``objective``, ``cost.<term>``,
    ``kpi.<name>``, timings and ``error`` (see :mod:`engine.batch.store`). Rows are sorted by
    ``index``; an empty store gives an empty frame with the base columns.

    Raises
    ------
    ScenarioError
        If ``path`` holds no batch store.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = Store(path)
    if store.manifest() is None:
        raise ScenarioError(f"{str(path)!r} is not a batch store (no {_META}/manifest.json)")
    parts = store._parts()
    if not parts:
        return pd.DataFrame(columns=list(BASE_COLUMNS))
    tables = [pq.read_table(p) for p in parts]
    table = pa.concat_tables(tables, promote_options="default")
    frame = table.to_pandas()
    return frame.sort_values("index", kind="stable").reset_index(drop=True)


def store_status(path: str | Path) -> dict[str, Any]:
    """Counts of a store: ``total``, ``done`` (with a solution), ``failed``, ``pending``,
    and ``by_status``."""
    store = Store(path)
    m = store.manifest()
    if m is None:
        raise ScenarioError(f"{str(path)!r} is not a batch store (no {_META}/manifest.json)")
    import pyarrow.parquet as pq

    statuses: dict[str, str] = {}
    solved: set[str] = set()
    for f in store._parts():
        t = pq.read_table(f, columns=["scenario_id", "status", "objective"])
        ids = t.column(0).to_pylist()
        statuses.update(zip(ids, t.column(1).to_pylist()))
        solved.update(i for i, s, o in zip(ids, t.column(1).to_pylist(),
                                           t.column(2).to_pylist())
                      if s in DONE_STATUSES and o is not None)
    by: dict[str, int] = {}
    for s in statuses.values():
        by[s] = by.get(s, 0) + 1
    done = len(solved)
    total = int(m.get("n_scenarios", 0))
    return {"name": m.get("name"), "batch_hash": m.get("batch_hash"), "total": total,
            "done": done, "failed": len(statuses) - done, "pending": total - len(statuses),
            "by_status": by}
