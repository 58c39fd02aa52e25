"""The per-tenant green-power report in the HTML report: the table holds what the ledger
says (each figure checked against the certificates), the chart draws in Chromium, a results
directory gives the same section, and a scenario without tenants has none."""
from __future__ import annotations

import re

import numpy as np
import pytest
from test_report import assert_drawn, browse, needs_chromium

import engine
from engine.results._report_html import fmt
from engine.results.report import report_from_dir

T = 48


def _scenario() -> dict:
    t = np.arange(T)
    pv = np.clip(np.sin((t % 24 - 6) / 12 * np.pi), 0, None).round(6).tolist()
    site = lambda name, lat, price, ef, clean: {
        "name": name, "latitude_deg": lat, "longitude_deg": 110.0,
        "grid": {"import_max_mw": 20.0, "import_price_per_mwh": price,
                 "emission_factor_kg_per_mwh": ef, "clean_share_fraction": clean},
        "datacenter": {"gpus": 4000, "it_power_per_gpu_kw": 1.0, "pue": 1.2}}
    west = site("w", 36.0, 60.0, 120.0, 0.6)
    west["pv"] = [{"name": "pv_w", "capacity_mw": 3.0, "availability_fraction": pv}]
    west["batteries"] = [{"name": "bess_w", "energy_mwh": 4.0, "charge_power_mw": 1.0,
                          "discharge_power_mw": 1.0}]
    return {
        "name": "tenants <b>report</b>", "start": "2023-06-01 00:00", "horizon_h": T,
        "timezone": "Asia/Shanghai",
        "sites": [site("e", 30.0, {"daily": [90.0] * 8 + [160.0] * 16}, 650.0, 0.25), west],
        "regions": [{"name": "east", "sites": ["e"], "inference_it_mw": 1.0,
                     "latency_budget_ms": 30.0, "tenant": "fin_east"},
                    {"name": "west", "sites": ["w"]}],
        "links": [{"from_region": "east", "to_region": "west", "bandwidth_gbps": 10.0,
                   "latency_ms": 25.0, "price_per_gb": 0.05, "energy_kwh_per_gb": 0.006}],
        "tenants": [{"name": "ai_lab"}, {"name": "fin_east"}],
        "jobs": [{"name": f"train{k}", "energy_mwh": 6.0, "release_h": 12 * k,
                  "deadline_h": 12 * k + 24, "max_power_mw": 1.0, "home_region": "east",
                  "data_gb": 500.0, "tenant": "ai_lab"} for k in range(3)],
    }


@pytest.fixture(scope="module")
def result():
    res = engine.optimize(engine.Scenario.from_dict(_scenario()))
    assert res.status == engine.Status.OPTIMAL
    return res


def _section(html: str) -> str:
    found = re.search(r"<section id='green-power'>.*?</section>", html, re.DOTALL)
    assert found, "no green-power section"
    return found.group(0)


def test_table_holds_the_ledger_as_the_certificates_give_it(result, tmp_path):
    sec = _section(result.to_html(tmp_path / "r.html").read_text(encoding="utf-8"))
    certs = result.certificates
    for name in ("ai_lab", "fin_east"):
        c = certs[certs["tenant"] == name]
        total, clean = c["mwh"].sum(), c.loc[c["clean"], "mwh"].sum()
        assert total > 0
        row = re.search(rf"<tr><td class='t'>{name}</td>(.*?)</tr>", sec, re.DOTALL)
        assert row, name
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
        # consumption, clean MWh and CFE score, each recomputed from the certificates
        assert cells[0] == fmt(float(total)) and cells[1] == fmt(float(clean))
        assert cells[2] == fmt(float(clean / total))
        # every source column present is the certificates' MWh of that source
        for src in c["source"].unique():
            assert fmt(float(c.loc[c["source"] == src, "mwh"].sum())) in cells
    # the unowned load (facility overhead of nothing owned) is listed only when there is some
    assert ("(no tenant)" in sec) == bool(
        certs.loc[certs["tenant"] == "", "mwh"].sum() > 1e-9)
    assert "Green power by tenant" in sec and "<svg" in sec
    # the battery's part (the west's battery serves ai_lab) is its own column
    via = result.tenants.set_index("tenant")["via_battery_mwh"]
    assert via["ai_lab"] > 0 and "through a battery [MWh]" in sec
    row = re.search(r"<tr><td class='t'>ai_lab</td>(.*?)</tr>", sec, re.DOTALL).group(1)
    assert fmt(float(certs.loc[certs["tenant"] == "ai_lab", "via_storage_mwh"].sum())) in row
    assert f"{len(certs):,} records" in sec


@needs_chromium
def test_tenant_chart_draws_in_chromium(result, tmp_path):
    path = result.to_html(tmp_path / "tenants.html")
    html = path.read_text(encoding="utf-8")
    img, measured = browse(path, tmp_path)
    assert "aria-label='green power by tenant'" in html
    assert_drawn(img, measured, html.count("<figure class='chart'"))


def test_results_directory_gives_the_same_section(result, tmp_path):
    a = _section(result.to_html(tmp_path / "a.html").read_text(encoding="utf-8"))
    result.to_parquet(tmp_path / "out")
    b = _section(report_from_dir(tmp_path / "out", tmp_path / "b.html",
                                 scenario=engine.Scenario.from_dict(_scenario()))
                 .read_text(encoding="utf-8"))
    strip = lambda s: re.sub(r"<svg.*?</svg>", "", s, flags=re.DOTALL)
    assert strip(a) == strip(b)


def test_no_tenants_no_section(tmp_path):
    d = _scenario()
    d.pop("tenants")
    d["regions"][0].pop("tenant")
    for j in d["jobs"]:
        j.pop("tenant")
    res = engine.optimize(engine.Scenario.from_dict(d))
    html = res.to_html(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "green-power" not in html
