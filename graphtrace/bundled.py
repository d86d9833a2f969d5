"""The bundled samples: where they lie, one line about each, ``sample:NAME`` and copying them out.

The course's scripts, data sets and programs ship inside the package (the wheel puts the
checkout's ``samples/`` at ``graphtrace/samples``), so every command can name one from any folder
as ``sample:NAME`` (``sample:neuron``, ``sample:triangle.csv``), and ``graphtrace samples`` lists
and copies them. A test keeps :data:`SAMPLES` and the folder equal, file for file.
"""

from __future__ import annotations

__all__ = ["PREFIX", "SAMPLES", "samples_dir", "is_sample", "matches", "resolve", "files_for", "copy_samples"]

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import GraphtraceError, OutputError, UsageError
from .i18n import N_, _
from .text import did_you_mean, printable_path

PREFIX = "sample:"

# One line per bundled file, in the course's order: what `graphtrace samples` prints (marked with N_,
# translated where shown).
SAMPLES: dict[str, str] = {
    "linear_classifier.gt": N_("§1 a linear classifier: the sign of w0 + w1·x1 + w2·x2"),
    "logistic_regression.gt": N_("§2 logistic regression: the sigmoid of the same sum, log loss"),
    "triangle.gt": N_("§3 §4 §11 the triangle net, 2-3-1 with hand-set weights (one hidden unit per side)"),
    "triangle_array.gt": N_("§3 the same triangle net in array form, a layer a line (W1 @ x + b1)"),
    "linear_collapse.gt": N_("§5 two linear layers collapse into one linear model"),
    "linear_collapse_net.gt": N_("§5 a 2-3-1 net with identity activations (trains like one logistic regression)"),
    "circle_net.gt": N_("§6 §8 a 2-4-2-1 tanh net (TensorFlow Playground's circle)"),
    "product_rule.gt": N_("§9 h = f·g: the product rule as a sum over two paths"),
    "neuron.gt": N_("§10 one neuron: inputs x1, x2, weights α, β, sigmoid and log loss"),
    "symmetry_zeros.gt": N_("§12 a 2-3-1 sigmoid net started at zeros (its hidden units stay identical)"),
    "symmetry_random.gt": N_("§12 the same net from random weights (--seed 0)"),
    "softmax.gt": N_("K classes: a linear softmax classifier with arrays, z = W @ x + b"),
    "multiclass.gt": N_("K classes: a 2-16-3 net with softmax cross-entropy, in array form"),
    "micrograd.gt": N_("micrograd's README example as micrograd writes it (+=, .relu())"),
    "gauss.csv": N_("data: two gaussians, 100 points, labels 0/1 (§1, §2)"),
    "triangle.csv": N_("data: the triangle, 200 points, labels 0/1 (§3, §5, §12)"),
    "circle.csv": N_("data: the circle, 200 points, labels 0/1 (§8)"),
    "blobs.csv": N_("data: three gaussian blobs, 200 points, y = class 0, 1, 2 (K classes)"),
    "micrograd_readme.py": N_("program: micrograd's README example verbatim (graphtrace trace runs it)"),
    "micrograd_demo.py": N_("program: micrograd's demo.ipynb, one training step (graphtrace trace runs it)"),
    "torch_mlp.py": N_("program: a tanh MLP in PyTorch through graphtrace.from_torch (needs torch)"),
}


def samples_dir() -> Path:
    """The samples' folder: inside the installed package (wheel), else the checkout's samples/.

    >>> (samples_dir() / "neuron.gt").is_file()
    True
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "samples", here.parent / "samples"):
        if (candidate / "neuron.gt").is_file():
            return candidate
    raise GraphtraceError(_("the course samples are missing from this installation"),
                          hint=_("reinstall graphtrace (pip install graphtrace-backprop)"))


def is_sample(spec: object) -> bool:
    """Whether a command-line argument names a bundled sample (``sample:NAME``).

    >>> is_sample("sample:neuron"), is_sample("neuron.gt"), is_sample(None)
    (True, False, False)
    """
    return isinstance(spec, str) and spec.startswith(PREFIX)


def matches(name: str) -> list[str]:
    """The bundled files a name means: the file itself, or every file with that stem.

    >>> matches("neuron"), matches("sample:triangle"), matches("triangle.csv"), matches("nope")
    (['neuron.gt'], ['triangle.gt', 'triangle.csv'], ['triangle.csv'], [])
    """
    name = name.removeprefix(PREFIX)
    if name in SAMPLES:
        return [name]
    return [f for f in SAMPLES if os.path.splitext(f)[0] == name]


def _unknown(name: str, kinds: tuple[str, ...] | None = None) -> UsageError:
    offered = [f for f in SAMPLES if kinds is None or f.endswith(kinds)]
    stems = [os.path.splitext(f)[0] for f in offered]
    hint = did_you_mean(name, [*stems, *offered], cutoff=0.5)
    words: dict[tuple[str, ...], str] = {(".gt",): N_("no sample script named '{name}'"),
                                         (".csv",): N_("no sample data set named '{name}'"),
                                         (".py",): N_("no sample program named '{name}'")}
    what = words.get(kinds or (), N_("no sample named '{name}'"))
    return UsageError(_(what).format(name=name) + (f" ({hint})" if hint else "")
                      + _("; `graphtrace samples` lists them"))


def resolve(spec: str, *, kinds: tuple[str, ...] = (".gt",)) -> Path:
    """The file a ``sample:NAME`` argument names, among the files ending in one of ``kinds``.

    >>> resolve("sample:neuron").name, resolve("sample:triangle", kinds=(".csv",)).name
    ('neuron.gt', 'triangle.csv')
    """
    name = spec.removeprefix(PREFIX)
    found = [f for f in matches(name) if f.endswith(kinds)]
    if not found:
        raise _unknown(name, kinds)
    path = samples_dir() / found[0]
    if not path.is_file():
        raise GraphtraceError(_("the sample '{name}' is missing from this installation").format(name=found[0]),
                              hint=_("reinstall graphtrace (pip install graphtrace-backprop)"))
    return path


def files_for(names: Iterable[str]) -> list[str]:
    """The bundled files that ``names`` mean (each as :func:`matches`), in order, each once; an
    unknown name is an error with a "did you mean".

    >>> files_for(["neuron", "triangle", "neuron.gt"])
    ['neuron.gt', 'triangle.gt', 'triangle.csv']
    """
    files: list[str] = []
    for name in names:
        found = matches(name)
        if not found:
            raise _unknown(name.removeprefix(PREFIX))
        files += [f for f in found if f not in files]
    return files


def copy_samples(names: Iterable[str], folder: str | os.PathLike[str], *, force: bool = False) -> list[Path]:
    """Copy bundled samples into ``folder`` (created if missing); returns the files written.

    A file already there with the same content is left as it is; one with other content (a sample
    someone edited) is replaced only with ``force``. Every name is checked before anything is
    written.
    """
    from .files import atomic_write

    files = files_for(names)
    source = samples_dir()
    out = Path(folder)
    plan: list[tuple[Path, bytes]] = []
    for f in files:
        data = (source / f).read_bytes()
        target = out / f
        if target.is_file() and not force and target.read_bytes() != data:
            raise OutputError(_("'{path}' exists and differs from the sample '{name}'").format(
                path=printable_path(target), name=f),
                hint=_("keep your edits under another name, or pass --force to replace it"))
        plan.append((target, data))
    if out.exists() and not out.is_dir():
        raise OutputError(_("cannot copy samples into '{path}': it is a file, not a folder").format(
            path=printable_path(out)))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(_("cannot create the folder '{path}': {reason}").format(
            path=printable_path(out), reason=(exc.strerror or str(exc)).lower())) from None
    written = []
    for target, data in plan:
        if not (target.is_file() and target.read_bytes() == data):
            atomic_write(target, data)
        written.append(target)
    return written
