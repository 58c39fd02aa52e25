"""A component written in one file, outside the engine, takes part in the balance, the costs,
the traceability and the results -- with no edit anywhere else.

The toy is a power purchase agreement (PPA): up to ``power_mw`` of clean energy at
``price_per_mwh``. It is declared here, in this test module only, and joins a schema of its
own (``make_schema``); the built-in ``engine.Scenario`` does not change.
"""
from __future__ import annotations

import numpy as np
import pytest
from pydantic import Field

import engine
from engine.components import COMPONENTS
from engine.components.base import Component, Extraction
from engine.model.formulation import Formulation
from engine.scenario import make_schema
from engine.scenario.base import Model, NonNeg


class PPA(Model):
    """A contract for up to ``power_mw`` of clean energy at ``price_per_mwh``."""

    name: str
    power_mw: NonNeg
    price_per_mwh: float


def add(f: Formulation) -> None:
    """``0 <= p[k, t] <= power_mw_k``, injected at the site bus, priced under ``ppa``."""
    items = [(s, c) for s, sd in enumerate(f.data.sites) for c in sd.site.ppa]
    if not items:
        return
    site_of = np.array([s for s, _ in items])
    ub = np.array([c.power_mw for _, c in items])[:, None]
    p = f.model.add_variables("ppa/power_mw", (len(items), f.T), ub=ub)
    f.inject(p.idx, site_of)
    f.cost("ppa", p.idx, np.array([c.price_per_mwh for _, c in items])[:, None])
    f.meta["ppa"] = {"names": [c.name for _, c in items], "site": site_of}


def extract(r: Extraction) -> None:
    meta = r.f.meta.get("ppa")
    if meta is None:
        return
    p = r.val("ppa/power_mw")
    for i, name in enumerate(meta["names"]):
        r.columns[f"ppa.{name}/power_mw"] = p[i]
    r.add_supply("ppa", meta["site"], p, clean=True)
    r.kpis["ppa_mwh"] = float(p.sum())


TOY = Component(name="ppa", field="ppa", schema=list[PPA], default=Field(default_factory=list),
                add=add, extract=extract)
ToyScenario = make_schema([*COMPONENTS, TOY])


def _toy_dict() -> dict:
    # 3 hours, 2 MW of facility load (PUE 1), grid at 10 / 50 / 100, a 1 MW PPA at 30
    return {
        "name": "toy", "start": "2023-01-01 00:00", "timezone": "UTC", "horizon_h": 3,
        "sites": [{
            "name": "s", "latitude_deg": 36.6, "longitude_deg": 101.8,
            "grid": {"import_max_mw": 5.0, "import_price_per_mwh": [10.0, 50.0, 100.0]},
            "datacenter": {"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0,
                           "inflexible_it_mw": 2.0},
            "ppa": [{"name": "wind_ppa", "power_mw": 1.0, "price_per_mwh": 30.0}],
        }],
    }


@pytest.mark.parametrize("backend", ["highs", "pyomo"])
def test_toy_component_joins_balance_costs_and_results(backend):
    sc = ToyScenario.from_dict(_toy_dict())
    res = engine.optimize(sc, backend=backend)
    assert res.status == engine.Status.OPTIMAL
    # by hand: hour 0 all from the grid (10 < 30): 20; hours 1 and 2: 1 MW PPA + 1 MW grid:
    # 30 + 50 and 30 + 100; energy 20 + 50 + 100 = 170, PPA 2 x 30 = 60, total 230
    assert res.objective == pytest.approx(230.0, abs=1e-7)
    assert res.costs["ppa"] == pytest.approx(60.0, abs=1e-7)
    assert res.costs["energy"] == pytest.approx(170.0, abs=1e-7)
    h = res.hourly
    np.testing.assert_allclose(h["ppa.wind_ppa/power_mw"], [0.0, 1.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(h["grid.s/import_mw"] + h["ppa.wind_ppa/power_mw"],
                               h["datacenter.s/facility_mw"], atol=1e-9)
    # traced as a clean source of its own: the CFE score counts it
    np.testing.assert_allclose(h["trace.s/ppa_mw"], [0.0, 1.0, 1.0], atol=1e-9)
    assert res.kpis["ppa_mwh"] == pytest.approx(2.0)
    assert res.kpis["cfe_score"] == pytest.approx(2.0 / 6.0)


def test_toy_schema_leaves_the_builtin_scenario_alone():
    with pytest.raises(engine.ScenarioError, match=r"sites\[0\]\.ppa: unknown field"):
        engine.Scenario.from_dict(_toy_dict())
    assert "ppa" not in engine.Scenario.Site.model_fields
    assert "ppa" in ToyScenario.Site.model_fields
    # the toy scenario round-trips through its own schema
    sc = ToyScenario.from_dict(_toy_dict())
    assert ToyScenario.from_dict(sc.to_dict()) == sc
