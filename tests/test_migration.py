"""Checkpoint migration (``jobs[].checkpoint_gb``): a preemptible job placed across sites is
one run whose state moves with its checkpoint over a link, at the link's price, energy at
both ends and bandwidth.

Hand case (every test below): a job of 4 MWh at <= 1 MW, PUE 1, window [0, 5), data at
home in the east (``data_gb`` 0: only the checkpoint moves), K = 1,000 GB of checkpoint,
0.01 kWh/GB at each end of the link. Prices: east [100, 100, 500, 500, 500], west
[500, 500, 500, 100, 100].

* Staying at one site: its four cheapest hours, 100 + 100 + 500 + 500 = 1200 (either site;
  a run split between them from the start costs the same, 1200 per unit share).
* Migrating: east in hours 0-1 (200), the checkpoint moves in hour 2 (the moved share works
  nowhere that hour), west in hours 3-4 (200): 400 + K price_per_gb + transfer energy
  2 x 1000 x 1e-5 MWh = 0.02 MWh at 500 (hour 2 at both ends) = 10. Moving any other hour
  loses a cheap hour. The cost is linear in the share moved m:
  1200 - m (800 - 10 - 1000 price_per_gb), so the run migrates iff
  price_per_gb < 790 / 1000 = 0.79 CNY/GB.
* Without a checkpoint the shares are independent: east does half in hours 0-1, west half
  in hours 3-4, 400 (moving work is free).
"""
from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.errors import ScenarioError

BACKENDS = ["highs", "pyomo"]
ATOL = 1e-6
EAST = [100.0, 100.0, 500.0, 500.0, 500.0]
WEST = [500.0, 500.0, 500.0, 100.0, 100.0]


def _case(price_gb: float, checkpoint_gb: float = 1000.0, bw: float = 10.0) -> dict:
    site = lambda name, price, lat: {
        "name": name, "latitude_deg": lat, "longitude_deg": 110.0,
        "grid": {"import_max_mw": 10.0, "import_price_per_mwh": price},
        "datacenter": {"gpus": 2000, "it_power_per_gpu_kw": 1.0, "pue": 1.0}}
    return {
        "name": "migrate", "start": "2023-01-01 00:00", "horizon_h": 5,
        "sites": [site("e", EAST, 30.0), site("w", WEST, 36.0)],
        "regions": [{"name": "east", "sites": ["e"]}, {"name": "west", "sites": ["w"]}],
        "links": [{"from_region": "east", "to_region": "west", "bandwidth_gbps": bw,
                   "latency_ms": 20.0, "price_per_gb": price_gb, "energy_kwh_per_gb": 0.01}],
        "tenants": [{"name": "acme"}],
        "jobs": [{"name": "j", "energy_mwh": 4.0, "deadline_h": 5, "max_power_mw": 1.0,
                  "home_region": "east", "checkpoint_gb": checkpoint_gb, "tenant": "acme"}],
    }


def _solve(d: dict, backend: str) -> engine.Result:
    res = engine.optimize(engine.Scenario.from_dict(d), backend=backend)
    assert res.status == engine.Status.OPTIMAL
    h = res.hourly
    for s in d["sites"]:  # balances close, certificates sum to the site's use
        n = s["name"]
        use = h[f"datacenter.{n}/facility_mw"] + h[f"placement.{n}/transfer_mw"]
        np.testing.assert_allclose(h[f"grid.{n}/import_mw"] + h[f"bus.{n}/unserved_mw"], use,
                                   atol=ATOL)
        c = res.certificates[res.certificates["consumption_site"] == n]
        by_hour = c.groupby("production_start")["mwh"].sum().reindex(h.index, fill_value=0.0)
        np.testing.assert_allclose(by_hour.to_numpy(), use.to_numpy(), atol=1e-9)
    c = res.certificates[res.certificates["tenant"] == "acme"]
    by_hour = c.groupby("production_start")["mwh"].sum().reindex(h.index, fill_value=0.0)
    np.testing.assert_allclose(by_hour.to_numpy(), h["tenant.acme/consumption_mw"], atol=1e-9)
    bw = d["links"][0]["bandwidth_gbps"] * 450.0
    for col in ("link.east-west/gb", "link.east-west/gb_back"):
        if col in h:
            assert (h[col] <= bw * (1 + 1e-9)).all()
    done = res.placement["it_energy_mwh"].sum()
    assert done == pytest.approx(d["jobs"][0]["energy_mwh"], abs=ATOL)
    return res


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("price_gb", [0.5, 0.78])
def test_migrating_pays_below_the_threshold(backend, price_gb):
    res = _solve(_case(price_gb), backend)
    assert res.objective == pytest.approx(410.0 + 1000.0 * price_gb, abs=1e-5)
    h = res.hourly
    np.testing.assert_allclose(h["placement.e/jobs_mw"], [1, 1, 0, 0, 0], atol=ATOL)
    np.testing.assert_allclose(h["placement.w/jobs_mw"], [0, 0, 0, 1, 1], atol=ATOL)
    np.testing.assert_allclose(h["link.east-west/gb"], [0, 0, 1000, 0, 0], atol=1e-5)
    # 0.01 MWh at each end in hour 2
    np.testing.assert_allclose(h["placement.e/transfer_mw"], [0, 0, 0.01, 0, 0], atol=ATOL)
    np.testing.assert_allclose(h["placement.w/transfer_mw"], [0, 0, 0.01, 0, 0], atol=ATOL)
    assert res.kpis["checkpoint_moved_tb"] == pytest.approx(1.0, abs=1e-8)
    assert res.kpis["data_moved_tb"] == pytest.approx(0.0, abs=ATOL)
    assert res.costs["transfer"] == pytest.approx(1000.0 * price_gb, abs=1e-5)
    w = res.placement.set_index("site")
    assert w.loc["w", "checkpoint_moved_gb"] == pytest.approx(1000.0, abs=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("price_gb", [0.80, 1.0])
def test_migrating_does_not_pay_above_the_threshold(backend, price_gb):
    res = _solve(_case(price_gb), backend)
    assert res.objective == pytest.approx(1200.0, abs=1e-5)
    assert res.kpis["checkpoint_moved_tb"] == pytest.approx(0.0, abs=1e-8)
    assert res.costs.get("transfer", 0.0) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_a_checkpoint_shares_are_independent(backend):
    d = _case(1.0, checkpoint_gb=0.0)
    res = _solve(d, backend)
    assert res.objective == pytest.approx(400.0, abs=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_checkpoint_shares_the_link_with_data(backend):
    # A second job's 2,000 GB of data crosses the same 1 Gbps link (450 GB/h) as the
    # checkpoint: the link column (data + checkpoint GB) stays within 450 GB every hour,
    # both jobs complete, and the backends agree.
    d = _case(0.5, bw=1.0)
    d["jobs"].append({"name": "k", "energy_mwh": 0.1, "deadline_h": 5, "max_power_mw": 1.0,
                      "home_region": "east", "data_gb": 2000.0, "sites": ["w"],
                      "tenant": "acme"})
    objs = []
    for backend_ in ("highs", "pyomo"):
        sc = engine.Scenario.from_dict(d)
        res = engine.optimize(sc, backend=backend_)
        assert res.status == engine.Status.OPTIMAL
        h = res.hourly
        assert (h["link.east-west/gb"] <= 450.0 + 1e-6).all()
        objs.append(res.objective)
    assert objs[0] == pytest.approx(objs[1], abs=1e-5)


def _unlinked(d: dict) -> None:
    # data in a third region linked to both, the job allowed only at e and w, which are
    # not linked to each other: both reachable, but the checkpoint can never move
    d["regions"].append({"name": "hub", "sites": []})
    d["links"] = [{"from_region": "hub", "to_region": r, "bandwidth_gbps": 10.0}
                  for r in ("east", "west")]
    d["jobs"][0]["home_region"] = "hub"


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["jobs"][0].update(single_site=True), r"jobs\[0\]\.checkpoint_gb"),
    (lambda d: d["jobs"][0].update(sites=["e"], home_region=None),
     r"jobs\[0\]\.checkpoint_gb"),
    (lambda d: d["jobs"][0].update(checkpoint_gb=-1.0), r"jobs\[0\]\.checkpoint_gb"),
    (lambda d: d["jobs"][0].update(checkpoint_gb="big"), r"jobs\[0\]\.checkpoint_gb"),
    (_unlinked, r"jobs\[0\]\.checkpoint_gb: .* could never move"),
])
def test_bad_checkpoint(edit, match):
    d = _case(0.5)
    edit(d)
    with pytest.raises(ScenarioError, match=match):
        engine.Scenario.from_dict(d)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_slow_link_moves_part_of_the_run(backend):
    # 1 Gbps = 450 GB/h: at most 0.45 of the 1,000 GB checkpoint crosses in hour 2. Moving
    # in hour 1 or 3 loses a cheap hour: that share then works hours 0, 2, 3, 4 or 0, 1, 2,
    # 4 (800) and pays 500 + 6 of transfer (energy at 100 and 500) = 1306 > 1200, so only
    # hour 2 moves: 0.45 x (410 + 500) + 0.55 x 1200 = 409.5 + 660 = 1069.5.
    res = _solve(_case(0.5, bw=1.0), backend)
    assert res.objective == pytest.approx(1069.5, abs=1e-5)
    np.testing.assert_allclose(res.hourly["link.east-west/gb"], [0, 0, 450, 0, 0], atol=1e-5)
    assert res.kpis["checkpoint_moved_tb"] == pytest.approx(0.45, abs=1e-8)
