"""The HTML reports: one offline file per result (``Result.to_html``, ``wattbit report``) and
the batch comparison page, each rendered in a real headless Chromium.

The browser tests start Debian's ``chromium`` (``apt-get install -y chromium``; CI's
``.ci/run`` installs it) and skip, saying so, only where it is absent. Each report is loaded
twice: once with a measuring script appended (``--dump-dom``: every chart's SVG with its
laid-out size), once as written for a full-page screenshot, which must not be blank and
must show ink inside every chart's box. ``WATTBIT_REPORT_SHOTS=DIR`` keeps the screenshots.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import MATPOWER_CASES, base_dict

import engine
from engine.cli import main
from engine.results import empty_result
from engine.results._report_batch import pareto_front
from engine.results.report import (
    _read_store,
    batch_report,
    clean_share,
    default_week,
    is_batch_store,
    load_results_dir,
    report_from_dir,
)

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install -y "
                             "chromium); the browser rendering of the reports is not checked")
T = 15 * 24
EVIL = "<script>alert('x')</script> & $\\alpha$"


def _dict(T: int = T) -> dict:
    """``base_dict`` over ``T`` hours with its site on case33bw and a few more jobs."""
    d = base_dict(T)
    d["sites"][0]["grid"]["demand_charge_per_mw_month"] = 2000.0
    d["sites"][0]["network"] = {
        "case": str(MATPOWER_CASES / "case33bw.m"), "datacenter_bus": 14, "pv_bus": {"pv": 33},
        "battery_bus": {"bess": 14}, "scale_impedance": 0.3, "vmin_pu": 0.95,
        "vmax_pu": 1.05}
    d["jobs"] += [{"name": f"job{k:02d}", "energy_mwh": 6.0, "release_h": 24 * k,
                   "deadline_h": 24 * k + 30, "max_power_mw": 1.5} for k in range(1, 14)]
    return d


@pytest.fixture(scope="module")
def single():
    """Two weeks and a day at one site on a feeder: network check, jobs, tenants."""
    sc = engine.Scenario.from_dict(_dict())
    res = engine.optimize(sc)
    res.network_check = engine.check_network(res, sc)
    res.jobs = res.jobs.assign(tenant=[("acme" if k % 2 else "globex") for k in
                                       range(len(res.jobs))])
    return res


@pytest.fixture(scope="module")
def two_sites():
    d = base_dict(48)
    second = copy.deepcopy(d["sites"][0])
    second["name"] = "s2"
    second["pv"][0]["name"] = "pv2"
    second["batteries"][0]["name"] = "bess2"
    d["sites"].append(second)
    d["jobs"][0]["sites"] = ["s2"]
    d["name"] = EVIL
    return engine.optimize(engine.Scenario.from_dict(d))


def _store_frame(n: int = 40, seed: int = 3) -> pd.DataFrame:
    """A batch summary as engine.batch writes it: ids, swept values, status, figures."""
    rng = np.random.default_rng(seed)
    size = rng.choice([0.0, 10.0, 20.0, 40.0], n)
    carbon = rng.choice([0.0, 60.0, 200.0], n)
    green = np.clip(0.6 + size / 200 + carbon / 2000 + rng.normal(0, 0.02, n), 0, 1)
    cost = 9e6 + 4e4 * size + 3e3 * carbon + rng.normal(0, 2e5, n)
    status = np.where(np.arange(n) % 13 == 5, "infeasible", "optimal")
    df = pd.DataFrame({
        "id": [f"{k:016x}" for k in rng.integers(0, 2**62, n)],
        "sites[0].batteries[0].energy_mwh": size, "policy.carbon_price_per_t": carbon,
        "status": status, "objective": cost, "total_cost": cost, "green_share": green,
        "cfe_score": green - 0.01, "emissions_t": 3000 * (1 - green),
        "error": np.where(status == "infeasible", "infeasible: green floor <b>", ""),
    })
    df.loc[status != "optimal", ["objective", "total_cost", "green_share"]] = np.nan
    return df


# ----------------------------------------------------------------------------- browser
_MEASURE = """<script>
addEventListener('load', () => {
  const out = [...document.querySelectorAll('figure.chart svg')].map(s => {
    const r = s.getBoundingClientRect();
    return {x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height,
            n: s.querySelectorAll('path, image, use').length};
  });
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify({charts: out, height: document.documentElement.scrollHeight,
                                    width: document.documentElement.scrollWidth});
  document.body.appendChild(pre);
});
</script></body>"""


def _chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=180, check=False)


def browse(html: Path, tmp: Path, width: int = 1280) -> tuple[np.ndarray, dict]:
    """Lay ``html`` out in Chromium: the measured charts, then the full-page screenshot as
    an RGB array."""
    from PIL import Image

    probe = tmp / f"{html.stem}.measure.html"
    probe.write_text(html.read_text().replace("</body>", _MEASURE, 1))
    dom = _chromium(f"--window-size={width},1000", "--virtual-time-budget=5000",
                    "--dump-dom", probe.as_uri())
    found = re.search(r"<pre id=\"measured\">(.*?)</pre>", dom.stdout, re.DOTALL)
    assert found, f"the page did not load in Chromium:\n{dom.stderr[-2000:]}"
    measured = json.loads(found.group(1).replace("&quot;", '"'))
    png = tmp / f"{html.stem}.png"
    height = min(int(measured["height"]) + 20, 16000)
    shot = _chromium(f"--window-size={width},{height}", f"--screenshot={png}", html.as_uri())
    assert png.is_file(), f"no screenshot:\n{shot.stderr[-2000:]}"
    if os.environ.get("WATTBIT_REPORT_SHOTS"):
        keep = Path(os.environ["WATTBIT_REPORT_SHOTS"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, keep / png.name)
    return np.asarray(Image.open(png).convert("RGB"), dtype=float), measured


def assert_drawn(img: np.ndarray, measured: dict, n_charts: int) -> None:
    """Not blank, no horizontal overflow, and ink inside every chart's laid-out box."""
    assert img.std() > 20, "the screenshot is blank"
    assert measured["width"] <= img.shape[1], "the page scrolls sideways"
    charts = measured["charts"]
    assert len(charts) == n_charts
    for c in charts:
        assert c["w"] > 600 and c["h"] > 100 and c["n"] > 5, c
        y0, y1 = int(c["y"]), int(c["y"] + c["h"])
        x0, x1 = int(c["x"]), int(c["x"] + c["w"])
        region = img[y0:y1, x0:x1].mean(axis=2)
        assert region.size, c
        ink = (region < 200).mean()
        assert ink > 0.01 and region.std() > 15, f"chart at y={y0} looks empty ({ink:.3f})"


@needs_chromium
def test_single_site_report_draws_in_chromium(single, tmp_path):
    path = single.to_html(tmp_path / "single.html")
    img, measured = browse(path, tmp_path)
    # cost, week, daily energy, SOC, CFE, voltages, job schedule week and horizon
    assert_drawn(img, measured, 8)


@needs_chromium
def test_two_site_report_draws_in_chromium(two_sites, tmp_path):
    path = two_sites.to_html(tmp_path / "two_sites.html")
    img, measured = browse(path, tmp_path)
    # cost; per site a week of dispatch and its CFE (48 h: no year views); the jobs' week
    assert_drawn(img, measured, 1 + 2 * 2 + 1)


@needs_chromium
def test_batch_page_draws_in_chromium(tmp_path):
    path = batch_report(_store_frame(), tmp_path / "batch.html", currency="CNY")
    img, measured = browse(path, tmp_path)
    assert_drawn(img, measured, 1)


# ----------------------------------------------------------------------------- contents
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_report_is_one_offline_file(single, tmp_path):
    html = _text(single.to_html(tmp_path / "r.html"))
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:|//)", html)
    assert "<link" not in html and "<script" not in html and "@import" not in html
    for heading in ("Overview", "Site s1", "Network check", "Jobs", "Per-tenant ledger",
                    "demand charges ("):
        assert heading in html
    assert html.count("<svg") == 8


def test_text_is_escaped(two_sites, tmp_path):
    html = _text(two_sites.to_html(tmp_path / "evil.html"))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; $\\alpha$" in html
    assert "Site s2" in html and "<h3>Sites</h3>" in html


def test_cfe_heatmap_share_agrees_with_the_kpi(single):
    share = clean_share(single.hourly, "s1")
    load = single.hourly["datacenter.s1/facility_mw"]
    assert float((share * load).sum() / load.sum()) == pytest.approx(
        single.kpis["cfe_score"], rel=1e-9)


def test_default_week_is_the_week_of_largest_load():
    load = np.ones(24 * 30)
    load[24 * 11 + 5: 24 * 11 + 30] = 5.0
    w = default_week(load)
    assert w % 24 == 0 and w <= 24 * 11 + 5 and w + 168 >= 24 * 11 + 30
    assert default_week(np.ones(100)) == 0 and default_week(np.zeros(24 * 30)) == 0


def test_week_and_site_arguments_are_checked(single, tmp_path):
    with pytest.raises(ValueError, match="start_h must be an hour of the horizon"):
        single.to_html(tmp_path / "x.html", week_start_h=T)
    with pytest.raises(ValueError, match="site 'nowhere' is not in the scenario"):
        single.to_html(tmp_path / "x.html", site="nowhere")
    html = _text(single.to_html(tmp_path / "w.html", week_start_h=48))
    assert "hours 48 to 215; chosen" in html


def test_no_solution_report_says_so(tmp_path):
    res = empty_result(engine.Status.INFEASIBLE, "bad <week>", "highs", {},
                              diagnosis="green floor: hours 0-23 & more")
    html = _text(res.to_html(tmp_path / "inf.html"))
    assert "No solution" in html and "green floor: hours 0-23 &amp; more" in html
    assert "bad &lt;week&gt;" in html and "<svg" not in html


def test_results_dir_gives_the_same_report(single, tmp_path):
    d = single.to_parquet(tmp_path / "run")
    back = load_results_dir(d)
    assert back.objective == pytest.approx(single.objective)
    pd.testing.assert_frame_equal(back.hourly, single.hourly, check_freq=False)
    assert len(back.demand_charges) == len(single.demand_charges) > 0
    out = report_from_dir(d)
    assert out == d / "report.html"
    html = _text(out)
    # summary.json has the check's counts; the voltages are files only `wattbit run` writes
    assert html.count("<svg") == 7
    assert "violations: vmin" in html


def test_several_sites_from_a_directory_need_the_scenario_for_their_assets(two_sites, tmp_path):
    d = two_sites.to_parquet(tmp_path / "two")
    html = _text(report_from_dir(d))
    assert html.count("does not say which site each asset belongs to") == 2
    assert "the currency (the scenario is not known" in html and " None" not in html
    html = _text(report_from_dir(d, tmp_path / "with.html",
                                 scenario=two_sites.extra["scenario"]))
    assert "does not say which site" not in html and "currency (the" not in html
    assert "battery SOC" in html  # each site's own battery, now attributed


def test_cli_report(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    import yaml

    path.write_text(yaml.safe_dump(base_dict(72)))
    out = tmp_path / "r"
    assert main(["run", str(path), "--out", str(out), "--no-plot"]) == 0
    assert main(["report", str(out), "-o", str(tmp_path / "rep.html"),
                 "--scenario", str(path)]) == 0
    assert "wrote" in capsys.readouterr().out
    html = _text(tmp_path / "rep.html")
    assert html.count("<svg") == 4 and "CNY/MWh" in html  # the scenario's currency
    assert main(["report", str(out), "--week-start", "9999"]) == 2
    assert "start_h must be an hour of the horizon" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err


# ----------------------------------------------------------------------------- batch
def test_pareto_front_is_the_non_dominated_set():
    rng = np.random.default_rng(0)
    cost = rng.integers(0, 20, 200).astype(float)
    green = rng.integers(0, 20, 200).astype(float) / 20
    cost[:5] = np.nan
    front = pareto_front(cost, green)
    ok = np.flatnonzero(~np.isnan(cost))
    assert not front[:5].any()

    def dominated(i: int) -> bool:
        return any(cost[j] <= cost[i] and green[j] >= green[i]
                   and (cost[j] < cost[i] or green[j] > green[i]) for j in ok)

    for i in ok:
        assert front[i] == (not dominated(i)), i


def test_batch_page_contents(tmp_path):
    df = _store_frame()
    html = _text(batch_report(df, tmp_path / "b.html"))
    assert html.count("<svg") == 1
    assert "sites[0].batteries[0].energy_mwh" in html and "Pareto front" in html
    assert "infeasible: green floor &lt;b&gt;" in html
    n_front = int(pareto_front(df["total_cost"].to_numpy(), df["green_share"].to_numpy()).sum())
    assert html.count("<tr class='hl'>") == n_front  # highlighted in the sweep's table
    assert f"Pareto front: {n_front} non-dominated" in html


def test_store_written_by_engine_batch(tmp_path):
    """A store as engine.batch writes it: scenario_id, swept paths, cost./kpi. columns, a
    manifest naming the batch and its paths."""
    from types import SimpleNamespace

    from engine.batch.store import Store

    df = _store_frame(9)
    paths = ["sites[0].batteries[0].energy_mwh", "policy.carbon_price_per_t"]
    items = [SimpleNamespace(index=k, id=r.id, params={p: r[p] for p in paths})
             for k, (_, r) in enumerate(df.iterrows())]
    store = Store(tmp_path / "store")
    store.open("sizes <&> prices", "hash0", items, paths)
    rows = [{"scenario_id": r.id, "index": k, "status": r.status, "objective": r.objective,
             "params": {p: r[p] for p in paths}, "error": r.error or None,
             **({"cost": {"energy": r.total_cost}, "kpi": {
                 "total_cost": r.total_cost, "green_share": r.green_share}}
                if r.status == "optimal" else {})}
            for k, (_, r) in enumerate(df.iterrows())]
    store.write_rows(rows)
    assert is_batch_store(tmp_path / "store")
    html = _text(report_from_dir(tmp_path / "store", tmp_path / "b.html"))
    assert "<h1>batch sizes &lt;&amp;&gt; prices</h1>" in html and html.count("<svg") == 1
    n_front = int(pareto_front(df["total_cost"].to_numpy(), df["green_share"].to_numpy()).sum())
    assert f"Pareto front: {n_front} non-dominated" in html
    assert ">green_<wbr>share</th>" in html  # kpi. prefix dropped where unambiguous


def test_batch_store_directory_and_cli(tmp_path, capsys):
    store = tmp_path / "store"
    (store / "summary").mkdir(parents=True)
    df = _store_frame(12)
    df.iloc[:6].to_parquet(store / "summary" / "part-0.parquet")
    df.iloc[6:].to_parquet(store / "summary" / "part-1.parquet")
    assert is_batch_store(store)
    assert len(_read_store(store)) == 12
    assert main(["report", str(store), "-o", str(tmp_path / "b.html")]) == 0
    assert "Pareto front" in _text(tmp_path / "b.html")
    loose = tmp_path / "loose"
    loose.mkdir()
    df.to_parquet(loose / "rows.parquet")
    assert is_batch_store(loose) and len(_read_store(loose)) == 12
    with pytest.raises(FileNotFoundError, match="no batch store here"):
        _read_store(tmp_path / "r_nothing")
