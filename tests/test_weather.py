"""Weather to availability and PUE, against references not written here."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.forecast import air_density_kg_m3, pue_from_temperature, pv_power_mw, wind_power_mw
from engine.scenario import PV, Site, Weather, Wind


def test_air_density_matches_the_standard_atmosphere():
    """ISA troposphere: rho = 1.225 * (1 - 2.25577e-5 h) ** 4.25588 at the ISA temperature
    T = 15 - 0.0065 h C. At Xining's 2,275 m that is ~0.979 kg/m3, 20 % below sea level."""
    for h in (0.0, 1000.0, 2275.0, 4000.0):
        t_isa = 15.0 - 0.0065 * h
        expected = 1.225 * (1 - 2.25577e-5 * h) ** 4.25588
        assert air_density_kg_m3(h, t_isa) == pytest.approx(expected, rel=2e-3)
    assert 1 - air_density_kg_m3(2275.0, 15 - 0.0065 * 2275) / 1.225 == pytest.approx(0.20, abs=0.01)


def test_wind_curve_and_density_correction():
    w = Wind(name="w", capacity_mw=10.0, hub_height_m=10.0, losses_fraction=0.0)
    weather = Weather(wind_speed=[0.0, 2.0, 12.0, 30.0, 8.0], temp_air=15.0)
    sea = wind_power_mw(w, weather, altitude_m=0.0)
    # below cut-in, rated, above cut-out
    assert sea[0] == 0 and sea[1] == 0 and sea[3] == 0
    # at 15 C and sea level the density is ~1.225, so 12 m/s gives ~rated power
    assert sea[2] == pytest.approx(10.0 * np.interp(12 * (air_density_kg_m3(0, 15) / 1.225) ** (1 / 3),
                                                    w.curve_wind_speed_m_s, w.curve_power_fraction))
    high = wind_power_mw(w, weather, altitude_m=2275.0)
    assert high[4] < sea[4] * 0.95  # thinner air, less power below rated


def test_pv_power_matches_pvlib_modelchain_pvwatts():
    """Our PV chain against pvlib's own ModelChain with the same PVWatts choices."""
    pvlib = pytest.importorskip("pvlib")
    from pvlib.modelchain import ModelChain
    from pvlib.pvsystem import PVSystem

    idx = pd.date_range("2023-06-21 00:00", periods=48, freq="h", tz="Asia/Shanghai")
    site = Site(name="x", latitude_deg=36.62, longitude_deg=101.78, altitude_m=2275.0)
    loc = pvlib.location.Location(36.62, 101.78, tz="Asia/Shanghai", altitude=2275.0)
    mid = idx + pd.Timedelta(minutes=30)
    cs = loc.get_clearsky(mid, model="ineichen", linke_turbidity=3.0)
    temp = 15 + 8 * np.sin(np.arange(48) / 24 * 2 * np.pi)
    wind = np.full(48, 2.0)
    weather = Weather(ghi=cs["ghi"].to_numpy(), dni=cs["dni"].to_numpy(), dhi=cs["dhi"].to_numpy(),
                      temp_air=temp, wind_speed=wind)
    pv = PV(name="p", capacity_mw=10.0, inverter_capacity_mw=8.0, tilt_deg=34.0, losses_fraction=0.14)
    ours = pv_power_mw(pv, weather, site, idx)

    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    system = PVSystem(surface_tilt=34.0, surface_azimuth=180.0, albedo=0.25,
                      module_parameters={"pdc0": 10.0, "gamma_pdc": -0.0035},
                      inverter_parameters={"pdc0": 8.0 / 0.96, "eta_inv_nom": 0.96},
                      temperature_model_parameters=params,
                      losses_parameters={})
    mc = ModelChain(system, loc, aoi_model="no_loss", spectral_model="no_loss",
                    transposition_model="haydavies", losses_model="no_loss",
                    dc_model="pvwatts", ac_model="pvwatts", solar_position_method="nrel_numpy")
    wx = pd.DataFrame({"ghi": cs["ghi"].to_numpy(), "dni": cs["dni"].to_numpy(),
                       "dhi": cs["dhi"].to_numpy(), "temp_air": temp, "wind_speed": wind}, index=mid)
    mc.run_model(wx)
    # our losses are applied to DC power before the inverter, as PVWatts' system losses are
    dc_ref = mc.results.dc.to_numpy() * (1 - 0.14)
    ac_ref = np.clip(np.nan_to_num(pvlib.inverter.pvwatts(dc_ref, 8.0 / 0.96, 0.96)), 0, 8.0)
    np.testing.assert_allclose(ours, ac_ref, rtol=1e-6, atol=1e-6)
    assert ours.max() > 5.0  # a clear June day at altitude reaches most of the AC rating


def test_pue_model():
    pue = pue_from_temperature(np.array([-10.0, 12.0, 22.0, 60.0]), 12.0, 1.12, 0.012, 1.45)
    np.testing.assert_allclose(pue, [1.12, 1.12, 1.24, 1.45])


def test_pv_cache_hit_equals_compute_and_key_follows_inputs(tmp_path, monkeypatch):
    from engine.forecast import cache

    monkeypatch.setenv("WATTBIT_CACHE_DIR", str(tmp_path))
    idx = pd.date_range("2023-06-21 00:00", periods=24, freq="h", tz="Asia/Shanghai")
    site = Site(name="x", latitude_deg=36.62, longitude_deg=101.78, altitude_m=2275.0)
    ghi = np.clip(900 * np.sin((np.arange(24) - 6) / 12 * np.pi), 0, None)
    w = Weather(ghi=ghi, dni=ghi * 0.8, dhi=ghi * 0.15, temp_air=15.0, wind_speed=2.0)
    pv = PV(name="p", capacity_mw=10.0)
    calls = []

    def compute():
        calls.append(1)
        return pv_power_mw(pv, w, site, idx)

    key = cache.pv_key(pv, w, site, idx)
    first = cache.cached_pv(key, 24, compute)
    again = cache.cached_pv(key, 24, compute)
    assert len(calls) == 1  # the second came from disk
    np.testing.assert_array_equal(first, again)
    # any input that changes the physics changes the key; the name does not
    w2 = Weather(ghi=ghi * 0.5, dni=ghi * 0.4, dhi=ghi * 0.15, temp_air=15.0, wind_speed=2.0)
    assert cache.pv_key(pv, w2, site, idx) != key
    assert cache.pv_key(PV(name="p", capacity_mw=10.0, tilt_deg=20.0), w, site, idx) != key
    assert cache.pv_key(PV(name="other", capacity_mw=10.0), w, site, idx) == key
    # a damaged entry is recomputed, not trusted
    (tmp_path / "pv" / f"{key}.npy").write_bytes(b"garbage")
    np.testing.assert_array_equal(cache.cached_pv(key, 24, compute), first)
    assert len(calls) == 2
    monkeypatch.setenv("WATTBIT_CACHE", "0")
    assert cache.cache_dir() is None
    cache.cached_pv(key, 24, compute)
    assert len(calls) == 3


@pytest.mark.parametrize("start, tz, T", [("2023-06-21 00:00", "Asia/Shanghai", 24),
                                          ("2023-03-25 12:00", "Europe/Berlin", 48),
                                          ("2023-01-01 00:00", "UTC", 8760),
                                          ("2023-01-01 00:00:00.5", "Asia/Kolkata", 5)])
def test_pv_cache_key_depends_on_the_hours(start, tz, T):
    """The scenario's hours key the cache: the same hours give the same key (an index
    built the same way by a caller), and other hours another."""
    from engine.forecast import cache
    from engine.scenario.series import hourly_index

    site = Site(name="x", latitude_deg=36.62, longitude_deg=101.78, altitude_m=2275.0)
    w, pv = Weather(temp_air=15.0), PV(name="p", capacity_mw=10.0)
    index = hourly_index(start, tz, T)
    idx = pd.date_range(pd.Timestamp(start).tz_localize(tz), periods=T, freq="h")
    assert cache.pv_key(pv, w, site, index) == cache.pv_key(pv, w, site, idx)
    for other in (hourly_index(start, tz, T + 1), hourly_index(start, "Asia/Tokyo", T),
                  hourly_index("2024-06-21 00:00", tz, T)):
        assert cache.pv_key(pv, w, site, other) != cache.pv_key(pv, w, site, index)
