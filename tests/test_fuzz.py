"""Fuzz the whole loader -> optimize path with mutated valid scenarios.

Each example starts from a valid scenario (one site; two sites; wind from weather; hydro;
grid outages) and applies one to three mutations: NaN, infinities, strings and booleans
for numbers, None, empty lists, wrong lengths, duplicate names, huge or tiny magnitudes,
negative values, outages over every hour, no supply at all, removed required fields,
unknown fields, wrong types for nested models. Then ``Scenario.from_dict`` and
``optimize``. The only outcomes allowed:

* a :class:`~engine.ScenarioError` whose message starts with the path of a field;
* status ``infeasible`` with a non-empty diagnosis;
* status ``optimal`` or ``time_limit`` with a solution that obeys the physical invariants
  (:func:`conftest.check_invariants`).

Any other exception, status ``error`` or ``unbounded`` fails. The number of examples
comes from the Hypothesis profile (``ci`` by default; ``--hypothesis-profile=slow`` or
``WATTBIT_HYPOTHESIS_PROFILE=slow`` for 10,000). ``WATTBIT_FUZZ_SUMMARY=<path>`` writes
the count of each outcome as JSON.
"""
from __future__ import annotations

import copy
import json
import math
import os
import re
from collections import Counter

import numpy as np
from conftest import base_dict, check_invariants
from hypothesis import given
from hypothesis import strategies as st

import engine

#: Solver time limit per example [s]; the scenarios are small (24-36 h).
TIME_LIMIT_S = 10.0

#: A ScenarioError names a path first: ``sites[0].grid.import_max_mw: ...``.
_PATH_FIRST = re.compile(r"^(?:[A-Za-z_][\w/]*|\[[^\]]+\])(?:\[[^\]]+\]|\.[A-Za-z_][\w/]*)*: \S")
#: Text that means an error escaped unconverted from pydantic or NumPy.
_LEAKS = ("Value error,", "Input should", "zero-size array", "For further information",
          "validation error")

OUTCOMES: Counter = Counter()


# ----------------------------------------------------------------------------- builders
def _one_site(T: int) -> dict:
    return base_dict(T)


def _two_sites(T: int) -> dict:
    d = base_dict(T)
    s2 = copy.deepcopy(d["sites"][0])
    s2["name"] = "s2"
    s2["pv"][0]["name"] = "pv2"
    s2["batteries"][0]["name"] = "bess2"
    s2["grid"]["import_max_mw"] = 4.0
    d["sites"].append(s2)
    d["jobs"][0]["sites"] = ["s1"]
    d["jobs"].append({"name": "infer", "energy_mwh": 3.0, "release_h": 0, "deadline_h": T,
                      "max_power_mw": 1.0, "sites": ["s2"]})
    return d


def _wind_from_weather(T: int) -> dict:
    d = base_dict(T)
    site = d["sites"][0]
    site["wind"] = [{"name": "wf", "capacity_mw": 6.0, "hub_height_m": 90.0}]
    t = np.arange(T)
    site["weather"]["wind_speed"] = (7 + 4 * np.sin(t / 7.0)).round(3).tolist()
    return d


def _hydro(T: int) -> dict:
    d = base_dict(T)
    d["sites"][0]["hydro"] = [{"name": "hy", "min_power_mw": 0.5, "max_power_mw": 3.0,
                               "energy_budget_mwh": 40.0, "budget_period_h": 24}]
    return d


def _outages(T: int) -> dict:
    d = base_dict(T)
    d["sites"][0]["grid"]["outage_hours"] = [3, 4, 5, 6, T - 1]
    d["policy"]["value_of_lost_load_per_mwh"] = 5000.0
    return d


BUILDERS = {"one_site": _one_site, "two_sites": _two_sites, "wind": _wind_from_weather,
            "hydro": _hydro, "outages": _outages}


# ---------------------------------------------------------------------------- mutations
def _paths(node, path=()):
    """Every path into the scenario (mappings by key, lists by index), the root excluded."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append(path + (k,))
            out.extend(_paths(v, path + (k,)))
    elif isinstance(node, list) and not (node and all(isinstance(x, (int, float)) for x in node)):
        for i, v in enumerate(node):
            out.append(path + (i,))
            out.extend(_paths(v, path + (i,)))
    elif isinstance(node, list):
        out.append(path + (0,))  # one element of a series stands for all
    return out


def _get(d, path):
    for p in path:
        d = d[p]
    return d


def _set(d, path, value):
    _get(d, path[:-1])[path[-1]] = value


NAN, INF = float("nan"), float("inf")
SCALARS = [NAN, INF, -INF, "5", "abc", "", True, False, None, 1e15, 1e300, 1e-300, -1e300,
           -1.0, -1, 0, 0.0, -0.0, 3.5, 2**63, 10**400 // 10**390, [], {}, [1.0], [[1.0]],
           {"x": 1}, {"daily": [1.0] * 23}, {"daily": [True] * 24}, {"weekly": "abc"},
           {"csv": "no_such_file.csv", "column": "x"}, ["a", "b"], [None], "2023-01-01"]


def _bad_value(draw, T: int, old):
    kind = draw(st.sampled_from(["scalar", "series", "scale", "type"]))
    if kind == "scalar":
        return draw(st.sampled_from(SCALARS))
    if kind == "series":
        n = draw(st.sampled_from([0, 1, T - 1, T, T + 1, 2 * T]))
        fill = draw(st.sampled_from([1.0, 0.5, 0.0, -1.0, 1e15, 1e-300, 1e300]))
        values = [fill] * n
        if n and draw(st.booleans()):
            values[draw(st.integers(0, n - 1))] = draw(st.sampled_from(
                [NAN, INF, -INF, "5", True, None, -5.0, 1e300]))
        return values
    if kind == "scale":
        if isinstance(old, (int, float)) and not isinstance(old, bool):
            factor = draw(st.sampled_from([1e15, 1e300, 1e-300, -1.0, 0.0, 1e6, -1e15]))
            with np.errstate(all="ignore"):
                return float(np.float64(old) * factor)
        return draw(st.sampled_from(SCALARS))
    # a wrong type for whatever was there: a mapping where a list is, a list where a
    # mapping is, a string for either
    if isinstance(old, dict):
        return draw(st.sampled_from([[old], list(old), "x", 5, [], None]))
    if isinstance(old, list):
        return draw(st.sampled_from([{"0": old[0]} if old else {}, "x", 5.0,
                                     old[0] if old else None, [old]]))
    return draw(st.sampled_from([{"value": old}, [old], str(old)]))


def _sites(d: dict) -> list:
    sites = d.get("sites")
    return sites if isinstance(sites, list) else []


@st.composite
def mutated_scenarios(draw):
    builder = draw(st.sampled_from(sorted(BUILDERS)))
    T = draw(st.sampled_from([24, 36]))
    d = BUILDERS[builder](T)
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "unknown",
                                   "duplicate", "outage_all", "no_supply", "tiny_huge"]))
        paths = _paths(d)
        if op in ("replace", "tiny_huge"):
            path = draw(st.sampled_from(paths))
            try:
                old = _get(d, path)
            except (KeyError, IndexError, TypeError):
                continue
            # a fresh copy: pool values and the old value must never be shared (a cycle)
            value = copy.deepcopy(_bad_value(draw, T, copy.deepcopy(old))) if op == "replace" \
                else draw(st.sampled_from([1e15, 1e300, 1e-300, -1e-300, 1e-12]))
            _set(d, path, value)
            op = (op, path, value if not isinstance(value, list) or len(value) < 4 else
                  f"list of {len(value)}: {value[:2]}...")
        elif op == "delete":
            keyed = [p for p in paths if isinstance(p[-1], str)]
            path = draw(st.sampled_from(keyed))
            _get(d, path[:-1]).pop(path[-1])
            op = (op, path)
        elif op == "unknown":
            maps = [()] + [p for p in paths if isinstance(_get(d, p), dict)]
            path = draw(st.sampled_from(maps))
            _get(d, path)["bogus_field"] = draw(st.sampled_from([1, "x", None, [1.0]]))
            op = (op, path)
        elif op == "duplicate":
            lists = [p for p in paths if isinstance(_get(d, p), list) and _get(d, p)
                     and isinstance(_get(d, p)[0], dict)]
            if lists:
                path = draw(st.sampled_from(lists))
                items = _get(d, path)
                items.append(copy.deepcopy(items[draw(st.integers(0, len(items) - 1))]))
                op = (op, path)
        elif op == "outage_all":
            for site in _sites(d):
                if isinstance(site, dict) and isinstance(site.get("grid"), dict):
                    site["grid"]["outage_hours"] = list(range(T))
        elif op == "no_supply":
            for site in _sites(d):
                if isinstance(site, dict):
                    for key in ("pv", "wind", "hydro", "batteries", "grid"):
                        site.pop(key, None)
        steps.append(op)
    return Case(builder, T, steps, d)


class Case:
    """A mutated scenario; its repr (what Hypothesis prints) is the recipe, not the dict."""

    def __init__(self, builder: str, T: int, steps: list, d: dict) -> None:
        self.builder, self.T, self.steps, self.d = builder, T, steps, d

    def __repr__(self) -> str:
        return f"Case({self.builder!r}, T={self.T}, steps={self.steps!r})"


# ------------------------------------------------------------------------------ outcome
def _check_error(exc: engine.ScenarioError) -> None:
    msg = str(exc)
    assert msg.strip(), "empty ScenarioError"
    assert _PATH_FIRST.match(msg), f"ScenarioError does not start with a path: {msg!r}"
    for leak in _LEAKS:
        assert leak not in msg, f"unconverted message ({leak!r}): {msg!r}"


def run_one(d: dict) -> str:
    """Load and optimize one scenario; return its outcome or fail the test."""
    try:
        sc = engine.Scenario.from_dict(d)
    except engine.ScenarioError as exc:
        _check_error(exc)
        return "scenario_error"
    try:
        res = engine.optimize(sc, time_limit_s=TIME_LIMIT_S)
    except engine.ScenarioError as exc:  # a check that needs the prepared data
        _check_error(exc)
        return "scenario_error"
    status = res.status
    if status == engine.Status.INFEASIBLE:
        assert res.diagnosis.strip(), "infeasible without a diagnosis"
        return "infeasible"
    assert status in (engine.Status.OPTIMAL, engine.Status.TIME_LIMIT), (
        f"status {status}: {res.diagnosis!r}")
    check_invariants(sc, res, statuses=(engine.Status.OPTIMAL, engine.Status.TIME_LIMIT))
    assert all(math.isfinite(v) for v in res.costs.to_numpy().ravel())
    return "solved" if status == engine.Status.OPTIMAL else "time_limit"


@given(mutated_scenarios())
def _fuzz(case):
    OUTCOMES[run_one(case.d)] += 1


def test_builders_are_valid_and_solve():
    for name, build in BUILDERS.items():
        assert run_one(build(24)) == "solved", name


def test_fuzz_loader_to_optimize():
    """Mutated scenarios: a ScenarioError naming a path, infeasible with a diagnosis, or a
    solution whose invariants hold -- nothing else (examples from the Hypothesis profile)."""
    OUTCOMES.clear()
    try:
        _fuzz()
    finally:
        summary = {"solved": OUTCOMES["solved"], "scenario_error": OUTCOMES["scenario_error"],
                   "infeasible": OUTCOMES["infeasible"], "time_limit": OUTCOMES["time_limit"],
                   "examples": sum(OUTCOMES.values())}
        path = os.environ.get("WATTBIT_FUZZ_SUMMARY")
        if path:
            with open(path, "w") as fh:
                json.dump(summary, fh, indent=1)
        print("fuzz outcomes:", summary)
