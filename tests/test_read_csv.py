"""CSV series: ``pd.read_csv(file, comment="#")`` with errors naming the field and the file;
a ``time`` column makes the series timestamped (aligned by the scenario, see
tests/test_series_time.py), a file without one is positional."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES

from engine.errors import ScenarioError
from engine.scenario import _read_csv
from engine.scenario.series import TimedSeries

BUNDLED = sorted((EXAMPLES / "data").rglob("*.csv"))


def read(file: Path, column=None):
    spec = {"csv": file.name} if column is None else {"csv": file.name, "column": column}
    return _read_csv(spec, file.parent, ("w",), {})


def test_example_weather_is_timestamped_and_read_like_pandas():
    file = EXAMPLES / "data" / "xining_weather_2023.csv"
    table = read(file)
    frame = pd.read_csv(file, comment="#")
    assert sorted(table) == sorted(c for c in frame.columns if c != "time")
    for name, ts in table.items():
        assert isinstance(ts, TimedSeries) and ts.source == file.name
        np.testing.assert_array_equal(ts.values.to_numpy(), frame[name].to_numpy(np.float64))
        assert ts.values.index[0] == pd.Timestamp("2023-01-01 00:00")  # naive: local time
        assert ts.values.index.tz is None and len(ts.values) == 8760


@pytest.mark.parametrize("text, column, expect", [
    ("a,b\n1,2\n3,4\n", "b", [2.0, 4.0]),
    ("a,b\n1.5e-05,+.5\n-2.,7E+3\n", "a", [1.5e-05, -2.0]),
    ("v\n0.1\n\n0.2\n", "v", [0.1, 0.2]),                    # blank lines are skipped
    ("# a comment\nv\n1\n# more\n2\n", "v", [1.0, 2.0]),
    ("a,b\r\n1,2\r\n", "b", [2.0]),
    ("a,b\n1,\n2,3\n", "b", [np.nan, 3.0]),                  # an empty cell is NaN (the field says)
])
def test_positional_columns(tmp_path, text, column, expect):
    file = tmp_path / "x.csv"
    file.write_text(text, encoding="utf-8", newline="")
    got = read(file, column)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    np.testing.assert_array_equal(got, np.asarray(expect))


@pytest.mark.parametrize("text, column, match", [
    ("a,b\n1,x\n", "b", r"w: column 'b' of .* is not numeric"),
    ("a,b\n1,x\n", None, r"column 'b' of .* is not numeric"),
    ("a,b\n1,2\n", "c", r"w.column: 'c' is not a column of .*; columns are \['a', 'b'\]"),
    ('a,b\n"1,2\n', "a", r"w.csv: cannot read"),
    ("time,v\nsoon,1\n", "v", r"w: the time column of .* is not readable as ISO 8601"),
    ("time,v\n2023-01-01 00:00+08:00,1\n2023-01-01 01:00,2\n", "v",
     r"the time column .* not readable"),
])
def test_errors_name_field_and_file(tmp_path, text, column, match):
    file = tmp_path / "x.csv"
    file.write_text(text)
    with pytest.raises(ScenarioError, match=match):
        read(file, column)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"w.csv: file .*nope.csv' does not exist"):
        _read_csv({"csv": "nope.csv", "column": "v"}, tmp_path, ("w",), {})


def test_time_column_with_utc_offsets(tmp_path):
    """One offset: tz-aware times; several (across DST): read as instants."""
    file = tmp_path / "x.csv"
    file.write_text("time,v\n2023-03-26 01:00+01:00,1\n2023-03-26 03:00+02:00,2\n")
    ts = read(file, "v")
    assert list(ts.values.index) == [pd.Timestamp("2023-03-26 00:00", tz="UTC"),
                                     pd.Timestamp("2023-03-26 01:00", tz="UTC")]
    file.write_text("time,v\n2023-06-01 00:00+08:00,1\n2023-06-01 01:00+08:00,2\n")
    ts = read(file, "v")
    assert str(ts.values.index.tz) == "UTC+08:00"


def test_bundled_files_read_with_pandas():
    assert len(BUNDLED) >= 5
    for file in BUNDLED:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            columns = list(pd.read_csv(file, comment="#", nrows=5).columns)
        for col in columns:
            try:
                got = read(file, col)
            except ScenarioError as exc:  # a text column, or an unreadable time column
                assert str(exc).startswith("w"), exc
                continue
            values = got.values.to_numpy() if isinstance(got, TimedSeries) else got
            assert values.dtype == np.float64 and values.ndim == 1
