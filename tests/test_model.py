"""The backend-neutral model's arrays against SciPy's sparse assembly (a reference we did not
write): the CSC matrix written term by term must equal ``coo_matrix(...).tocsc()`` with
duplicates summed and rows sorted, whatever the mix of aligned terms, explicit rows,
broadcast coefficients, absent columns, zeros and repeated entries."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import LinearModel


def _reference(triplets, shape):
    rows = np.concatenate([t[0] for t in triplets]) if triplets else np.zeros(0, int)
    cols = np.concatenate([t[1] for t in triplets]) if triplets else np.zeros(0, int)
    vals = np.concatenate([t[2] for t in triplets]) if triplets else np.zeros(0)
    keep = (cols >= 0) & (vals != 0.0)
    A = sp.coo_matrix((vals[keep], (rows[keep], cols[keep])), shape=shape).tocsc()
    A.sum_duplicates()
    A.sort_indices()
    return A


@st.composite
def models(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    m = LinearModel()
    n_groups = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 12)) for _ in range(n_groups)]
    for i, n in enumerate(sizes):
        m.add_variables(f"x{i}", n, lb=0.0, ub=rng.uniform(1, 5, n), cost=rng.normal(size=n))
    N = m.n_cols
    triplets = []
    for g in range(draw(st.integers(1, 4))):
        R = draw(st.integers(1, 10))
        start = m.n_rows
        terms = []
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["aligned", "trailing", "explicit", "scalar"]))
            if kind == "explicit":
                k = draw(st.integers(0, 3 * R))
                cols = rng.integers(-1, N, k)
                rows = rng.integers(0, R, k)  # unsorted, repeats allowed
                coef = rng.choice([0.0, 1.0, -2.5, 0.3], k)
                terms.append((cols, coef, rows))
                triplets.append((rows + start, cols, coef))
                continue
            shape = (R,) if kind in ("aligned", "scalar") else (R, draw(st.integers(1, 3)))
            cols = rng.integers(-1, N, shape)
            coef = (rng.choice([0.0, 1.0, -1.0, 2.0], shape) if kind != "scalar"
                    else float(draw(st.sampled_from([1.0, -0.5, 0.0]))))
            terms.append((cols, coef))
            rows = np.broadcast_to(np.arange(R).reshape((R,) + (1,) * (len(shape) - 1)), shape)
            triplets.append((rows.ravel() + start, cols.ravel(),
                             np.broadcast_to(coef, shape).ravel()))
        m.add_constraints(f"c{g}", R, terms, lb=-1.0, ub=rng.uniform(0, 3, R))
    return m, triplets


@settings(max_examples=200, deadline=None)
@given(models())
def test_matrix_equals_scipy_assembly(case):
    m, triplets = case
    shape = (m.n_rows, m.n_cols)
    ref = _reference(triplets, shape)
    A = m.arrays().A
    assert A.shape == shape
    np.testing.assert_array_equal(A.indptr, ref.indptr)
    np.testing.assert_array_equal(A.indices, ref.indices)
    np.testing.assert_allclose(A.data, ref.data, rtol=0, atol=1e-12)
    assert A.indices.dtype == np.int32 and A.indptr.dtype == np.int32


def test_vectors_broadcast_and_costs_accumulate():
    m = LinearModel()
    g = m.add_variables("p", (2, 3), ub=np.array([[1.0], [2.0]]), cost=5.0)
    m.add_variables("u", 2, lb=0, ub=1, integer=True)
    m.add_cost(g.idx[:, 0], 1.5)
    m.add_cost(np.array([-1, g.idx[1, 2]]), np.array([9.0, 2.0]))  # -1 is skipped
    m.add_constraints("c", 3, [(g.idx.T, 1.0)], lb=np.array([0.0, 1.0, 2.0]), ub=np.inf)
    a = m.arrays()
    np.testing.assert_array_equal(a.col_ub, [1, 1, 1, 2, 2, 2, 1, 1])
    np.testing.assert_array_equal(a.cost, [6.5, 5, 5, 6.5, 5, 7, 0, 0])
    np.testing.assert_array_equal(a.integrality, [0] * 6 + [1, 1])
    np.testing.assert_array_equal(a.row_lb, [0, 1, 2])
    assert m.arrays() is a  # finalised: the same arrays
    with pytest.raises(RuntimeError, match="finalised"):
        m.add_variables("late", 1)


@pytest.mark.parametrize("bad, match", [
    (lambda m, g: m.add_constraints("c", 3, [(g.idx[:2], 1.0)]), "does not match rows"),
    (lambda m, g: m.add_constraints("c", 3, [(g.idx, np.ones(2))]), "coef: shape"),
    (lambda m, g: m.add_constraints("c", 2, [(g.idx, 1.0, np.array([0, 1, 2]))]),
     "row positions must lie in"),
    (lambda m, g: m.add_constraints("c", 2, [(g.idx, 1.0, np.zeros(2, int))]),
     "do not broadcast"),
    (lambda m, g: m.add_constraints("c", 3, [(g.idx + 5, 1.0)]), "does not exist"),
    (lambda m, g: m.add_variables("v", 3, ub=np.ones(2)), "ub: shape"),
])
def test_bad_groups_name_the_group(bad, match):
    m = LinearModel()
    g = m.add_variables("x", 3)
    with pytest.raises(ValueError, match=match):
        bad(m, g)


def test_hourly_floor_takes_fossil_terms_of_several_units_at_one_site():
    """The collectors keep (1, T) rows when every unit of a term is at one site; the hourly
    green floor must broadcast them to the term's (n, T) columns (as a genset component
    declaring two units at one site will)."""
    from conftest import base_dict

    import engine
    from engine.model import policy
    from engine.model.data import prepare
    from engine.model.formulation import Formulation

    d = base_dict(24)
    d["policy"] = {"green_share_min_fraction": 0.5, "green_matching": "hourly"}
    f = Formulation(prepare(engine.Scenario.from_dict(d)))
    units = f.model.add_variables("test/fossil_units_mw", (2, f.T), ub=1.0)
    f.fossil(units.idx, np.array([0, 0]), np.array([[1.0], [0.5]]))
    policy.add(f)
    g = f.model.con_groups["policy/green_share_hourly"]
    A = f.model.arrays().A.to_scipy().tocsr()[g.start:g.start + g.size]
    np.testing.assert_array_equal(A[:, units.idx[0]].toarray(), np.eye(f.T))
    np.testing.assert_array_equal(A[:, units.idx[1]].toarray(), 0.5 * np.eye(f.T))
