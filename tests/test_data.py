"""Tests for graphtrace.data: generated data sets, the Dataset record, CSV writing and strict reading."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from graphtrace import data as data_module
from graphtrace.data import (
    DATASET_NAMES,
    TRIANGLE,
    Dataset,
    check_labels,
    make_dataset,
    read_csv,
    triangle_sides,
    write_csv,
)
from graphtrace.errors import DataError, GraphtraceError, LimitError, Location, UsageError


def _y(ds: Dataset) -> np.ndarray:
    assert ds.target is not None
    return ds.target


def _loc(err: BaseException) -> Location:
    assert isinstance(err, GraphtraceError) and err.location is not None
    return err.location


# ---------------------------------------------------------------------------------------------
# Generated data sets


@pytest.mark.parametrize("name", DATASET_NAMES)
@pytest.mark.parametrize("n", [1, 2, 7, 200])
def test_shape_and_labels(name: str, n: int) -> None:
    ds = make_dataset(name, n, seed=3)
    assert ds.columns == ("x1", "x2", "y")
    assert ds.values.shape == (n, 3)
    assert ds.values.dtype == np.float64
    assert len(ds) == n
    assert np.isfinite(ds.values).all()
    if name in ("blobs", "spiral"):  # K classes (3 by default): y is the class index
        assert set(_y(ds).tolist()) <= {0.0, 1.0, 2.0}
        return
    assert set(_y(ds).tolist()) <= {0.0, 1.0}
    assert check_labels(ds)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_deterministic_for_a_seed(name: str) -> None:
    first = write_csv(make_dataset(name, 300, seed=11, noise=0.1))
    again = write_csv(make_dataset(name, 300, seed=11, noise=0.1))
    other = write_csv(make_dataset(name, 300, seed=12, noise=0.1))
    assert first == again
    assert first != other


def test_known_bytes() -> None:
    # Pins the generator: a change here changes every saved sample file and drawing.
    text = write_csv(make_dataset("triangle", 3, seed=0))
    assert text == (
        "x1,x2,y\n"
        "0.8217701239287258,-1.3812797174167781,1\n"
        "-2.7541588563828316,-2.9008341868288254,0\n"
        "1.879621435201635,2.47653346366633,0\n"
    ), text


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_noise_moves_features_not_labels(name: str) -> None:
    clean = make_dataset(name, 500, seed=5)
    noisy = make_dataset(name, 500, seed=5, noise=0.2)
    assert np.array_equal(_y(clean), _y(noisy))
    moved = noisy.features - clean.features
    assert not np.array_equal(noisy.features, clean.features)
    # std = noise × half-width (3 for the triangle, 5 for the rest)
    expected = 0.2 * (3.0 if name == "triangle" else 5.0)
    assert abs(moved.std() - expected) < 0.1 * expected


def test_triangle_labels_agree_with_sides() -> None:
    ds = make_dataset("triangle", 2000, seed=0)
    x1, x2 = ds.column("x1"), ds.column("x2")
    inside = np.ones(len(ds), dtype=bool)
    for w0, w1, w2 in triangle_sides():
        inside &= w0 + w1 * x1 + w2 * x2 > 0
    assert np.array_equal(inside, _y(ds) == 1.0)
    assert 0.30 <= _y(ds).mean() <= 0.40
    assert np.abs(ds.features).max() <= 3.0


def test_triangle_sides_geometry() -> None:
    sides = triangle_sides()
    assert len(sides) == 3
    centroid = np.mean(TRIANGLE, axis=0)
    for i, (w0, w1, w2) in enumerate(sides):
        assert math.isclose(math.hypot(w1, w2), 1.0, rel_tol=1e-15)
        for vx, vy in (TRIANGLE[i], TRIANGLE[(i + 1) % 3]):  # side i joins vertices i and i+1
            assert abs(w0 + w1 * vx + w2 * vy) < 1e-12
        vx, vy = TRIANGLE[(i + 2) % 3]
        assert w0 + w1 * vx + w2 * vy > 0  # the normal points inward
        assert w0 + w1 * centroid[0] + w2 * centroid[1] > 0
    area = 0.5 * abs(
        (TRIANGLE[1][0] - TRIANGLE[0][0]) * (TRIANGLE[2][1] - TRIANGLE[0][1])
        - (TRIANGLE[2][0] - TRIANGLE[0][0]) * (TRIANGLE[1][1] - TRIANGLE[0][1])
    )
    assert 0.30 <= area / 36.0 <= 0.40


def test_circle_classes_are_radially_separated() -> None:
    ds = make_dataset("circle", 2001, seed=2)
    r = np.sqrt(ds.column("x1") ** 2 + ds.column("x2") ** 2)
    y = _y(ds)
    assert (y == 1).sum() == 1001 and (y == 0).sum() == 1000
    assert r[y == 1].max() < 2.5 + 1e-12
    assert r[y == 0].min() > 3.5 - 1e-12
    assert r[y == 0].max() <= 5.0 + 1e-12
    # shuffled: both classes appear early on
    assert set(y[:20].tolist()) == {0.0, 1.0}


def test_xor_margin_and_labels() -> None:
    ds = make_dataset("xor", 2000, seed=4)
    X = ds.features
    assert np.abs(X).min() >= 0.3
    assert np.abs(X).max() <= 5.0
    assert np.array_equal(_y(ds) == 1.0, X[:, 0] * X[:, 1] > 0)
    assert 0.4 < _y(ds).mean() < 0.6


def test_gauss_blobs() -> None:
    ds = make_dataset("gauss", 4000, seed=1)
    y = _y(ds)
    assert (y == 1).sum() == (y == 0).sum() == 2000
    assert np.allclose(ds.features[y == 1].mean(axis=0), [2, 2], atol=0.1)
    assert np.allclose(ds.features[y == 0].mean(axis=0), [-2, -2], atol=0.1)
    assert np.allclose(ds.features[y == 1].std(axis=0), [1, 1], atol=0.1)


def test_unknown_name_suggests() -> None:
    with pytest.raises(DataError) as info:
        make_dataset("cirle")
    text = str(info.value)
    assert "triangle, circle, xor, gauss" in text
    assert "did you mean 'circle'?" in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 0},
        {"n": -5},
        {"n": 2.5},
        {"n": True},
        {"seed": -1},
        {"seed": None},
        {"noise": -0.1},
        {"noise": 1.5},
        {"noise": float("nan")},
        {"noise": "lots"},
    ],
)
def test_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(DataError):
        make_dataset("xor", **kwargs)


def test_n_is_bounded_by_what_read_csv_reads_back(monkeypatch) -> None:
    from graphtrace.errors import LimitError

    with pytest.raises(LimitError, match="GRAPHTRACE_MAX_CSV_ROWS"):
        make_dataset("xor", 1_000_001)
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_ROWS", "10")
    with pytest.raises(LimitError):
        make_dataset("xor", 11)
    assert len(make_dataset("xor", 10)) == 10


# ---------------------------------------------------------------------------------------------
# Dataset


def test_dataset_accessors() -> None:
    ds = Dataset(("a", "y", "b"), np.array([[1, 0, 2], [3, 1, 4]]), name="t")
    assert ds.feature_names == ("a", "b")
    assert ds.features.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert _y(ds).tolist() == [0.0, 1.0]
    assert list(ds.as_dict()) == ["a", "y", "b"]
    assert ds.as_dict()["b"].tolist() == [2.0, 4.0]
    assert repr(ds) == "Dataset(name='t', columns=(a, y, b), n=2)"
    with pytest.raises(ValueError):
        ds.values[0, 0] = 9.0  # read-only
    col = ds.column("a")
    col[0] = 9.0  # a fresh copy: the data set is unchanged
    assert ds.values[0, 0] == 1.0


def test_dataset_without_target() -> None:
    ds = Dataset(("x1", "x2"), np.zeros((3, 2)))
    assert ds.target is None
    assert not check_labels(ds)
    assert ds.features.shape == (3, 2)


def test_dataset_unknown_column() -> None:
    ds = make_dataset("xor", 3)
    with pytest.raises(DataError) as info:
        ds.column("x22")
    assert "did you mean" in str(info.value)


@pytest.mark.parametrize(
    "columns, values",
    [
        (("a", "b"), np.zeros((2, 3))),
        (("a", "a"), np.zeros((2, 2))),
        (("a",), np.zeros(3)),
        (("a",), [["x"]]),
    ],
)
def test_dataset_rejects_bad_shapes(columns: tuple, values: object) -> None:
    with pytest.raises(DataError):
        Dataset(columns, values)  # type: ignore[arg-type]


def test_check_labels() -> None:
    assert check_labels(Dataset(("y",), np.array([[0.0], [1.0], [1.0]])))
    assert not check_labels(Dataset(("y",), np.array([[0.0], [2.0]])))
    assert not check_labels(Dataset(("y",), np.array([[0.0], [-1.0]])))


# ---------------------------------------------------------------------------------------------
# CSV writing and round trips


def test_write_csv_format() -> None:
    ds = Dataset(("x1", "x2", "y"), np.array([[0.1, -2.0, 1.0], [1e-7, 3.0, 0.0]]))
    assert write_csv(ds) == "x1,x2,y\n0.1,-2.0,1\n1e-07,3.0,0\n"


def test_write_csv_rejects_non_finite() -> None:
    with pytest.raises(DataError, match="row 2, column b"):
        write_csv(Dataset(("a", "b"), np.array([[1.0, 2.0], [3.0, math.inf]])))


@pytest.mark.parametrize("name", DATASET_NAMES)
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_round_trip_generated(name: str, noise: float) -> None:
    ds = make_dataset(name, 500, seed=9, noise=noise)
    back = read_csv(text=write_csv(ds))
    assert back.columns == ds.columns
    assert np.array_equal(back.values, ds.values)
    assert write_csv(back) == write_csv(ds)


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    ds = make_dataset("circle", 50, seed=1)
    path = tmp_path / "circle.csv"
    path.write_text(write_csv(ds), encoding="utf-8")
    for source in (path, str(path)):
        back = read_csv(source)
        assert np.array_equal(back.values, ds.values)
        assert back.name == str(path)
    assert read_csv(path, name="c.csv").name == "c.csv"


_finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 20), st.integers(1, 4)),
        elements=_finite,
    )
)
def test_round_trip_any_finite_floats(values: np.ndarray) -> None:
    columns = tuple(["y", "a", "b", "c"][: values.shape[1]])
    ds = Dataset(columns, values)
    back = read_csv(text=write_csv(ds))
    assert np.array_equal(back.values, ds.values)
    # bit-exact except that an integral -0.0 label is written "0"
    feats = [j for j, c in enumerate(columns) if c != "y"]
    assert back.values[:, feats].tobytes() == ds.values[:, feats].tobytes()


def test_fast_path_reads_written_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    # write_csv output must never need the slow row-by-row parser.
    def no_slow_path(*args: object) -> None:
        raise AssertionError("slow path used")

    monkeypatch.setattr(data_module, "_parse_rows", no_slow_path)
    ds = make_dataset("gauss", 1000, seed=2, noise=0.5)
    assert np.array_equal(read_csv(text=write_csv(ds)).values, ds.values)


# ---------------------------------------------------------------------------------------------
# CSV reading: accepted forms


def test_read_tolerant_forms() -> None:
    text = (
        "\ufeff# made by hand\r\n"
        "\r\n"
        ' x1 , "x2" ,y \r\n'
        "1, 2 ,0\r\n"
        "   # indented comment\r\n"
        '"3.5","-4e-1", 1\r\n'
        "\r\n"
        "+.5,6.,1"
    )
    ds = read_csv(text=text)
    assert ds.columns == ("x1", "x2", "y")
    assert ds.values.tolist() == [[1.0, 2.0, 0.0], [3.5, -0.4, 1.0], [0.5, 6.0, 1.0]]


def test_read_single_row_and_column() -> None:
    ds = read_csv(text="y\n1\n")
    assert ds.values.shape == (1, 1)
    ds = read_csv(text="a,b\n1,2")
    assert ds.values.shape == (1, 2)


# ---------------------------------------------------------------------------------------------
# CSV reading: every rejection names the line (and the column where there is one)

BAD_CSV = [
    # (text, error class, line, words the message must contain)
    ("", DataError, None, ["no header"]),
    ("\n# only a comment\n\n", DataError, None, ["no header"]),
    ("x1,x2,y\n", DataError, 1, ["no data rows"]),
    ("x1,x2,y\n# nothing\n\n", DataError, 1, ["no data rows"]),
    ("x1,,y\n1,2,3\n", DataError, 1, ["column 2", "empty name"]),
    ("x1,x2,x1\n1,2,3\n", DataError, 1, ["duplicate", "'x1'", "columns 1 and 3"]),
    ("x 1,y\n1,2\n", DataError, 1, ["'x 1'", "not a valid column name"]),
    ("1x,y\n1,2\n", DataError, 1, ["'1x'", "not a valid column name"]),
    ("x-1,y\n1,2\n", DataError, 1, ["'x-1'", "not a valid column name"]),
    ("lambda,y\n1,2\n", DataError, 1, ["'lambda'", "keyword"]),
    ("\n\n1.0,2.0,1\n3,4,0\n", DataError, 3, ["'1.0'", "must name the columns"]),
    ("x1,x2,y\n1,2,3\n\n# c\n\n\n1,2\n", DataError, 7, ["expected 3 cells (x1,x2,y), found 2"]),
    ("x1,x2,y\n1,2,3,4\n", DataError, 2, ["expected 3 cells", "found 4"]),
    ("x1,x2,y\n1,2,3,\n", DataError, 2, ["found 4"]),
    (
        "x1,x2,y\n1,2,3\n0,0,0\n1,1,1\n1,abc,0\n",
        DataError,
        5,
        ["column x2", "'abc' is not a number"],
    ),
    ("x1,x2,y\n1,2,\n", DataError, 2, ["column y", "empty cell"]),
    (
        "x1,x2,y\n1,2,3\n4,5,6\n7,8,9\n1,2,nan\n",
        DataError,
        5,
        ["column y", "non-finite value 'nan'"],
    ),
    ("x1,x2,y\n1,-inf,0\n", DataError, 2, ["column x2", "non-finite value '-inf'"]),
    ("x1,x2,y\n1,Infinity,0\n", DataError, 2, ["column x2", "non-finite"]),
    ("x1,x2,y\n1e400,1,0\n", DataError, 2, ["column x1", "non-finite value '1e400'"]),
    ("x1,x2,y\n1_000,1,0\n", DataError, 2, ["column x1", "'1_000' is not a number"]),
    ("x1,x2,y\n\u0661,1,0\n", DataError, 2, ["column x1", "is not a number"]),
    ("x1,x2,y\n1,2,0x1\n", DataError, 2, ["column y", "'0x1'"]),
    ("x1,x2,y\n1,2,1 2\n", DataError, 2, ["column y", "'1 2'"]),
    ("x1,x2,y\n1,2,--1\n", DataError, 2, ["column y", "'--1'"]),
    ("x1,x2,y\n1,2;3\n", DataError, 2, ["expected 3 cells", "found 2"]),
    ("x1,x2,y\r\n1,2,3\r\n4,5,x\r\n", DataError, 3, ["column y", "'x'"]),
    ("\ufeffx1,y\n1,2\n3,oops\n", DataError, 3, ["column y", "'oops'"]),
    ("x1,y\n1,2\n\x00\n", DataError, 3, ["NUL"]),
]


@pytest.mark.parametrize("text, cls, line, words", BAD_CSV)
def test_bad_csv(text: str, cls: type, line: int | None, words: list[str]) -> None:
    with pytest.raises(cls) as info:
        read_csv(text=text, name="bad.csv")
    message = str(info.value)
    location = _loc(info.value)
    assert location.file == "bad.csv", message
    assert location.line == line, message
    if line is not None:
        assert message.startswith(f"bad.csv:{line}: "), message
    for word in words:
        assert word in message, message


def test_bad_csv_error_shows_the_line() -> None:
    with pytest.raises(DataError) as info:
        read_csv(text="x1,x2,y\n1,2,3\n  1, abc ,0  \r\n", name="d.csv")
    assert str(info.value).splitlines()[:2] == [
        "d.csv:3: column x2: 'abc' is not a number",
        "      1, abc ,0  ",
    ]


def test_first_bad_row_is_reported_in_a_big_file() -> None:
    text = write_csv(make_dataset("xor", 20000, seed=1))
    lines = text.split("\n")
    lines[12345] = lines[12345].replace(",", ",zz", 1)
    lines[15000] = "1,2"
    with pytest.raises(DataError) as info:
        read_csv(text="\n".join(lines))
    assert _loc(info.value).line == 12346
    assert "column x2" in str(info.value)


def test_chunks_mix_fast_and_slow_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_module, "_CHUNK_ROWS", 3)
    ds = make_dataset("circle", 20, seed=1)
    lines = write_csv(ds).split("\n")
    lines[5] = '"' + lines[5].replace(",", '","') + '"'  # valid, but only the row parser reads it
    lines.insert(12, "# a comment in the middle")
    assert np.array_equal(read_csv(text="\n".join(lines)).values, ds.values)
    lines[17] = lines[17] + ",0"
    with pytest.raises(DataError) as info:
        read_csv(text="\n".join(lines))
    assert _loc(info.value).line == 18


def test_row_limit() -> None:
    text = "a,y\n# c\n1,0\n\n2,1\n3,1\n4,1\n"
    assert len(read_csv(text=text, max_rows=4)) == 4
    with pytest.raises(LimitError) as info:
        read_csv(text=text, max_rows=2)
    assert _loc(info.value).line == 6  # the third data row
    assert "GRAPHTRACE_MAX_CSV_ROWS" in str(info.value)


def test_column_limit() -> None:
    with pytest.raises(LimitError) as info:
        read_csv(text="# c\na,b,c\n1,2,3\n", max_cols=2)
    assert _loc(info.value).line == 2
    assert "GRAPHTRACE_MAX_CSV_COLS" in str(info.value)
    assert read_csv(text="a,b,c\n1,2,3\n", max_cols=3).columns == ("a", "b", "c")


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a,b,y\n1,2,0\n3,4,1\n"
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_ROWS", "1")
    with pytest.raises(LimitError, match="GRAPHTRACE_MAX_CSV_ROWS"):
        read_csv(text=text)
    assert len(read_csv(text=text, max_rows=2)) == 2  # an explicit limit wins
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_ROWS", "1e6")
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_COLS", "2")
    with pytest.raises(LimitError, match="GRAPHTRACE_MAX_CSV_COLS"):
        read_csv(text=text)
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_COLS", "many")
    with pytest.raises(UsageError, match="GRAPHTRACE_MAX_CSV_COLS"):
        read_csv(text=text)


def test_byte_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,0\n", encoding="utf-8")  # 8 bytes
    assert len(read_csv(path, max_bytes=8)) == 1
    with pytest.raises(LimitError) as info:
        read_csv(path, max_bytes=7)
    assert "GRAPHTRACE_MAX_CSV_BYTES" in str(info.value)
    assert str(path) in str(info.value)
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_BYTES", "5")
    with pytest.raises(LimitError):
        read_csv(path)
    with pytest.raises(LimitError):
        read_csv(text="a,y\n1,0\n")


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True])
def test_bad_limit_arguments(bad: object) -> None:
    with pytest.raises(UsageError):
        read_csv(text="a\n1\n", max_rows=bad)  # type: ignore[arg-type]


def test_path_or_text_not_both() -> None:
    with pytest.raises(UsageError):
        read_csv()
    with pytest.raises(UsageError):
        read_csv("x.csv", text="a\n1\n")


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"x1,y\n1,0\n# caf\xe9\n2,1\n")
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert _loc(info.value).line == 3
    assert "UTF-8" in str(info.value)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"x1,y\n1,0\n2\x00\x01,1\n")
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert _loc(info.value).line == 3
    assert "NUL" in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="cannot read"):
        read_csv(tmp_path)


# ---------------------------------------------------------------------------------------------
# Fuzzing: anything in, a Dataset or a GraphtraceError out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text_never_crashes(text: str) -> None:
    try:
        ds = read_csv(text=text)
    except GraphtraceError:
        return
    assert isinstance(ds, Dataset)
    assert np.isfinite(ds.values).all()


_csvish = st.text(alphabet='0123456789eE+-., \t\n\r#"xy_a', max_size=120)
_cell = st.sampled_from(
    ["1", "-2.5", ".5", "5.", "1e3", "1E-2", "+3", " 4 ", "\t7", "0009", '"2"']
    + ["e", "1e", "--1", "", ".", "1.2.3", "+", "1e+400", "nan", "1_0"]
)
_rows = st.lists(st.lists(_cell, min_size=1, max_size=4).map(",".join), max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        _csvish,
        _csvish.map(lambda body: "x1,x2,y\n" + body),
        _rows.map(lambda rows: "a,b,y\n" + "\n".join(rows)),
    )
)
def test_fast_path_agrees_with_row_parser(text: str) -> None:
    """Whatever the fast path accepts, the row parser accepts with the same numbers."""

    def outcome(fast: bool, chunk: int) -> object:
        original = data_module._parse_fast, data_module._CHUNK_ROWS
        try:
            if not fast:
                data_module._parse_fast = lambda data, ncols: None
            data_module._CHUNK_ROWS = chunk
            ds = read_csv(text=text)
            return ("ok", ds.columns, ds.values.tobytes())
        except GraphtraceError as err:
            return ("error", type(err), str(err))
        finally:
            data_module._parse_fast, data_module._CHUNK_ROWS = original

    slow = outcome(False, 65_536)
    assert outcome(True, 65_536) == slow
    assert outcome(True, 2) == slow  # chunks mixing fast and slow parsing
