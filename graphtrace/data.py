"""Data: the training stage's input, seeded toy data sets and strict CSV reading and writing.

A :class:`Dataset` is named columns over one ``(n, k)`` float64 array; the column called ``y`` is the
target and every other column is a feature. Column names are Python identifiers so that they can
match a script's input names. Generated data is a pure function of ``(name, n, seed, noise)``, and
:func:`write_csv` is byte-deterministic, so ``make_dataset`` → ``write_csv`` gives the same file on
every run. :func:`read_csv` accepts exactly what :func:`write_csv` writes and a little more (spaces,
CRLF, a BOM, ``#`` comments, quoted cells), rejects everything else with the file and line at fault,
and gives the same numbers, bit for bit, that ``float()`` gives for each cell.
"""

from __future__ import annotations

__all__ = [
    "DATASET_NAMES",
    "TRIANGLE",
    "TARGET",
    "MAX_SAMPLES",
    "DEFAULT_MAX_CSV_ROWS",
    "DEFAULT_MAX_CSV_COLS",
    "DEFAULT_MAX_CSV_BYTES",
    "DEFAULT_MAX_CSV_CELLS",
    "max_rows_limit",
    "Dataset",
    "make_dataset",
    "MULTICLASS",
    "triangle_sides",
    "write_csv",
    "read_csv",
    "check_labels",
]

import io
import keyword
import math
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np

from .errors import DataError, LimitError, Location, UsageError, env_limit
from .i18n import N_, _
from .text import did_you_mean

DATASET_NAMES: tuple[str, ...] = ("triangle", "circle", "xor", "gauss", "blobs", "spiral")
"""The names :func:`make_dataset` knows, in the order help texts list them."""

MULTICLASS: tuple[str, ...] = ("blobs", "spiral")
"""The data sets with any number of classes (``classes=K``, labels 0 to K − 1; 3 by default)."""
MAX_CLASSES = 10

TRIANGLE: tuple[tuple[float, float], ...] = ((0.0, 2.5), (-2.5, -2.5), (2.5, -2.5))
"""The course's triangle (§3): area 12.5 of the 36 of the square [-3, 3]², so ≈ 34.7 % positives.

A smaller triangle such as (0, 2), (-2, -1.5), (2, -1.5) covers only 7/36 ≈ 19 %: a network that
always answers "outside" would already be 81 % right, which hides whether it learnt anything.
"""


"""Largest ``n`` :func:`make_dataset` accepts (10 million rows × 3 columns is 240 MB of float64)."""

DEFAULT_MAX_CSV_ROWS = 1_000_000
DEFAULT_MAX_CSV_COLS = 1_000
DEFAULT_MAX_CSV_BYTES = 200_000_000
DEFAULT_MAX_CSV_CELLS = 20_000_000
"""Most numbers a data set may hold (160 MB as float64): rows × columns, checked as rows arrive."""

MAX_SAMPLES = DEFAULT_MAX_CSV_ROWS
"""The most samples :func:`make_dataset` draws by default: as many rows as a CSV may have, so that
every data set graphtrace writes can be read back by ``train`` (``GRAPHTRACE_MAX_CSV_ROWS`` moves
both)."""
_ENV_ROWS = "GRAPHTRACE_MAX_CSV_ROWS"
_ENV_COLS = "GRAPHTRACE_MAX_CSV_COLS"
_ENV_BYTES = "GRAPHTRACE_MAX_CSV_BYTES"
_ENV_CELLS = "GRAPHTRACE_MAX_CSV_CELLS"

TARGET = "y"
"""The column that holds the labels; every other column is a feature."""

# Half the width of each data set's square: noise is measured in these units, so noise=0.1 moves a
# point by about a tenth of the plot's half-width whatever the data set.
_HALF_WIDTH = {"triangle": 3.0, "circle": 5.0, "xor": 5.0, "gauss": 5.0, "blobs": 5.0, "spiral": 5.0}

# The CSV number grammar: plain ASCII decimals. float() also takes "1_000", "nan", "inf" and
# non-ASCII digits, none of which a spreadsheet or numpy would read back the same way.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Any character outside this set sends the whole file to the row-by-row parser.
_NOT_FAST = re.compile(r"[^0-9eE+\-.,\t \n]")
_SHOWN_CELL = 40  # longest cell quoted verbatim in a message


@dataclass(frozen=True, eq=False)
class Dataset:
    """Named columns of float64 numbers: ``values[:, j]`` is column ``columns[j]``.

    The column ``y``, when present, is the target; the other columns are the features. ``values``
    is a read-only copy, so a data set can be shared between runs without being changed by one.

    Example:
        >>> ds = Dataset(("x1", "x2", "y"), np.array([[0.5, 1.0, 1.0], [2.0, -1.0, 0.0]]))
        >>> len(ds), ds.feature_names, ds.target.tolist()
        (2, ('x1', 'x2'), [1.0, 0.0])
        >>> ds.as_dict()["x2"].tolist()
        [1.0, -1.0]
    """

    columns: tuple[str, ...]
    values: np.ndarray
    name: str = "<data>"

    def __post_init__(self) -> None:
        columns = tuple(self.columns)
        if not all(isinstance(c, str) for c in columns):
            raise DataError(_("{name}: column names must be strings, got {columns}").format(
                name=self.name, columns=repr(columns)))
        seen: set[str] = set()
        for c in columns:
            if c in seen:
                raise DataError(_("{name}: duplicate column name '{column}'").format(name=self.name, column=c))
            seen.add(c)
        try:
            values = np.array(self.values, dtype=np.float64, order="C")  # always a private copy
        except (TypeError, ValueError) as exc:
            raise DataError(_("{name}: values are not numbers: {reason}").format(name=self.name, reason=exc)) from None
        if values.ndim != 2 or values.shape[1] != len(columns):
            raise DataError(
                _("{name}: values must have shape (n, {k}) for columns {columns}, got {shape}").format(
                    name=self.name, k=len(columns), columns=",".join(columns), shape=values.shape)
            )
        values.setflags(write=False)
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "values", values)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __repr__(self) -> str:
        shown = ", ".join(self.columns[:8]) + (f", … ({len(self.columns)} columns)" if len(self.columns) > 8 else "")
        return f"Dataset(name={self.name!r}, columns=({shown}), n={len(self)})"

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Every column except ``y``, in file order."""
        return tuple(c for c in self.columns if c != TARGET)

    @property
    def features(self) -> np.ndarray:
        """The feature columns as a fresh ``(n, d)`` array (``d`` may be 0)."""
        idx = [j for j, c in enumerate(self.columns) if c != TARGET]
        return self.values[:, idx]

    @property
    def target(self) -> np.ndarray | None:
        """The ``y`` column as a fresh 1-D array, or None when there is no ``y``."""
        return self.column(TARGET) if TARGET in self.columns else None

    def column(self, name: str) -> np.ndarray:
        """One column as a fresh 1-D array.

        Raises:
            DataError: no column has that name (the message suggests the closest one).

        Example:
            >>> Dataset(("a", "b"), np.array([[1.0, 2.0]])).column("b").tolist()
            [2.0]
        """
        try:
            j = self.columns.index(name)
        except ValueError:
            raise DataError(
                _("{data}: no column '{name}'; columns are {columns}").format(
                    data=self.name, name=name, columns=", ".join(self.columns) or _("(none)")),
                hint=did_you_mean(name, self.columns),
            ) from None
        return self.values[:, j].copy()

    def as_dict(self) -> dict[str, np.ndarray]:
        """Map each column name, in order, to a fresh 1-D array: the batched inputs of a graph.

        Example:
            >>> sorted(make_dataset("xor", 4).as_dict())
            ['x1', 'x2', 'y']
        """
        return {c: self.values[:, j].copy() for j, c in enumerate(self.columns)}


# ---------------------------------------------------------------------------------------------
# Generated data sets


def triangle_sides() -> list[tuple[float, float, float]]:
    """The three sides of :data:`TRIANGLE` as lines ``w0 + w1*x1 + w2*x2 = 0``, normals inward.

    Side ``i`` joins vertex ``i`` and vertex ``i+1``. Each ``(w1, w2)`` has unit length and points
    into the triangle, so ``w0 + w1*x1 + w2*x2`` is the signed distance to that side, and a point is
    inside exactly when all three are > 0. These are the hidden neurons of the course's 2-3-1
    network (§3), before they are scaled up to make the sigmoids sharp.

    Example:
        >>> [tuple(round(w, 4) for w in side) for side in triangle_sides()]
        [(1.118, 0.8944, -0.4472), (2.5, 0.0, 1.0), (1.118, -0.8944, -0.4472)]
    """
    sides = []
    for i in range(3):
        (px, py), (qx, qy), (rx, ry) = (TRIANGLE[(i + k) % 3] for k in range(3))
        nx, ny = -(qy - py), qx - px  # the side's direction turned by 90°
        length = math.sqrt(nx * nx + ny * ny)  # sqrt, unlike hypot, is correctly rounded everywhere
        nx, ny = nx / length, ny / length
        w0 = -(nx * px + ny * py)
        if w0 + nx * rx + ny * ry < 0:  # the opposite vertex must be on the positive side
            w0, nx, ny = -w0, -nx, -ny
        sides.append((w0 + 0.0, nx + 0.0, ny + 0.0))  # + 0.0 turns -0.0 into 0.0
    return sides


def make_dataset(name: str, n: int = 200, *, seed: int = 0, noise: float = 0.0,
                 classes: int | None = None) -> Dataset:
    """Generate a two-feature toy data set with columns ``x1, x2, y`` and labels in {0, 1}
    (``blobs`` and ``spiral``: the class index, 0 to ``classes`` − 1).

    Data sets (the last three as in TensorFlow Playground):

    - ``triangle``: uniform in [-3, 3]²; y = 1 inside :data:`TRIANGLE` (≈ 34.7 % of points).
    - ``circle``: ⌈n/2⌉ points with y = 1 at radius in [0, 2.5), ⌊n/2⌋ with y = 0 at radius in
      [3.5, 5]; radius and angle uniform, so the inner disc is densest at its centre.
    - ``xor``: each coordinate uniform in [-5, -0.3] ∪ [0.3, 5] (a 0.3 margin around the axes);
      y = 1 when x1·x2 > 0.
    - ``gauss``: ⌈n/2⌉ points with y = 1 from N((2, 2), I), ⌊n/2⌋ with y = 0 from N((-2, -2), I).
    - ``blobs``: K classes (``classes``, default 3), point i of class i mod K, from N(c_k, 0.8²·I)
      with the centres c_k on a circle of radius 3 (c_0 straight up, then counter-clockwise).
    - ``spiral``: K arms (CS231n's spiral): class k at radius r = 4.5·t and angle
      2πk/K + 4t + N(0, 0.2²), t uniform in [0.04, 1).

    Circle and gauss are shuffled, so any prefix holds both classes. Labels are always computed
    on the clean points. Then, when ``noise > 0``, every feature gets independent gaussian noise
    with standard deviation ``noise × h``, where h is the data set's half-width (3 for triangle,
    5 for the others): noise=0.1 on circle moves points by about 0.5. Labels are not changed, so
    noise makes the classes overlap. The noise is drawn last, so the same seed gives the same clean
    points at every noise level.

    All randomness comes from ``numpy.random.default_rng(seed)``, so a seed gives the same data
    on every run. Triangle, circle and xor use only +, ×, ÷ and sqrt, which IEEE 754 rounds the
    same everywhere (circle's directions come from rejection sampling, not sin/cos), so their
    bytes are the same on every platform with the same numpy. Gaussian draws (gauss, noise) use
    numpy's ziggurat, whose rare tail step calls the C library's log1p.

    Args:
        name: one of :data:`DATASET_NAMES`.
        n: number of samples, 1 to :func:`max_rows_limit` (1,000,000 by default).
        seed: a non-negative integer seed.
        noise: 0 to 1; see above.

    Raises:
        DataError: unknown name (with a suggestion), n, seed or noise out of range.

    Example:
        >>> ds = make_dataset("circle", 6, seed=1)
        >>> ds.columns, ds.values.shape, sorted(ds.target.tolist())
        (('x1', 'x2', 'y'), (6, 3), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    """
    if name not in DATASET_NAMES:
        raise DataError(
            _("unknown data set '{name}'; choose one of {names}").format(name=name, names=", ".join(DATASET_NAMES)),
            hint=did_you_mean(str(name), DATASET_NAMES),
        )
    most = max_rows_limit()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(_("n must be an integer from 1 to {most}, got {n}").format(most=f"{most:,}", n=repr(n)))
    if n > most:
        raise LimitError(_("n must be an integer from 1 to {most} (the most rows a data file may have), "
                           "got {n}").format(most=f"{most:,}", n=repr(n)),
                         hint=_("set {variable} to raise the limit for writing and reading").format(variable=_ENV_ROWS))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(_("seed must be a non-negative integer, got {seed}").format(seed=repr(seed)))
    try:
        noise = float(noise)
    except (TypeError, ValueError):
        raise DataError(_("noise must be a number from 0 to 1, got {noise}").format(noise=repr(noise))) from None
    if not 0.0 <= noise <= 1.0:  # also rejects nan
        raise DataError(_("noise must be a number from 0 to 1, got {noise}").format(noise=repr(noise)))
    if name in MULTICLASS:
        k = 3 if classes is None else classes
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= MAX_CLASSES:
            raise DataError(_("classes must be an integer from 2 to {most}, got {classes}").format(
                most=MAX_CLASSES, classes=repr(classes)))
    elif classes not in (None, 2):
        raise DataError(_("'{name}' has two classes; --classes works with {first} and {second}").format(
            name=name, first=MULTICLASS[0], second=MULTICLASS[1]))

    n = int(n)
    rng = np.random.default_rng(int(seed))
    if name in MULTICLASS:
        X, y = _MULTI[name](rng, n, int(k))
    else:
        X, y = _GENERATORS[name](rng, n)
    if noise > 0.0:
        X = X + rng.normal(0.0, noise * _HALF_WIDTH[name], size=X.shape)
    values = np.column_stack([X, y.astype(np.float64)])
    return Dataset(("x1", "x2", TARGET), values, name=name)


def _triangle(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-3.0, 3.0, size=(n, 2))
    inside = np.ones(n, dtype=bool)
    for w0, w1, w2 in triangle_sides():
        # The same expression, in the same order, as a reader checking with triangle_sides().
        inside &= w0 + w1 * X[:, 0] + w2 * X[:, 1] > 0
    return X, inside


def _circle(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    n_pos = (n + 1) // 2
    u = rng.random(n)
    # Radius uniform on [0, 2.5) for y = 1 and on [3.5, 5] for y = 0, like TF Playground.
    r = np.where(np.arange(n) < n_pos, 2.5 * u, 5.0 - 1.5 * u)
    X = r[:, None] * _unit_directions(rng, n)
    y = np.arange(n) < n_pos
    order = rng.permutation(n)
    return X[order], y[order]


def _xor(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    magnitude = 0.3 + 4.7 * rng.random((n, 2))
    sign = np.where(rng.random((n, 2)) < 0.5, -1.0, 1.0)
    X = magnitude * sign
    return X, X[:, 0] * X[:, 1] > 0


def _gauss(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    n_pos = (n + 1) // 2
    y = np.arange(n) < n_pos
    centre = np.where(y, 2.0, -2.0)[:, None]
    X = centre + rng.standard_normal((n, 2))
    order = rng.permutation(n)
    return X[order], y[order]


_GENERATORS = {"triangle": _triangle, "circle": _circle, "xor": _xor, "gauss": _gauss}


def _blobs(rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % k
    angle = np.pi / 2 + 2 * np.pi * np.arange(k) / k
    centres = 3.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    X = centres[y] + 0.8 * rng.standard_normal((n, 2))
    order = rng.permutation(n)
    return X[order], y[order]


def _spiral(rng: np.random.Generator, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % k
    t = rng.uniform(0.04, 1.0, size=n)
    angle = 2 * np.pi * y / k + 4.0 * t + 0.2 * rng.standard_normal(n)
    X = 4.5 * t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    order = rng.permutation(n)
    return X[order], y[order]


_MULTI = {"blobs": _blobs, "spiral": _spiral}


def _unit_directions(rng: np.random.Generator, m: int) -> np.ndarray:
    """``m`` uniformly random unit vectors, by rejection from the unit disc (no sin/cos)."""
    chunks: list[np.ndarray] = []
    have = 0
    while have < m:
        # The disc keeps π/4 of the square; 1.3× plus a little usually finishes in one round.
        ab = rng.uniform(-1.0, 1.0, size=(int((m - have) * 1.3) + 16, 2))
        s = ab[:, 0] * ab[:, 0] + ab[:, 1] * ab[:, 1]
        keep = (s > 0.0) & (s <= 1.0)
        chunks.append(ab[keep] / np.sqrt(s[keep])[:, None])
        have += int(keep.sum())
    return np.concatenate(chunks)[:m]


def check_labels(dataset: Dataset) -> bool:
    """Whether the data set has a target whose every value is 0 or 1 (so accuracy makes sense).

    Example:
        >>> check_labels(make_dataset("gauss", 10))
        True
        >>> check_labels(Dataset(("x", "y"), np.array([[1.0, 0.5]])))
        False
    """
    y = dataset.target
    return y is not None and bool(np.all((y == 0.0) | (y == 1.0)))


# ---------------------------------------------------------------------------------------------
# CSV


def write_csv(dataset: Dataset) -> str:
    """The data set as CSV text: a header line, then one line per row, each ending in ``\\n``.

    Numbers are written as Python's shortest round-trip ``repr``, so :func:`read_csv` gives back
    the very same float64 values; integral targets are written ``0``/``1`` rather than ``0.0``.
    The text depends only on the values, never on the platform.

    Raises:
        DataError: a value is NaN or infinite (CSV readers, this one included, reject them).

    Example:
        >>> print(write_csv(Dataset(("x1", "y"), np.array([[0.1, 1.0], [-2.0, 0.0]]))), end="")
        x1,y
        0.1,1
        -2.0,0
    """
    values = dataset.values
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise DataError(
            _("{name}: row {row}, column {column}: cannot write non-finite value {value} to CSV").format(
                name=dataset.name, row=i + 1, column=dataset.columns[j], value=repr(values[i, j]))
        )
    cells: list[list[str]] = []
    for j, col in enumerate(dataset.columns):
        floats = values[:, j].tolist()
        if col == TARGET:
            common = {0.0: "0", 1.0: "1"}  # a dict hit is 4x faster than formatting each label
            cells.append([common.get(v) or _label_text(v) for v in floats])
        else:
            cells.append(list(map(float.__repr__, floats)))
    lines = [",".join(dataset.columns), *map(",".join, zip(*cells, strict=True))]
    return "\n".join(lines) + "\n"


def _label_text(v: float) -> str:
    # Integers below 2**53 are exact in float64, so "1" reads back as the same value.
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


def read_csv(
    path: str | os.PathLike[str] | None = None,
    *,
    text: str | None = None,
    name: str | None = None,
    max_rows: int | None = None,
    max_cols: int | None = None,
    max_bytes: int | None = None,
) -> Dataset:
    """Read a CSV file (or ``text=``) with a header of column names and rows of numbers.

    Accepted: a UTF-8 BOM, CRLF line ends, blank lines, lines whose first non-space character is
    ``#``, spaces around cells, cells in double quotes. Header names must be Python identifiers
    (they are matched against script input names). Every cell must be a plain finite decimal
    number such as ``-1.5e3``: no ``nan``/``inf``, no ``1_000``, no empty cells.

    Limits default to the environment variables ``GRAPHTRACE_MAX_CSV_ROWS`` (data rows, default
    1,000,000), ``GRAPHTRACE_MAX_CSV_COLS`` (default 1,000) and ``GRAPHTRACE_MAX_CSV_BYTES``
    (default 200,000,000), or to the built-in defaults when those are unset.

    Args:
        path: the file to read; give either this or ``text``.
        text: CSV text to read instead of a file.
        name: the file name shown in messages (default: the path, or ``<data>`` for text).
        max_rows: most data rows allowed; None means environment variable or default.
        max_cols: most columns allowed; None likewise.
        max_bytes: largest file allowed, checked before reading; None likewise.

    Raises:
        DataError: unreadable file, invalid UTF-8, a NUL byte, no header, a bad column name, a row
            with the wrong number of cells, a cell that is not a finite number, no data rows.
            The location names the file and 1-based line; messages name the column and cell.
        LimitError: more rows, columns or bytes than allowed (the hint says how to raise it).
        UsageError: both or neither of ``path`` and ``text``, or a bad limit value.

    Example:
        >>> ds = read_csv(text="x1, x2, y\\n# a comment\\n0.5, -1, 1\\n2, 3e-1, 0\\n")
        >>> ds.columns, ds.values.tolist()
        (('x1', 'x2', 'y'), [[0.5, -1.0, 1.0], [2.0, 0.3, 0.0]])
        >>> try:
        ...     read_csv(text="x1,y\\n1,abc\\n", name="d.csv")
        ... except DataError as err:
        ...     print(err)
        d.csv:2: column y: 'abc' is not a number
            1,abc
        cells must be plain decimal numbers such as 3, -0.25 or 1.5e-3
    """
    if (path is None) == (text is None):
        raise UsageError(_("read_csv needs exactly one of a path or text="))
    rows_limit = _resolve_limit(max_rows, _ENV_ROWS, DEFAULT_MAX_CSV_ROWS, "max_rows")
    cols_limit = _resolve_limit(max_cols, _ENV_COLS, DEFAULT_MAX_CSV_COLS, "max_cols")
    bytes_limit = _resolve_limit(max_bytes, _ENV_BYTES, DEFAULT_MAX_CSV_BYTES, "max_bytes")
    cells_limit = env_limit(_ENV_CELLS, DEFAULT_MAX_CSV_CELLS)
    if text is not None:
        file = name if name is not None else "<data>"
        if not isinstance(text, str):
            raise UsageError(_("read_csv text= must be a str, got {type}").format(type=type(text).__name__))
        if len(text) > bytes_limit:
            raise _bytes_limit_error(file, len(text), bytes_limit)
        lines: Iterator[tuple[int, str]] = _text_lines(text, file)
        return _parse_csv(lines, file, rows_limit, cols_limit, cells_limit)
    file = name if name is not None else os.fspath(path)  # type: ignore[arg-type]
    try:
        size = os.path.getsize(path)  # type: ignore[arg-type]
        if size > bytes_limit:
            raise _bytes_limit_error(file, size, bytes_limit)
        with open(path, "rb") as fh:  # type: ignore[arg-type]
            return _parse_csv(_file_lines(fh, file, bytes_limit), file, rows_limit, cols_limit, cells_limit)
    except OSError as exc:
        raise DataError(
            _("cannot read data file: {reason}").format(reason=exc.strerror or exc), location=Location(file)
        ) from None


def max_rows_limit() -> int:
    """The most data rows a CSV may have (``GRAPHTRACE_MAX_CSV_ROWS`` or 1,000,000): ``graphtrace
    data -n`` writes no more, so that every file it writes can be read back."""
    return env_limit(_ENV_ROWS, DEFAULT_MAX_CSV_ROWS)


def _text_lines(text: str, file: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its end) for text given in memory."""
    for lineno, line in enumerate(io.StringIO(text, newline=""), start=1):
        if "\x00" in line:
            raise _nul_error(file, lineno)
        yield lineno, line.rstrip("\r\n")


def _file_lines(fh: IO[bytes], file: str, max_bytes: int) -> Iterator[tuple[int, str]]:
    """Lines of a file read one at a time: memory stays that of one line (and one line is at
    most the byte limit), whatever the file's size; the file may have grown since it was sized."""
    read = 0
    for lineno, raw in enumerate(fh, start=1):
        read += len(raw)
        if read > max_bytes:
            raise _bytes_limit_error(file, read, max_bytes)
        if b"\x00" in raw:
            raise _nul_error(file, lineno)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            offset = read - len(raw) + exc.start
            raise DataError(
                _("not valid UTF-8 (byte {byte} at offset {offset})").format(
                    byte=f"0x{raw[exc.start]:02x}", offset=offset),
                location=Location(file, line=lineno),
                hint=_("save the file as UTF-8 text"),
            ) from None
        yield lineno, line.rstrip("\r\n")


def _nul_error(file: str, line: int) -> DataError:
    return DataError(
        _("binary content (a NUL byte); a CSV file must be text"),
        location=Location(file, line=line),
    )


def _bytes_limit_error(file: str, size: int, limit: int) -> LimitError:
    return LimitError(
        _("data file is {size} bytes, more than the limit of {limit}").format(size=f"{size:,}", limit=f"{limit:,}"),
        location=Location(file),
        hint=_("set {variable} to raise the limit").format(variable=_ENV_BYTES),
    )


def _resolve_limit(value: int | None, env: str, default: int, what: str) -> int:
    if value is None:
        return env_limit(env, default)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UsageError(_("{name} must be a positive integer, got {value}").format(name=what, value=repr(value)))
    return int(value)


def _parse_csv(lines: Iterator[tuple[int, str]], file: str, max_rows: int, max_cols: int,
               max_cells: int) -> Dataset:
    """Header, then data rows in chunks: only the parsed numbers are kept (8 bytes a cell), and a
    file over a limit is refused at the first row past it, before the rest is read."""
    columns: tuple[str, ...] | None = None
    header_line = 0
    ncols = 0
    cap = max_rows
    parts: list[np.ndarray] = []
    block: list[str] = []
    raw_lines: list[tuple[int, str]] = []
    held = 0  # characters in the current chunk
    n = 0
    for lineno, raw in lines:
        if lineno == 1 and raw.startswith("\ufeff"):
            raw = raw[1:]
        s = raw.strip()
        if not s or s[0] == "#":
            continue
        if columns is None:
            columns = _parse_header(s, lineno, raw, file, max_cols)
            header_line, ncols = lineno, len(columns)
            cap = min(max_rows, max_cells // ncols)
            continue
        n += 1
        if n > cap:
            over_rows = n > max_rows
            raise LimitError(
                _("more than {most} data rows (the limit); row {row} is here").format(
                    most=f"{max_rows:,}", row=f"{max_rows + 1:,}") if over_rows
                else _("more than {most} numbers ({columns} columns × {rows} rows, the limit); "
                       "row {row} is here").format(most=f"{max_cells:,}", columns=f"{ncols:,}", rows=f"{cap:,}",
                                                  row=f"{cap + 1:,}"),
                location=Location(file, line=lineno, text=raw[:200]),
                hint=_("set {variable} to raise the limit").format(variable=_ENV_ROWS if over_rows else _ENV_CELLS),
            )
        block.append(s)
        raw_lines.append((lineno, raw))
        held += len(raw)
        if len(block) == _CHUNK_ROWS or held > _CHUNK_CHARS:
            parts.append(_parse_block(block, raw_lines, columns, file))
            block, raw_lines, held = [], [], 0
    if columns is None:
        raise DataError(
            _("no header: the file has no lines except blanks and comments"),
            location=Location(file),
            hint=_("the first line must name the columns, e.g. x1,x2,y"),
        )
    if block:
        parts.append(_parse_block(block, raw_lines, columns, file))
    if not parts:
        raise DataError(_("no data rows after the header"), location=Location(file, line=header_line))
    return Dataset(columns, np.concatenate(parts), name=file)


def _parse_block(block: list[str], raw_lines: list[tuple[int, str]], columns: tuple[str, ...],
                 file: str) -> np.ndarray:
    # numpy's C parser for a clean chunk; the row-by-row parser only to say where a chunk goes wrong.
    values = _parse_fast(block, len(columns))
    return values if values is not None else _parse_rows(block, raw_lines, columns, file)


_CHUNK_ROWS = 65_536
_CHUNK_CHARS = 8_000_000  # a chunk of wide rows is cut earlier: its strings stay a few tens of MB


def _parse_fast(data: list[str], ncols: int) -> np.ndarray | None:
    """numpy's C parser over stripped data rows, or None when anything could be wrong with them.

    Used only when every character is a digit, sign, point, e, comma or space: then numpy and
    :func:`_parse_rows` accept exactly the same cells and give the same floats (a test checks
    this), and the row parser is only needed to say where the first problem is.
    """
    joined = "\n".join(data)
    if _NOT_FAST.search(joined):
        return None
    try:
        values = np.loadtxt(
            io.StringIO(joined), delimiter=",", dtype=np.float64, comments=None, ndmin=2
        )
    except ValueError:
        return None
    if values.shape != (len(data), ncols) or not np.isfinite(values).all():
        return None
    return values


def _parse_rows(
    rows: list[str], raw_lines: list[tuple[int, str]], columns: tuple[str, ...], file: str
) -> np.ndarray:
    """The authoritative row-by-row parser: the values, or an error at the first bad cell.

    ``rows`` are stripped data rows and ``raw_lines`` their (1-based line number, text) pairs.
    """
    ncols = len(columns)
    out: list[list[float]] = []
    for s, (lineno, raw) in zip(rows, raw_lines, strict=True):
        cells = s.split(",")
        if len(cells) != ncols:
            raise DataError(
                _("expected {n} cells ({columns}), found {found}").format(
                    n=ncols, columns=",".join(columns), found=len(cells)),
                location=Location(file, line=lineno, text=raw),
            )
        row = []
        for col, cell in zip(columns, cells, strict=True):
            problem, value = _parse_number(cell)
            if problem:
                raise DataError(
                    _("column {column}: {problem}").format(column=col, problem=problem),
                    location=Location(file, line=lineno, text=raw),
                    hint=_(_NUMBER_HINT) if _not_a_number(cell) else None,
                )
            row.append(value)
        out.append(row)
    return np.array(out, dtype=np.float64).reshape(len(out), ncols)


_NUMBER_HINT = N_("cells must be plain decimal numbers such as 3, -0.25 or 1.5e-3")


def _parse_number(cell: str) -> tuple[str | None, float]:
    """``(None, value)`` for a valid cell, else ``(problem, nan)``."""
    c = _unquote(cell.strip())
    shown = _show(c)
    if not c:
        return _("empty cell"), math.nan
    try:
        value = float(c)
    except ValueError:
        return _("{cell} is not a number").format(cell=shown), math.nan
    if not math.isfinite(value):  # 'nan', 'inf', or a decimal too big such as 1e400
        return _("non-finite value {cell}").format(cell=shown), math.nan
    if not _NUMBER.fullmatch(c):  # '1_000', non-ASCII digits: float() reads them, CSV readers don't
        return _("{cell} is not a number").format(cell=shown), math.nan
    return None, value


def _not_a_number(cell: str) -> bool:
    """Whether a bad cell is text rather than empty or a non-finite number (the hint's case)."""
    c = _unquote(cell.strip())
    if not c:
        return False
    try:
        return math.isfinite(float(c))  # finite: only the strict grammar refused it
    except ValueError:
        return True


def _unquote(cell: str) -> str:
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':
        return cell[1:-1].strip()
    return cell


def _show(cell: str) -> str:
    if len(cell) > _SHOWN_CELL:
        cell = cell[: _SHOWN_CELL - 3] + "..."
    return repr(cell)


def _parse_header(header: str, lineno: int, raw: str, file: str, max_cols: int) -> tuple[str, ...]:
    def error(message: str, hint: str | None = None) -> DataError:
        return DataError(message, location=Location(file, line=lineno, text=raw), hint=hint)

    names = [_unquote(c.strip()) for c in header.split(",")]
    if len(names) > max_cols:
        raise LimitError(
            _("{n} columns, more than the limit of {limit}").format(n=f"{len(names):,}", limit=f"{max_cols:,}"),
            location=Location(file, line=lineno, text=raw[:200]),
            hint=_("set {variable} to raise the limit").format(variable=_ENV_COLS),
        )
    looks_numeric = all(_parse_number(c)[0] is None for c in names)
    header_hint = _(
        "the first line that is not blank or a comment must name the columns, e.g. x1,x2,y"
    )
    seen: dict[str, int] = {}
    for k, col in enumerate(names, start=1):
        if not col:
            raise error(_("column {k} has an empty name").format(k=k))
        if not col.isidentifier():
            raise error(
                _("column {k}: {name} is not a valid column name").format(k=k, name=_show(col)),
                header_hint
                if looks_numeric
                else _("names use letters, digits and _, and do not start with a digit"),
            )
        if keyword.iskeyword(col):
            raise error(_("column {k}: '{name}' is a Python keyword and cannot be an input name").format(k=k, name=col))
        if unicodedata.normalize("NFKC", col) != col:
            # Python reads a script's names in NFKC form, so this name could never match one.
            raise error(
                _("column {k}: '{name}' is not in normal form; write it as '{normal}'").format(
                    k=k, name=col, normal=unicodedata.normalize("NFKC", col))
            )
        if col in seen:
            raise error(_("duplicate column name '{name}' (columns {first} and {k})").format(
                name=col, first=seen[col], k=k))
        seen[col] = k
    return tuple(names)
