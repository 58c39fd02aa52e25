"""The window model of the rolling-horizon controller: fixed structure, new numbers.

A rolling horizon solves the same ``W``-hour problem hundreds of times. Its *structure*
(which variables and rows exist, which matrix entries are non-zero) is fixed here once;
each window only brings new *numbers*: bounds, costs, right-hand sides and a few matrix
coefficients (PUE, the grid's fossil share). That lets the HiGHS backend keep one model
and warm-start it (:class:`engine.backends.highs.PersistentHighs`).

The physics are those of the components (:mod:`engine.components`), written for a window (``Δ = 1 h``,
hours ``t = 0..W-1`` of the window, absolute hour ``o + t``)::

    0 <= pv[i, t] <= avail_fc[i, t]  (same for wind),  hmin <= hydro <= hmax
    soc[b, t] = (1 - σ) soc[b, t-1] + η_c ch[b, t] - dis[b, t] / η_d,  soc[b, -1] = soc_in[b]
    SOCmin E <= soc <= SOCmax E,  soc[b, n-1] >= terminal_lb[b]  (n = hours left in the horizon)
    0 <= imp <= Imax up,  0 <= exp <= Emax up
    imp[g, t] <= peak[g, m]  for the month slot m of hour t;  peak[g, m] >= peak_so_far[g, m]
    0 <= flex[k, t] <= slot_ub[k, t]          (job slot k; 0 outside its job's window)
    must[k] <= sum_t flex[k, t] + short[k] <= remaining[k],  0 <= short[k] <= must[k]
    flex_it[s, t] = sum_{k at s} flex[k, t],  0 <= flex_it[s, t] <= cap_s - inflex_fc[s, t]
    bus: pv + wind + hydro + dis - ch + imp - exp - pue_fc flex_it + unserved = pue_fc inflex_fc
    green (annual floor, per window):
        sum (1 - clean) imp - (1 - α) sum pue_fc flex_it - slack <= (1 - α) sum pue_fc inflex_fc + bank
    green (hourly): the same per site and hour, without the bank

Cost: price_fc imp + carbon ef imp - price_exp exp + rate peak + c_deg (ch + dis)
- penalty_curt (pv + wind) - reward[k] flex[k] + VOLL (unserved + short) + green_penalty slack
- soc_value[b] soc[b, n-1] (the value of stored energy, when a plan gives one).

Hours of the window past the end of the scenario (the last windows) are *padded*: their
bounds are zero, so they carry nothing, and the terminal SOC row moves to the last real hour.
The window objective has no constant terms (it omits the curtailment constant and the
demand charge already incurred), so it is a decision criterion, not a realised cost.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from engine.model import LinearModel, ModelArrays, grouped, prev_in_time
from engine.model.data import ScenarioData

#: Placeholder for a matrix entry whose value is set per window (never 0, so it is kept).
_DYNAMIC = 1.0

#: Tolerance of the controller's comparisons of energy and power [MWh, MW].
TOL = 1e-9


@dataclass
class WindowInputs:
    """The numbers of one window. Shapes use ``W`` (window length) and asset counts.

    Attributes
    ----------
    valid : (W,) bool
        Hour lies inside the scenario horizon (False for padded hours).
    pv_avail_mw, wind_avail_mw : (n_pv, W), (n_wind, W)
        Availability forecasts [MW].
    hydro_min_mw, hydro_max_mw : (n_hydro, W)
        Hydro limits [MW] (known).
    inflex_mw, pue : (S, W)
        Inflexible IT load forecast [MW] and PUE forecast [-].
    price_import, price_export, emission, clean_share, grid_up : (G, W)
        Import price forecast and known export price [currency/MWh], emission factor
        [kg/MWh], clean share [-], grid availability [bool].
    soc_in_mwh, soc_terminal_lb_mwh : (B,)
        SOC before the first hour and lower bound at the last real hour [MWh].
    soc_terminal_ub_mwh : (B,)
        Upper bound of the SOC at the last real hour [MWh] (``inf``: none).
    month_slot : (W,) int
        Month slot of each hour (``-1`` padded).
    peak_lb_mw : (G, M)
        Peak import already reached in each month slot's month [MW].
    peak_rate : (G, M)
        Demand charge of each month slot's peak [currency/MW]: the monthly rate times the
        month's pro-rating factor (0 for a padded slot past the horizon).
    slot_ub_mw : (K, W)
        Upper bound of each job slot's power [MW].
    slot_must_mwh, slot_remaining_mwh, slot_reward_per_mwh : (K,)
        Energy the slot must do in the window, may do at most, and the value per MWh of IT
        energy done early (terminal value) [MWh, MWh, currency/MWh].
    green_bank_mwh : float
        Cumulative allowance carried into the window's green-share row [MWh] (annual floor).
    soc_value_per_mwh : (B,), optional
        Value of the energy stored at the last real hour [currency/MWh] (from a plan's
        duals); it earns this in the objective. None: no value (the terminal bounds only).
    """

    valid: np.ndarray
    pv_avail_mw: np.ndarray
    wind_avail_mw: np.ndarray
    hydro_min_mw: np.ndarray
    hydro_max_mw: np.ndarray
    inflex_mw: np.ndarray
    pue: np.ndarray
    price_import: np.ndarray
    price_export: np.ndarray
    emission: np.ndarray
    clean_share: np.ndarray
    grid_up: np.ndarray
    soc_in_mwh: np.ndarray
    soc_terminal_lb_mwh: np.ndarray
    soc_terminal_ub_mwh: np.ndarray
    month_slot: np.ndarray
    peak_lb_mw: np.ndarray
    peak_rate: np.ndarray
    slot_ub_mw: np.ndarray
    slot_must_mwh: np.ndarray
    slot_remaining_mwh: np.ndarray
    slot_reward_per_mwh: np.ndarray
    green_bank_mwh: float = 0.0
    soc_value_per_mwh: Optional[np.ndarray] = None


@dataclass
class WindowNumbers:
    """Every number of the window model in solver order (see :meth:`WindowModel.numbers`)."""

    col_lb: np.ndarray
    col_ub: np.ndarray
    cost: np.ndarray
    row_lb: np.ndarray
    row_ub: np.ndarray
    coef_vals: np.ndarray


class WindowModel:
    """The fixed-structure LP of one window.

    Parameters
    ----------
    data : ScenarioData
        The scenario's arrays (only asset parameters and the site layout are read here).
    window_h : int
        Window length ``W`` [h].
    slot_site : numpy.ndarray of int, shape (K,)
        Site of each job slot.
    n_month_slots : int
        Month slots ``M``: the most calendar months any window touches.
    green_penalty_per_mwh : float
        Cost of the green-share slack [currency/MWh].
    """

    def __init__(self, data: ScenarioData, window_h: int, slot_site: np.ndarray,
                 n_month_slots: int, green_penalty_per_mwh: float) -> None:
        W = int(window_h)
        self.W = W
        self.data = data
        sc = data.scenario
        pol = sc.policy
        S = len(data.sites)
        self.S = S
        m = LinearModel()
        self.model = m
        # ---- asset tables (sites, then assets in order: as the components do)
        self.pv_site = np.array([s for s, sd in enumerate(data.sites) for _ in sd.site.pv], np.int64)
        self.wind_site = np.array([s for s, sd in enumerate(data.sites) for _ in sd.site.wind],
                                  np.int64)
        self.hydro_site = np.array([s for s, sd in enumerate(data.sites) for _ in sd.site.hydro],
                                   np.int64)
        bats = [(s, b) for s, sd in enumerate(data.sites) for b in sd.site.batteries]
        self.bat_site = np.array([s for s, _ in bats], np.int64)
        self.bats = [b for _, b in bats]
        battr = lambda a: np.array([getattr(b, a) for b in self.bats], np.float64)  # noqa: E731
        self.bat_E = battr("energy_mwh")
        self.bat_pch = battr("charge_power_mw")
        self.bat_pdis = battr("discharge_power_mw")
        self.bat_eta_c = battr("charge_efficiency")
        self.bat_eta_d = battr("discharge_efficiency")
        self.bat_keep = 1.0 - battr("self_discharge_per_h")
        self.bat_soc_min = battr("soc_min_fraction") * self.bat_E
        self.bat_soc_max = battr("soc_max_fraction") * self.bat_E
        self.bat_deg = battr("degradation_cost_per_mwh")
        grids = [(s, sd.site.grid) for s, sd in enumerate(data.sites) if sd.site.grid is not None]
        self.grid_site = np.array([s for s, _ in grids], np.int64)
        self.imax = np.array([g.import_max_mw for _, g in grids], np.float64)
        self.emax = np.array([g.export_max_mw for _, g in grids], np.float64)
        self.dc_rate = np.array([g.demand_charge_per_mw_month for _, g in grids], np.float64)
        self.it_cap = np.array([sd.it_capacity_mw for sd in data.sites], np.float64)
        self.slot_site = np.asarray(slot_site, np.int64)
        K = self.slot_site.size
        self.flex_sites = np.unique(self.slot_site)  # sites with job slots
        self.M = int(n_month_slots)
        self.alpha = pol.green_share_min_fraction
        self.matching = pol.green_matching
        self.voll = pol.value_of_lost_load_per_mwh
        self.curt_penalty = pol.curtailment_penalty_per_mwh
        self.carbon_price = pol.carbon_price_per_t
        self.green_penalty = float(green_penalty_per_mwh)

        # bus entries collected as (row = site*W + t, col, coef) before the balance rows exist
        bus_rows, bus_cols, bus_coef = [], [], []
        tt = np.arange(W)

        def inject(site_of: np.ndarray, cols: np.ndarray, coef: float) -> None:
            bus_rows.append((site_of[:, None] * W + tt[None, :]).ravel())
            bus_cols.append(cols.ravel())
            bus_coef.append(np.full(cols.size, coef))

        g = {}
        for kind, site_of in (("pv", self.pv_site), ("wind", self.wind_site),
                              ("hydro", self.hydro_site)):
            if site_of.size:
                g[kind] = m.add_variables(f"{kind}/power_mw", (site_of.size, W))
                inject(site_of, g[kind].idx, 1.0)
        B = len(self.bats)
        if B:
            g["ch"] = m.add_variables("battery/charge_mw", (B, W))
            g["dis"] = m.add_variables("battery/discharge_mw", (B, W))
            g["soc"] = m.add_variables("battery/soc_mwh", (B, W))
            inject(self.bat_site, g["dis"].idx, 1.0)
            inject(self.bat_site, g["ch"].idx, -1.0)
        G = self.grid_site.size
        self.has_export = bool(G and np.any(self.emax > 0))
        self.has_peak = bool(G and np.any(self.dc_rate > 0))
        if G:
            g["imp"] = m.add_variables("grid/import_mw", (G, W))
            inject(self.grid_site, g["imp"].idx, 1.0)
            if self.has_export:
                g["exp"] = m.add_variables("grid/export_mw", (G, W))
                inject(self.grid_site, g["exp"].idx, -1.0)
            if self.has_peak:
                g["peak"] = m.add_variables("grid/peak_mw", (G, self.M))
        if K:
            g["flex"] = m.add_variables("job/power_mw", (K, W))
            g["short"] = m.add_variables("job/shortfall_mwh", K)
            g["flex_it"] = m.add_variables("datacenter/flex_it_mw", (self.flex_sites.size, W))
        g["unserved"] = m.add_variables("bus/unserved_mw", (S, W))
        inject(np.arange(S), g["unserved"].idx, 1.0)
        has_green = self.alpha > 0
        if has_green:
            shape = 1 if self.matching == "annual" else (S, W)
            g["slack"] = m.add_variables("policy/green_slack_mwh", shape)
        self.g = g

        # ---- rows. Dynamic coefficients are recorded as (row, col) pairs, in this order:
        # bus PUE on flex_it, green fossil share on imports, green PUE on flex_it.
        dyn_rows, dyn_cols = [], []
        if K:
            fi = g["flex_it"].idx  # (SF, W)
            bus_start = m.n_rows  # the balance is the first row group, added next
            rows = (self.flex_sites[:, None] * W + tt[None, :])
            bus_rows.append(rows.ravel())
            bus_cols.append(fi.ravel())
            bus_coef.append(np.full(fi.size, -_DYNAMIC))
            dyn_rows.append(bus_start + rows.ravel())
            dyn_cols.append(fi.ravel())
        bc, bv = grouped(np.concatenate(bus_rows), S * W, np.concatenate(bus_cols),
                         np.concatenate(bus_coef))
        self.r_bus = m.add_constraints("bus/balance", (S, W),
                                       [(bc.reshape(S, W, -1), bv.reshape(S, W, -1))])
        if B:
            soc = g["soc"].idx
            self.r_soc = m.add_constraints(
                "battery/soc_balance", (B, W),
                [(soc, 1.0), (prev_in_time(soc), -self.bat_keep[:, None]),
                 (g["ch"].idx, -self.bat_eta_c[:, None]),
                 (g["dis"].idx, 1.0 / self.bat_eta_d[:, None])])
        if self.has_peak:
            imp = np.broadcast_to(g["imp"].idx[:, None, :], (G, self.M, W))
            pk = np.broadcast_to(g["peak"].idx[:, :, None], (G, self.M, W))
            self.r_peak = m.add_constraints("grid/peak", (G, self.M, W), [(imp, 1.0), (pk, -1.0)])
        if K:
            self.r_energy = m.add_constraints(
                "job/energy", K, [(g["flex"].idx, 1.0), (g["short"].idx, 1.0)])
            # flex_it[s, t] - sum of the slots of site s
            pos = np.searchsorted(self.flex_sites, self.slot_site)
            link_rows = np.broadcast_to((pos[:, None] * W + tt[None, :]), (K, W))
            lc, lv = grouped(link_rows.ravel(), self.flex_sites.size * W, g["flex"].idx.ravel(),
                             -1.0)
            SF = self.flex_sites.size
            self.r_link = m.add_constraints(
                "datacenter/flex_it", (SF, W),
                [(g["flex_it"].idx, 1.0), (lc.reshape(SF, W, -1), lv.reshape(SF, W, -1))])
        if has_green:
            start = m.n_rows
            imp_cols = g["imp"].idx if G else np.zeros((0, W), np.int64)
            fi = g["flex_it"].idx if K else np.zeros((0, W), np.int64)
            if self.matching == "annual":
                self.r_green = m.add_constraints(
                    "policy/green_share_window", 1,
                    [(imp_cols.reshape(1, -1), _DYNAMIC), (fi.reshape(1, -1), -_DYNAMIC),
                     (g["slack"].idx.reshape(1, 1), -1.0)])
                dyn_rows += [np.full(imp_cols.size, start), np.full(fi.size, start)]
            else:
                # per site and hour; grids and flexible sites map onto their site's rows
                rows_g = (self.grid_site[:, None] * W + tt[None, :])
                rows_f = (self.flex_sites[:, None] * W + tt[None, :])
                gc, gv = grouped(np.concatenate([rows_g.ravel(), rows_f.ravel()]), S * W,
                                 np.concatenate([imp_cols.ravel(), fi.ravel()]),
                                 np.concatenate([np.full(imp_cols.size, _DYNAMIC),
                                                 np.full(fi.size, -_DYNAMIC)]))
                self.r_green = m.add_constraints(
                    "policy/green_share_hourly", (S, W),
                    [(gc.reshape(S, W, -1), gv.reshape(S, W, -1)), (g["slack"].idx, -1.0)])
                dyn_rows += [start + rows_g.ravel(), start + rows_f.ravel()]
            dyn_cols += [imp_cols.ravel(), fi.ravel()]
        self.coef_rows = (np.concatenate(dyn_rows) if dyn_rows else np.zeros(0)).astype(np.int64)
        self.coef_cols = (np.concatenate(dyn_cols) if dyn_cols else np.zeros(0)).astype(np.int64)

        # slices of every group, computed once: numbers() runs per window
        self._cs = {k: (v.start, v.start + v.size, v.shape) for k, v in g.items()}
        self._rs = {v.name: (v.start, v.start + v.size, v.shape) for v in m.con_groups.values()}

        # the template: structure and static numbers; per-window numbers overwrite these
        self.template = m.arrays()
        A = self.template.A
        # position of each dynamic entry in the CSC data array (rows sorted within columns)
        key = np.repeat(np.arange(A.shape[1], dtype=np.int64), np.diff(A.indptr)) * A.shape[0] \
            + A.indices.astype(np.int64)
        want = self.coef_cols * A.shape[0] + self.coef_rows
        self.coef_pos = np.searchsorted(key, want)
        if want.size and not np.array_equal(key[self.coef_pos], want):
            raise AssertionError("dynamic coefficient missing from the window matrix")

    # ------------------------------------------------------------------ numbers
    def numbers(self, w: WindowInputs) -> WindowNumbers:
        """All bounds, costs, right-hand sides and dynamic coefficients of one window."""
        m, g, W = self.model, self.g, self.W
        n, r = m.n_cols, m.n_rows
        lb = np.zeros(n)
        ub = np.zeros(n)
        cost = np.zeros(n)
        rlb = np.zeros(r)
        rub = np.zeros(r)
        v = w.valid.astype(np.float64)

        cs, rs = self._cs, self._rs

        def put(arr: np.ndarray, name: str, values) -> None:
            a, b, shape = cs[name]
            arr[a:b].reshape(shape)[...] = values

        def put_rows(lo: np.ndarray, hi: np.ndarray, grp, lo_v, hi_v) -> None:
            a, b, shape = rs[grp.name]
            lo[a:b].reshape(shape)[...] = lo_v
            hi[a:b].reshape(shape)[...] = hi_v

        for kind, avail in (("pv", w.pv_avail_mw), ("wind", w.wind_avail_mw)):
            if kind in g:
                put(ub, kind, avail * v)
                if self.curt_penalty:
                    put(cost, kind, -self.curt_penalty)
        if "hydro" in g:
            put(lb, "hydro", w.hydro_min_mw * v)
            put(ub, "hydro", w.hydro_max_mw * v)
        if "soc" in g:
            put(ub, "ch", self.bat_pch[:, None] * v)
            put(ub, "dis", self.bat_pdis[:, None] * v)
            put(cost, "ch", self.bat_deg[:, None])
            put(cost, "dis", self.bat_deg[:, None])
            soc_lb = self.bat_soc_min[:, None] * v
            soc_ub = np.broadcast_to(self.bat_soc_max[:, None], soc_lb.shape).copy()
            last = int(w.valid.sum()) - 1
            soc_lb[:, last] = np.maximum(soc_lb[:, last], w.soc_terminal_lb_mwh)
            soc_ub[:, last] = np.minimum(soc_ub[:, last], w.soc_terminal_ub_mwh)
            put(lb, "soc", soc_lb)
            put(ub, "soc", soc_ub)
            if w.soc_value_per_mwh is not None:
                a, _, shape = cs["soc"]
                cost[a:a + shape[0] * shape[1]].reshape(shape)[:, last] = -w.soc_value_per_mwh
            rhs = np.zeros((len(self.bats), W))
            rhs[:, 0] = self.bat_keep * w.soc_in_mwh
            put_rows(rlb, rub, self.r_soc, rhs, rhs)
        if "imp" in g:
            up = w.grid_up * v
            put(ub, "imp", self.imax[:, None] * up)
            put(cost, "imp", (w.price_import + self.carbon_price * w.emission / 1000.0) * v)
            if self.has_export:
                put(ub, "exp", self.emax[:, None] * up)
                put(cost, "exp", -w.price_export * v)
            if self.has_peak:
                put(lb, "peak", w.peak_lb_mw)
                put(ub, "peak", np.maximum(self.imax[:, None], w.peak_lb_mw))
                put(cost, "peak", w.peak_rate)
                on = (w.month_slot[None, :] == np.arange(self.M)[:, None])  # (M, W)
                hi = np.where(on, 0.0, np.inf)[None, :, :]
                put_rows(rlb, rub, self.r_peak, -np.inf, hi)
        pue_site = w.pue
        fixed_fac = w.pue * w.inflex_mw * v  # (S, W)
        if "flex" in g:
            put(ub, "flex", w.slot_ub_mw * v)
            put(cost, "flex", -w.slot_reward_per_mwh[:, None])
            put(ub, "short", w.slot_must_mwh)
            put(cost, "short", self.voll)
            head = np.maximum(self.it_cap[:, None] - w.inflex_mw, 0.0)[self.flex_sites] * v
            put(ub, "flex_it", head)
            put_rows(rlb, rub, self.r_energy, w.slot_must_mwh, w.slot_remaining_mwh)
            put_rows(rlb, rub, self.r_link, 0.0, 0.0)
        put(ub, "unserved", w.pue * self.it_cap[:, None] * v)
        put(cost, "unserved", self.voll)
        put_rows(rlb, rub, self.r_bus, fixed_fac, fixed_fac)
        # dynamic coefficients, in the order recorded in __init__
        coef = []
        if "flex" in g:
            coef.append(-pue_site[self.flex_sites].ravel())
        if "slack" in g:
            put(cost, "slack", self.green_penalty)
            put(ub, "slack", np.inf)
            keep_fossil = (1.0 - self.alpha)
            fossil = (1.0 - w.clean_share) if "imp" in g else np.zeros((0, W))
            coef.append(fossil.ravel())
            if "flex" in g:
                coef.append(-keep_fossil * pue_site[self.flex_sites].ravel())
            if self.matching == "annual":
                rhs = keep_fossil * fixed_fac.sum() + w.green_bank_mwh
            else:
                rhs = keep_fossil * fixed_fac
            put_rows(rlb, rub, self.r_green, -np.inf, rhs)
        coef_vals = np.concatenate(coef) if coef else np.zeros(0)
        return WindowNumbers(lb, ub, cost, rlb, rub, coef_vals)

    def arrays(self, nums: WindowNumbers) -> ModelArrays:
        """The window's model built from scratch: the template with these numbers."""
        t = self.template
        A = t.A.copy()
        A.data[self.coef_pos] = nums.coef_vals
        return ModelArrays(cost=nums.cost.copy(), col_lb=nums.col_lb.copy(),
                           col_ub=nums.col_ub.copy(), integrality=t.integrality,
                           row_lb=nums.row_lb.copy(), row_ub=nums.row_ub.copy(), A=A, offset=0.0)

    def value(self, x: np.ndarray, name: str) -> np.ndarray:
        """Values of one variable group, shaped like the group."""
        a, b, shape = self._cs[name]
        return x[a:b].reshape(shape)
