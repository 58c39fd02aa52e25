"""Sweeps: a base scenario plus changes, expanded and validated before anything runs.

A change is addressed by a dotted path into the scenario, as error messages print it:
``policy.carbon_price_per_t``, ``sites[0].batteries[0].energy_mwh``; a list element may be
named instead of numbered (``sites[xining].batteries[bess].energy_mwh``). A sweep is one of

* a **grid**: ``{path: [values, ...], ...}``, every combination (the last path varies
  fastest);
* a list of **overrides**: ``[{path: value, ...}, ...]``, one scenario each;
* **samples**: ``n`` draws from ``{path: {uniform: [low, high]}, ...}`` with a ``seed``
  (``uniform``, ``normal: [mean, sd]``, ``lognormal: [mean, sigma]`` of the underlying
  normal, ``integers: [low, high]`` inclusive, ``choice: [values]``).

Every expanded scenario is validated with the full schema (field and cross-field checks),
and its id is the SHA-256 of its canonical JSON (16 hex digits): equal scenarios have equal
ids, which is what makes a store resumable. A sweep may take a **window** of its base
(``{start_h, horizon_h}``): every series is sliced, jobs and outage hours are shifted and
the jobs outside the window dropped, so a yearly scenario gives a one-week sweep.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from engine.errors import ScenarioError, format_path

__all__ = ["Sweep", "SweepItem", "load_sweep", "parse_path", "window_of"]

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[([^\]]+)\]|(\.)")
_DISTRIBUTIONS = ("uniform", "normal", "lognormal", "integers", "choice")


@dataclass
class SweepItem:
    """One expanded scenario: position, id, the changed values and the validated scenario."""

    index: int
    id: str
    params: dict[str, Any]
    scenario: Any


@dataclass
class Sweep:
    """A base scenario plus changes.

    Parameters
    ----------
    base : Scenario, path or mapping
        The scenario every change applies to (a file is read with its own directory as the
        base of relative paths).
    grid : mapping of path to list, optional
        Every combination of the values.
    overrides : list of mappings, optional
        One scenario per mapping ``{path: value}``.
    samples : int, optional
        Number of draws from ``distributions`` (with ``seed``).
    distributions : mapping of path to ``{kind: args}``, optional
    seed : int
        Seed of the samples (numpy's ``default_rng``).
    window : mapping, optional
        ``{"start_h": int, "horizon_h": int}``: take these hours out of the base first.
    name : str
        Name of the batch (stored in the manifest).

    Exactly one of ``grid``, ``overrides`` and ``samples`` is given.
    """

    base: Any
    grid: dict[str, list[Any]] | None = None
    overrides: list[dict[str, Any]] | None = None
    samples: int | None = None
    distributions: dict[str, Any] | None = None
    seed: int = 0
    window: dict[str, int] | None = None
    name: str = "batch"
    base_dir: Path | None = None
    _items: list[SweepItem] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ definition
    def definition(self) -> dict[str, Any]:
        """The sweep as plain data (the base by its content hash): what the batch hash covers."""
        return {"base": scenario_hash(self.base_scenario()), "window": self.window,
                "grid": _plain(self.grid), "overrides": _plain(self.overrides),
                "samples": self.samples, "distributions": _plain(self.distributions),
                "seed": self.seed if self.samples else None, "store_format": 1}

    def batch_hash(self) -> str:
        """SHA-256 (16 hex digits) of :meth:`definition`."""
        return _sha(json.dumps(self.definition(), sort_keys=True))

    def paths(self) -> list[str]:
        """The swept paths, in order of first appearance."""
        if self.grid is not None:
            return list(self.grid)
        if self.distributions is not None:
            return list(self.distributions)
        seen: dict[str, None] = {}
        for o in self.overrides or []:
            seen.update(dict.fromkeys(o))
        return list(seen)

    def base_scenario(self) -> Any:
        """The validated base (after the window), cached."""
        cached = self.__dict__.get("_base_sc")
        if cached is None:
            cached = self._load_base()
            self.__dict__["_base_sc"] = cached
        return cached

    # ------------------------------------------------------------------ expansion
    def param_sets(self) -> list[dict[str, Any]]:
        """The changes of every scenario, in sweep order (no validation)."""
        kinds = [k for k in ("grid", "overrides", "samples") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ScenarioError("sweep: give exactly one of grid, overrides and samples, got "
                                + (", ".join(kinds) or "none"))
        if self.grid is not None:
            if not isinstance(self.grid, Mapping) or not self.grid:
                raise ScenarioError("sweep.grid: the sweep is empty (no paths)")
            for path, values in self.grid.items():
                if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) \
                        or not len(values):
                    raise ScenarioError(f"sweep.grid.{path}: must be a non-empty list of values, "
                                        f"got {values!r}")
            keys = list(self.grid)
            return [dict(zip(keys, combo)) for combo in itertools.product(*self.grid.values())]
        if self.overrides is not None:
            if not isinstance(self.overrides, Sequence) or not self.overrides:
                raise ScenarioError("sweep.overrides: the sweep is empty (no overrides)")
            for i, o in enumerate(self.overrides):
                if not isinstance(o, Mapping):
                    raise ScenarioError(f"sweep.overrides[{i}]: must be a mapping of path to "
                                        f"value, got {o!r}")
            return [dict(o) for o in self.overrides]
        return self._draw()

    def _draw(self) -> list[dict[str, Any]]:
        n = self.samples
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ScenarioError(f"sweep.samples: the sweep is empty; samples must be an integer "
                                f">= 1, got {n!r}")
        if not isinstance(self.distributions, Mapping) or not self.distributions:
            raise ScenarioError("sweep.distributions: samples need at least one distribution")
        rng = np.random.default_rng(self.seed)
        columns: dict[str, list[Any]] = {}
        for path, spec in self.distributions.items():
            where = f"sweep.distributions.{path}"
            if not isinstance(spec, Mapping) or len(spec) != 1 or \
                    next(iter(spec)) not in _DISTRIBUTIONS:
                raise ScenarioError(f"{where}: must be one of {{{', '.join(_DISTRIBUTIONS)}}} "
                                    f"with its arguments, got {spec!r}")
            (kind, args), = spec.items()
            try:
                if kind == "choice":
                    picks = rng.integers(0, len(args), n)
                    columns[path] = [_plain(args[int(i)]) for i in picks]
                    continue
                a, b = (float(v) for v in args)
                if kind == "uniform":
                    vals = rng.uniform(a, b, n)
                elif kind == "normal":
                    vals = rng.normal(a, b, n)
                elif kind == "lognormal":
                    vals = rng.lognormal(a, b, n)
                else:
                    vals = rng.integers(int(a), int(b) + 1, n)
            except (TypeError, ValueError) as exc:
                raise ScenarioError(f"{where}.{kind}: bad arguments {args!r} ({exc})") from None
            columns[path] = [v.item() for v in vals]
        return [{p: columns[p][i] for p in columns} for i in range(n)]

    def expand(self) -> list[SweepItem]:
        """Every scenario of the sweep, validated, with its id (cached).

        Raises
        ------
        ScenarioError
            For an empty sweep, a path that does not exist, or a scenario that does not
            validate: the message names the scenario (position and changes) and the field.
        """
        if self._items is not None:
            return self._items
        params = self.param_sets()
        base = self.base_scenario()
        schema = type(base)
        base_dict = _base_dict(base)
        keys = {path: resolve_path(base, path) for path in self.paths()}
        items = []
        for i, p in enumerate(params):
            d = base_dict
            for path, value in p.items():
                d = _set(d, keys[path], _plain(value))
            try:
                sc = schema.from_dict(d, base_dir=self.base_dir)
            except ScenarioError as exc:
                raise ScenarioError(f"scenario {i} ({_describe(p)}): {exc}") from None
            items.append(SweepItem(i, scenario_hash(sc), {k: _plain(v) for k, v in p.items()},
                                   sc))
        self._items = items
        return items

    def scenario_of(self, params: Mapping[str, Any]) -> Any:
        """The base with ``params`` (path -> value) set, validated (a :class:`ScenarioError`
        names the field)."""
        base = self.base_scenario()
        d = _base_dict(base)
        for path, value in params.items():
            d = _set(d, resolve_path(base, path), _plain(value))
        return type(base).from_dict(d, base_dir=self.base_dir)

    def parametric_map(self) -> Any:
        """The sweep's verified parametric map (:func:`engine.batch.parametric.build_map`),
        or None when its scenarios must be rebuilt one by one (cached)."""
        if "_map" not in self.__dict__:
            from engine.batch.parametric import build_map

            self.__dict__["_map"] = build_map(self.paths(), self.param_sets(),
                                              self.scenario_of)
        return self.__dict__["_map"]

    def _load_base(self) -> Any:
        base = self.base
        if isinstance(base, (str, Path)):
            from engine.scenario.container import load_scenario

            self.base_dir = self.base_dir or Path(base).parent
            base = load_scenario(base)
        elif isinstance(base, Mapping):
            from engine.scenario.container import Scenario

            base = Scenario.from_dict(base, base_dir=self.base_dir)
        elif not isinstance(base, BaseModel):
            raise ScenarioError(f"sweep.base: must be a scenario, a file or a mapping, got "
                                f"{type(base).__name__}")
        if self.window is not None:
            base = window_of(base, **_window_args(self.window), base_dir=self.base_dir)
        return base


def _window_args(window: Any) -> dict[str, int]:
    if not isinstance(window, Mapping) or set(window) - {"start_h", "horizon_h"} or \
            "horizon_h" not in window:
        raise ScenarioError(f"sweep.window: must be {{start_h: H, horizon_h: H}}, got {window!r}")
    out = {"start_h": window.get("start_h", 0), "horizon_h": window["horizon_h"]}
    for k, v in out.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if k == "start_h" else 1):
            raise ScenarioError(f"sweep.window.{k}: must be an integer >= "
                                f"{0 if k == 'start_h' else 1}, got {v!r}")
    return out


# ---------------------------------------------------------------------- paths
def parse_path(path: str) -> list[str | int]:
    """``"sites[0].batteries[bess].energy_mwh"`` -> ``["sites", 0, "batteries", "bess",
    "energy_mwh"]`` (a bracket holds a position or an element's ``name``)."""
    if not isinstance(path, str) or not path:
        raise ScenarioError(f"sweep: a path must be a non-empty string, got {path!r}")
    out: list[str | int] = []
    pos = 0
    expect_name = True
    for m in _TOKEN.finditer(path):
        if m.start() != pos:
            break
        pos = m.end()
        name, index, dot = m.groups()
        if dot:
            if expect_name:
                break
            expect_name = True
            continue
        if name is not None:
            if not expect_name:
                break
            out.append(name)
        else:
            if not out:
                break
            out.append(int(index) if index.strip().lstrip("-").isdigit() else index.strip())
        expect_name = False
    if pos != len(path) or expect_name:
        raise ScenarioError(f"sweep: cannot read the path {path!r} (write e.g. "
                            f"'sites[0].batteries[0].energy_mwh' or 'policy.carbon_price_per_t')")
    return out


def resolve_path(scenario: BaseModel, path: str) -> list[str | int]:
    """The path's keys with names of list elements turned into positions, checked against the
    scenario's schema and its lists (a clear :class:`ScenarioError` otherwise)."""
    keys = parse_path(path)
    out: list[str | int] = []
    node: Any = scenario
    for k, key in enumerate(keys):
        here = format_path(tuple(out)) or "the scenario"
        if isinstance(key, str) and not (k and isinstance(node, list)):
            if not isinstance(node, BaseModel):
                raise ScenarioError(f"sweep: path {path!r}: {here} is not a group of fields "
                                    f"(got {_kind(node)}), so it has no field {key!r}")
            fields = type(node).model_fields
            if key not in fields:
                raise ScenarioError(f"sweep: path {path!r} does not exist: {here} has no field "
                                    f"{key!r} (fields: {', '.join(fields)})")
            out.append(key)
            node = getattr(node, key)
            if node is None and k < len(keys) - 1:
                raise ScenarioError(f"sweep: path {path!r}: {format_path(tuple(out))} is not set "
                                    f"in the base scenario; set it there first")
            continue
        if not isinstance(node, list):
            raise ScenarioError(f"sweep: path {path!r}: {here} is not a list (got {_kind(node)})")
        if isinstance(key, int):
            if not -len(node) <= key < len(node):
                raise ScenarioError(f"sweep: path {path!r} does not exist: {here} has "
                                    f"{len(node)} element(s), no [{key}]")
            pos = key % len(node)
        else:
            names = [getattr(e, "name", None) for e in node]
            if key not in names:
                raise ScenarioError(f"sweep: path {path!r} does not exist: {here} has no element "
                                    f"named {key!r} (names: {names})")
            pos = names.index(key)
        out.append(pos)
        node = node[pos]
    return out


def _set(d: dict, keys: list[str | int], value: Any) -> dict:
    """A copy of ``d`` with ``value`` at ``keys``; only the containers on the path are copied."""
    root = dict(d)
    node: Any = root
    for key in keys[:-1]:
        child = node[key]
        child = list(child) if isinstance(child, list) else dict(child)
        node[key] = child
        node = child
    node[keys[-1]] = value
    return root


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _describe(params: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return text if len(text) <= 160 else text[:157] + "..."


# ---------------------------------------------------------------------- hashing
def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as Python numbers and lists (for JSON and YAML)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def scenario_hash(scenario: BaseModel) -> str:
    """Content hash of a validated scenario: SHA-256 of its canonical JSON, 16 hex digits."""
    from pydantic_core import PydanticSerializationError

    try:
        text = scenario.model_dump_json(exclude_none=True)
    except (PydanticSerializationError, TypeError, ValueError):
        # a user's field pydantic cannot write as JSON: go through Python data
        text = json.dumps(_plain(scenario.to_dict()), sort_keys=True, default=repr)
    return _sha(text)


def _base_dict(base: BaseModel) -> dict[str, Any]:
    """The base as plain data, its series kept as the validated arrays (validating an array
    is much cheaper than a list, and nothing downstream mutates them)."""
    from engine.scenario.io import _iter_series

    d = base.to_dict()
    for path, arr in _iter_series(base, ()):
        node: Any = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = arr
    return d


# ---------------------------------------------------------------------- window
def window_of(scenario: BaseModel, start_h: int, horizon_h: int,
              base_dir: str | Path | None = None) -> Any:
    """The hours ``[start_h, start_h + horizon_h)`` of a scenario as a scenario of its own.

    Series are sliced, ``start`` moves to the window's first hour, jobs and grid outage
    hours are shifted; only the jobs wholly inside the window are kept (a job across its
    edge could not do its stated energy in the part inside).
    """
    T = scenario.horizon_h
    if start_h + horizon_h > T:
        raise ScenarioError(f"sweep.window: hours {start_h}..{start_h + horizon_h} exceed the "
                            f"base's horizon_h={T}")
    from engine.scenario.io import _iter_series

    d = copy.deepcopy(scenario.to_dict())
    for path, arr in _iter_series(scenario, ()):
        node: Any = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = arr[start_h:start_h + horizon_h]
    end = start_h + horizon_h
    if start_h:
        d["start"] = scenario.index[start_h].strftime("%Y-%m-%d %H:%M")
    d["horizon_h"] = horizon_h
    jobs = []
    for job in d.get("jobs") or []:
        rel, dl = job.get("release_h", 0), job["deadline_h"]
        if rel < start_h or dl > end:
            continue  # outside, or across an edge of the window: its energy is not ours
        jobs.append({**job, "release_h": rel - start_h, "deadline_h": dl - start_h})
    if "jobs" in d:
        d["jobs"] = jobs
    for site in d.get("sites") or []:
        grid = site.get("grid")
        if isinstance(grid, dict) and grid.get("outage_hours"):
            grid["outage_hours"] = [h - start_h for h in grid["outage_hours"]
                                    if start_h <= h < end]
    return type(scenario).from_dict(d, base_dir=base_dir)


# ---------------------------------------------------------------------- files
_SWEEP_KEYS = {"name", "base", "window", "grid", "overrides", "samples", "distributions", "seed"}


def load_sweep(path: str | Path) -> Sweep:
    """Read a sweep from YAML (or JSON): ``base`` is a scenario file relative to the sweep
    file, plus ``grid`` / ``overrides`` / ``samples`` + ``distributions`` (+ ``seed``), and
    optionally ``name`` and ``window``."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"sweep file {str(path)!r} does not exist")
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot parse sweep file {str(path)!r}: {exc}") from None
    if not isinstance(data, Mapping):
        raise ScenarioError(f"sweep file {str(path)!r}: must be a mapping, got {_kind(data)}")
    unknown = set(data) - _SWEEP_KEYS
    if unknown:
        raise ScenarioError(f"sweep file {str(path)!r}: unknown key(s) {sorted(unknown)} "
                            f"(known: {sorted(_SWEEP_KEYS)})")
    base = data.get("base")
    if not isinstance(base, str):
        raise ScenarioError(f"sweep file {str(path)!r}: base must be the path of a scenario "
                            f"file, got {base!r}")
    base_path = (path.parent / base).resolve()
    if not base_path.is_file():
        raise ScenarioError(f"sweep file {str(path)!r}: base scenario {str(base_path)!r} "
                            f"does not exist")
    return Sweep(base=base_path, grid=data.get("grid"), overrides=data.get("overrides"),
                 samples=data.get("samples"), distributions=data.get("distributions"),
                 seed=data.get("seed", 0), window=data.get("window"),
                 name=str(data.get("name", path.stem)), base_dir=base_path.parent)
