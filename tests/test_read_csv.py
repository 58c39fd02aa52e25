"""CSV series without pandas: the same arrays (bit for bit) and errors as pandas' reader.

``_read_csv`` reads plain numeric files itself and hands everything else to
``pd.read_csv(file, comment="#")``; both must agree on every file, column and edge case.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ScenarioError
from engine.scenario import _read_csv, _read_csv_fast, _read_csv_pandas

BUNDLED = sorted((EXAMPLES / "data").rglob("*.csv"))


def outcome(fn):
    """Arrays (as bytes, so -0.0 and NaN payloads count) or the error message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' DtypeWarning on mixed files
            got = fn()
    except ScenarioError as exc:
        return "error", str(exc)
    if isinstance(got, dict):
        return {k: (v.dtype.str, v.tobytes()) for k, v in got.items()}
    return got.dtype.str, got.tobytes()


def both(file: Path, column=None):
    """(public reader, pandas reader, fast reader) outcomes for a column or the whole file."""
    spec = {"csv": file.name} if column is None else {"csv": file.name, "column": column}
    ours = outcome(lambda: _read_csv(spec, file.parent, ("w",), {}))
    ref = outcome(lambda: _read_csv_pandas(spec, file, "w")
                  if column is None else _read_csv_pandas(spec, file, "w")[column])
    fast = _read_csv_fast(file, column, column is not None)
    return ours, ref, fast


def columns_of(file: Path) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(pd.read_csv(file, comment="#", nrows=5).columns)


def test_bundled_data_files_read_the_same():
    assert len(BUNDLED) >= 5
    fast_columns = set()
    for file in BUNDLED:
        for col in [None, *columns_of(file), "no_such_column"]:
            fast = _read_csv_fast(file, col, col is not None)
            if fast is None:
                continue  # pandas' reader reads it, as before
            ours, ref, _ = both(file, col)
            want = fast if col is None else fast[col]
            assert outcome(lambda w=want: w) == ours == ref, (file, col)
            fast_columns.add((file.name, col))
    # the fast path did read the example's files (else this test would compare pandas
    # with itself)
    assert {("xining_weather_2023.csv", None), ("xining_weather_2023.csv", "ghi"),
            ("xining_weather_2023.csv", "temp_air"), ("xining_weather_2023_week27.csv", None),
            ("AzureLLMInferenceTrace_conv.csv", "ContextTokens")} <= fast_columns


@pytest.mark.parametrize("text, column, fast", [
    ("a,b\n1,2\n3,4\n", "b", True),
    ("a,b\n1.5e-05,+.5\n-2.,7E+3\n", "a", True),
    ("# a comment\n\ntime,v\n2023-01-01 00:00,1.25\n\n# more\n2023-01-01 01:00,-3\n", None, True),
    ("v\n0.1\n\n0.2\n", "v", True),
    ("a,b\n1,2\n3,4", "a", True),                     # no final newline
    ("a,b\n1e-10,2\n3,4\n", "a", False),             # two-digit exponent: pandas reads it
    ("v\n0.30000000000000004\n1\n", "v", False),     # 17 digits: pandas' own rounding
    ("v\n12345678901234567\n", "v", False),
    ("v\n-0\n1\n", "v", False),                      # pandas: an integer column, +0.0
    ("v\n-0.0\n1.5\n", "v", False),
    ('"a","b"\n1,2\n', "a", False),                  # quotes
    ('a,b\n"1,5",2\n', "b", False),
    ("a,b\n1,\n2,3\n", "b", False),                  # an empty cell is NaN in pandas
    ("a,a\n1,2\n", "a", False),                      # pandas renames the second a.1
    ("a,b\n1,x\n", "b", False),                      # not numeric: pandas' error
    ("a,b\n1,x\n", None, False),
    ("a,b\n1,2 # note\n", "b", False),               # a comment after data
    ("a,b\r\n1,2\r\n", "b", True),                   # CRLF (universal newlines)
    ("a,b\r1,2\r", "b", True),                       # old Mac line ends
    ("\ufeffa,b\n1,2\n", "a", False),                # BOM
    ("a, b\n1, 2\n", " b", False),                   # spaces around names and values
    ("a,b\n1, 2\n", "b", False),
    ("a,b\n1,2,3\n4,5,6\n", "a", False),             # a row longer than the header
    ("a,b,c\n1,2\n", "a", False),                    # shorter
    ("a,b\n1,nan\n", "b", False),
    ("a,b\n1,inf\n", "b", False),
    ("a,b\n1,NA\n", "b", False),
    ("a,b\n", "a", False),                           # header only
    ("a,b\n1,2\n", "c", False),                      # missing column: pandas' error
    ("a,,c\n1,2,3\n", "a", False),                   # an unnamed column
    ("a,b\n   \n1,2\n", "a", False),                 # a line of spaces
])
def test_edge_cases_read_like_pandas(tmp_path, text, column, fast):
    file = tmp_path / "x.csv"
    file.write_text(text, encoding="utf-8", newline="")
    ours, ref, got = both(file, column)
    assert ours == ref
    assert (got is not None) == fast


def test_undecodable_file_keeps_pandas_error(tmp_path):
    file = tmp_path / "x.csv"
    file.write_bytes(b"a,b\n1,\xff\n")
    ours, ref, got = both(file, "b")
    assert got is None and ours == ref and ours[0] == "error"


NUMBER = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-", "+"]),
    st.from_regex(r"\d{1,9}", fullmatch=True),
    st.one_of(st.just(""), st.just("."), st.from_regex(r"\.\d{1,8}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"[eE][+-]?\d", fullmatch=True)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(NUMBER, min_size=1, max_size=30))
def test_numbers_read_to_the_same_doubles(tmp_path_factory, tokens):
    file = tmp_path_factory.mktemp("csv") / "x.csv"
    file.write_text("v\n" + "\n".join(tokens) + "\n")
    ours, ref, _ = both(file, "v")
    assert ours == ref


def _plain(token: str) -> bool:
    """Within the fast path's limits: 15 characters, exponent at most 7."""
    return len(token) <= 15 and ("e" not in token or abs(int(token.split("e")[1])) <= 7)


PLAIN = st.builds(
    lambda x, p: format(x, f".{p}g"),
    st.floats(min_value=-1e7, max_value=1e7, allow_nan=False, allow_infinity=False),
    st.integers(1, 15),
).filter(_plain)


@settings(max_examples=200, deadline=None)
@given(st.lists(PLAIN, min_size=1, max_size=50))
def test_plain_numbers_are_read_without_pandas_to_pandas_doubles(tmp_path_factory, tokens):
    """The fast path's precision argument, tested: what it takes, it reads as pandas does."""
    file = tmp_path_factory.mktemp("csv") / "x.csv"
    file.write_text("v\n" + "\n".join(tokens) + "\n")
    fast = _read_csv_fast(file, "v", True)
    if any(float(t) == 0.0 and t.startswith("-") for t in tokens):
        assert fast is None  # -0 is left to pandas
        return
    assert fast is not None, tokens
    ref = outcome(lambda: _read_csv_pandas({"column": "v"}, file, "w")["v"])
    assert outcome(lambda: fast["v"]) == ref


def test_example_scenario_reads_its_weather_without_pandas(monkeypatch):
    calls = []
    import engine.scenario as scenario_module

    real = scenario_module._read_csv_pandas
    monkeypatch.setattr(scenario_module, "_read_csv_pandas",
                        lambda *a: calls.append(a) or real(*a))
    sc = scenario_module.load_scenario(EXAMPLES / "xining_park.yaml")
    assert calls == []
    frame = pd.read_csv(EXAMPLES / "data" / "xining_weather_2023.csv", comment="#")
    np.testing.assert_array_equal(sc.sites[0].weather.ghi, frame["ghi"].to_numpy(np.float64))
