"""The compiled engine: a computation graph as flat arrays, evaluated level by level with numpy.

:func:`compile_graph` turns the networkx graph into a :class:`CompiledGraph` once (cached on the graph and
rebuilt when its ``version`` changes): the topological order, every node's row, the operand rows of
every op, grouped into levels (level = 1 + the highest level of the operands) and, within a level,
into one group per op. Forward runs one vectorized registry call per (level, op) group over a value
matrix ``V`` of shape (nodes, batch); the local derivatives fill a matrix ``Lc`` of shape
(edges, batch) from the registry's partials; backward sweeps the levels in reverse and scatters
``G[head] · local`` into the operands' rows. Every value carries a batch dimension, so a per-sample
graph is evaluated on N samples at once, and finite differences and path sums for many nodes run
as columns of one batched pass.

Passes run a fast plan (:class:`_Fast`): left-to-right sums become one step each, and *dense
blocks* — a layer's products ``w·x`` that share their ``x`` and feed add chains of one length, as
an MLP's ``z = w1*x1 + w2*x2 + ... + b`` or the array syntax's ``W @ x + b`` — become one matrix
product, recognised by structure and by the op records' fields (``product``, ``running``), never
by an op's name. A training step (:class:`Stepper`, :meth:`CompiledGraph.gradient_totals`) runs a
block forward and backward with BLAS (Z = [W b]·[X; 1], Wᵀ·Gz, Gz·Xᵀ summed over the batch);
:meth:`CompiledGraph.forward` computes a block's products one by one and sums them in the chains'
order, so values are bit for bit the plain evaluator's. Products, chain links, per-edge locals
and per-sample gradients get no rows on the hot path: :class:`Run` makes ``V``, ``L`` and ``G``
on first access, for drawings, path listings and JSON.

Invariants: rows are positions in the topological order; edges are numbered level by level, then
group by group, then slot by slot, so every level's edges are one contiguous slice of ``Lc``; the
op registry (:mod:`graphtrace.ops`) stays the only place that knows any op's maths. Results equal
the reference oracles (:mod:`graphtrace.evaluate`, :mod:`graphtrace.backprop`, :mod:`graphtrace.paths`)
to rounding (forward values exactly). Whether the engine or a reference oracle runs is decided in
:mod:`graphtrace.compute` alone.
"""

from __future__ import annotations

__all__ = ["CompiledGraph", "Run", "Stepper", "compile_graph", "CHUNK_BYTES"]

import math
import operator
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import GraphError
from .evaluate import nonfinite_error
from .graph import ComputationGraph, as_graph, operands, topological_order
from .i18n import _
from .ops import OPS, Op

CHUNK_BYTES = 64 * 2**20
"""Memory bound of one batched pass of finite differences or path sums (value matrix size)."""

_VALUE = operator.itemgetter("value")
_EXACT = 2.0**53  # float64 holds every integer below this exactly


class _OpGroup:
    """The nodes of one level that apply one op: their rows, operand rows, and first edge.

    Edges of slot j are ``edge0 + j*k ... edge0 + (j+1)*k - 1`` (k = the group's size). Plain
    classes with __slots__ rather than dataclasses: they import faster (start-up time counts).
    """

    __slots__ = ("op", "nodes", "args", "edge0")

    def __init__(self, op: Op, nodes: np.ndarray, args: tuple[np.ndarray, ...], edge0: int):
        self.op = op
        self.nodes = nodes  # (k,) rows, ascending
        self.args = args  # one (k,) operand-row array per slot
        self.edge0 = edge0

    @property
    def size(self) -> int:
        return len(self.nodes)


class _Level:
    __slots__ = ("groups", "edge0", "edge1")

    def __init__(self, groups: list[_OpGroup], edge0: int, edge1: int):
        self.groups = groups
        self.edge0 = edge0
        self.edge1 = edge1


class _Scatter:
    """Adds rows of a contribution matrix into G at (possibly repeated) target rows."""

    __slots__ = ("targets", "perm", "uniq", "starts")

    def __init__(self, targets: np.ndarray, perm: np.ndarray | None = None, uniq: np.ndarray | None = None,
                 starts: np.ndarray | None = None):
        self.targets = targets
        self.perm = perm  # None: targets are unique, a plain fancy add works
        self.uniq = uniq
        self.starts = starts

    @classmethod
    def plan(cls, targets: np.ndarray) -> _Scatter:
        perm = np.argsort(targets, kind="stable")
        ts = targets[perm]
        if ts.size == 0 or bool(np.all(ts[1:] != ts[:-1])):
            return cls(targets)
        starts = np.flatnonzero(np.concatenate(([True], ts[1:] != ts[:-1])))
        return cls(targets, perm, ts[starts], starts)

    def add(self, G: np.ndarray, C: np.ndarray) -> None:
        if self.perm is None:
            G[self.targets] += C
        else:
            assert self.starts is not None  # set together with perm
            G[self.uniq] += np.add.reduceat(C[self.perm], self.starts, axis=0)


class _Blocks:
    """Adds the rows of a contribution matrix into G, rows grouped by target at compile time.

    :meth:`order` sorts a level's edges by (fan-in of the tail, tail): rows for targets hit once
    come first, then blocks of targets hit exactly m times, m rows each. Each block is then a
    reshape and a sum over its middle axis (no gather, no ``np.add.at``, no ``reduceat``, which
    costs about 5× more per row): one or two numpy calls per distinct fan-in.
    """

    __slots__ = ("blocks",)

    def __init__(self, blocks: list[tuple[int, int, int, np.ndarray]]):
        self.blocks = blocks

    @classmethod
    def order(cls, targets: np.ndarray) -> tuple[np.ndarray, _Blocks]:
        """``(perm, plan)``: reorder the rows by ``perm``, then ``plan.add`` adds them up."""
        if targets.size == 0:
            return np.zeros(0, dtype=np.int64), cls([])
        _, inv, counts = np.unique(targets, return_inverse=True, return_counts=True)
        fan = counts[inv]
        perm = np.lexsort((np.arange(targets.size), targets, fan))
        ts, fs = targets[perm], fan[perm]
        cut = np.flatnonzero(np.diff(fs)) + 1
        bounds = np.concatenate(([0], cut, [targets.size])).tolist()
        blocks = [(lo, hi, int(fs[lo]), ts[lo:hi:int(fs[lo])]) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
        return perm, cls(blocks)

    def add(self, G: np.ndarray, C: np.ndarray) -> None:
        for lo, hi, m, targets in self.blocks:
            if m == 1:
                G[targets] += C[lo:hi]
            else:
                G[targets] += C[lo:hi].reshape(-1, m, C.shape[1]).sum(axis=1)


class _BackLevel:
    """One level of a backward plan: which edges carry gradient, and where it goes."""

    __slots__ = ("edges", "heads", "scatter")

    def __init__(self, edges: slice | np.ndarray, heads: np.ndarray, scatter: _Scatter):
        self.edges = edges
        self.heads = heads
        self.scatter = scatter


class _Step:
    """One (fused level, op) group of the execution plan: rows, operand rows and edges per slot.

    ``edges[j][i]`` is the edge from ``args[j][i]`` into ``nodes[i]``. A chain step (``chain``
    True) holds ``n`` fused chains of one running op (add), all of length ``k``: ``members`` (n, k)
    rows in chain order, ``operands`` (n, k + 1) the rows summed left to right; ``nodes``, ``args``
    and ``edges`` then list every member, as for a plain group, and ``inner``/``outer`` split the
    edges into the chain's own links and the edges from its operands.
    """

    __slots__ = ("op", "nodes", "args", "edges", "chain", "members", "operands", "edges_const")

    def __init__(self, op: Op, nodes: np.ndarray, args: tuple[np.ndarray, ...], edges: tuple[np.ndarray, ...],
                 members: np.ndarray | None = None, operands: np.ndarray | None = None):
        self.op = op
        self.nodes = nodes
        self.args = args
        self.edges = edges
        self.chain = members is not None
        self.members = members
        self.operands = operands
        self.edges_const = False  # every partial is a constant (set by CompiledGraph.fused)


_CONSTANT: dict[str, tuple[float | None, ...]] = {}


def _constant_partials(op: Op) -> tuple[float | None, ...]:
    """Each partial of ``op`` as a number where it is constant (returns a number for arrays)."""
    if op.name not in _CONSTANT:
        probe = [np.array([0.75, 1.5])] * (op.arity + 1)
        with np.errstate(all="ignore"):
            got = [p(*probe) for p in op.partials]
        _CONSTANT[op.name] = tuple(float(g) if np.ndim(g) == 0 else None for g in got)
    return _CONSTANT[op.name]


class _FusedBack:
    """One fused level of a backward plan: gradient copies down chains, then an edge scatter."""

    __slots__ = ("dst", "src", "edges", "heads", "scatter")

    def __init__(self, dst: np.ndarray | None, src: np.ndarray | None, edges: np.ndarray, scatter: _Blocks):
        self.dst = dst
        self.src = src
        self.edges = edges
        self.heads = None
        self.scatter = scatter


class CompiledGraph:
    """A computation graph compiled to arrays; see the module docstring.

    Attributes:
        graph: the networkx graph it was compiled from.
        version: the graph's ``version`` at compile time (None for a plain networkx graph).
        order: the topological order; ``index[node]`` is the node's row.
        n_nodes, n_edges: sizes.
        level: (n_nodes,) level of every row (0 for leaves).
        leaves: rows of the inputs, params and constants.
        tail, head, slot: (n_edges,) arrays describing every edge.
        live: (n_nodes,) True where a node depends on an input or param (or is one).

    >>> from graphtrace import parse
    >>> p = compile_graph(parse("x: input = 3\\ny = x*x + 1").nx)
    >>> r = p.forward_backward({"x": [1.0, 2.0]})
    >>> r.value("y").tolist(), r.grad("x").tolist()
    ([2.0, 5.0], [2.0, 4.0])
    """

    def __init__(self, g: ComputationGraph):
        self.graph = g
        self.version = getattr(g, "version", None)
        order = topological_order(g)
        self.order = order
        index = {v: i for i, v in enumerate(order)}
        self.index = index
        n = len(order)
        self.n_nodes = n
        nodes = g._node  # the raw dicts behind g.nodes and g.pred: views cost ~1 µs a lookup
        # The operands from the parser's records while the structure is as parsed (no edges
        # walked); kinds and ops always from the attribute dicts, which a caller may have changed.
        records = g.records()
        pred = g._pred if records is None else {}
        lv = [0] * n
        alive = [False] * n  # depends on an input or param (or is one)
        op_rows: list[int] = []
        op_codes: list[int] = []
        arg0: list[int] = []
        arg1: list[int] = []
        leaves: list[int] = []
        names = sorted(OPS)  # op codes: positions in the sorted registry names (stable)
        code = {name: c for c, name in enumerate(names)}
        for i, v in enumerate(order):
            d = nodes[v]
            if d.get("kind") != "op":
                leaves.append(i)
                alive[i] = d.get("kind") in ("input", "param")
                continue
            op = OPS[d["op"]]
            if records is None:
                rows = _operand_rows(op, v, pred[v], index)
            else:
                written = records[i].operands
                if len(written) != op.arity:  # a variadic op: refused below, as the dicts' path does
                    rows = _operand_rows(op, v, {u: {k: {}} for k, u in enumerate(written)}, index)
                else:
                    rows = [index[u] for u in written]
            if op.arity > 2:
                raise GraphError(_("node '{node}': ops of more than two operands are not compiled").format(node=v))
            lv[i] = 1 + max(lv[r] for r in rows)
            alive[i] = any(alive[r] for r in rows)
            op_rows.append(i)
            op_codes.append(code[op.name])
            arg0.append(rows[0])
            arg1.append(rows[1] if op.arity == 2 else -1)
        level = np.asarray(lv, dtype=np.int64)
        self.level = level
        self.live = np.asarray(alive, dtype=bool)
        self.leaves = np.asarray(leaves, dtype=np.int64)
        self.leaf_nodes = [order[i] for i in leaves]
        self._leaf_attrs = [nodes[v] for v in self.leaf_nodes]  # read at every pass: values may change
        self.n_levels = int(level.max()) + 1 if n else 1

        # Group op rows by (level, op), rows ascending inside a group; every group is a slice of
        # the sorted arrays, so building a group costs no copy.
        rows_arr = np.asarray(op_rows, dtype=np.int64)
        codes = np.asarray(op_codes, dtype=np.int64)
        a0 = np.asarray(arg0, dtype=np.int64)
        a1 = np.asarray(arg1, dtype=np.int64)
        lev_of = level[rows_arr]
        sort = np.lexsort((rows_arr, codes, lev_of))
        rows_s, codes_s, lev_s, a0_s, a1_s = rows_arr[sort], codes[sort], lev_of[sort], a0[sort], a1[sort]
        m = len(sort)
        cut = np.flatnonzero((np.diff(lev_s) != 0) | (np.diff(codes_s) != 0)) + 1 if m else sort
        bounds = np.concatenate(([0], cut, [m])).tolist() if m else [0]
        self.levels: list[_Level] = [_Level([], 0, 0) for _ in range(self.n_levels)]
        arities = [OPS[name].arity for name in names]
        sizes = np.diff(bounds) if m else np.zeros(0, dtype=np.int64)
        gcodes = codes_s[bounds[:-1]].tolist() if m else []
        glevels = lev_s[bounds[:-1]].tolist() if m else []
        n_edges = int(sum(arities[c] * int(k) for c, k in zip(gcodes, sizes.tolist(), strict=True)))
        tail = np.empty(n_edges, dtype=np.int64)
        head = np.empty(n_edges, dtype=np.int64)
        slot = np.empty(n_edges, dtype=np.int64)
        e = 0
        for gi, (c, li) in enumerate(zip(gcodes, glevels, strict=True)):
            lo, hi = bounds[gi], bounds[gi + 1]
            k = hi - lo
            op = OPS[names[c]]
            grp_rows = rows_s[lo:hi]
            args = (a0_s[lo:hi],) if op.arity == 1 else (a0_s[lo:hi], a1_s[lo:hi])
            lvl = self.levels[li]
            if not lvl.groups:
                lvl.edge0 = e
            lvl.groups.append(_OpGroup(op, grp_rows, args, e))
            for j, a in enumerate(args):
                tail[e:e + k] = a
                head[e:e + k] = grp_rows
                slot[e:e + k] = j
                e += k
            lvl.edge1 = e
        self.tail, self.head, self.slot = tail, head, slot
        self.n_edges = e
        # The plain evaluator's edge order (head in topological order, then slot): for errors.
        self.edge_rank = np.argsort(np.lexsort((self.slot, self.head)), kind="stable")
        self._plans: dict[int, list[_BackLevel]] = {}
        self._fused_plans: dict[int, list[_FusedBack]] = {}
        self._op_arrays = (rows_arr, codes, a0, a1, names)
        self._fused: list[list[_Step]] | None = None
        self._pool: dict[tuple[str, int], list[np.ndarray]] = {}
        self._fast_plan: _Fast | None = None
        self.n_groups = len(gcodes)
        self.n_ops = len(op_rows)

    # ---- structure ----------------------------------------------------------------------------
    def row(self, name: Any) -> int:
        """The row of node ``name``."""
        try:
            return self.index[name]
        except KeyError:
            raise GraphError(_("'{name}' is not a node of the graph").format(name=name)) from None

    def ancestors(self, output: Any) -> np.ndarray:
        """(n_nodes,) mask of ``output`` and every node it depends on."""
        anc = np.zeros(self.n_nodes, dtype=bool)
        anc[self.row(output)] = True
        for lvl in reversed(self.levels[1:]):
            for grp in lvl.groups:
                m = anc[grp.nodes]
                if m.any():
                    for a in grp.args:
                        anc[a[m]] = True
        return anc

    def descendants(self, rows: Sequence[int]) -> np.ndarray:
        """(n_nodes,) mask of ``rows`` and every node that depends on one of them."""
        down = np.zeros(self.n_nodes, dtype=bool)
        down[list(rows)] = True
        lo = min((int(self.level[r]) for r in rows), default=self.n_levels)
        for lvl in self.levels[max(lo, 1):]:
            for grp in lvl.groups:
                hit = np.zeros(grp.size, dtype=bool)
                for a in grp.args:
                    hit |= down[a]
                down[grp.nodes] |= hit
        return down

    def _plan(self, output: Any) -> list[_BackLevel]:
        """The backward plan for ``output``: only edges whose head the output depends on."""
        out = self.row(output)
        if out in self._plans:
            return self._plans[out]
        anc = self.ancestors(output)
        plan = []
        for lvl in reversed(self.levels[1:]):
            if lvl.edge1 == lvl.edge0:
                continue
            heads = self.head[lvl.edge0:lvl.edge1]
            keep = anc[heads]
            if keep.all():
                edges: slice | np.ndarray = slice(lvl.edge0, lvl.edge1)
                tails = self.tail[lvl.edge0:lvl.edge1]
            elif keep.any():
                edges = lvl.edge0 + np.flatnonzero(keep)
                heads = self.head[edges]
                tails = self.tail[edges]
            else:
                continue
            plan.append(_BackLevel(edges, heads, _Scatter.plan(tails)))
        self._plans[out] = plan
        return plan

    # ---- the fused execution plan (forward values, locals, backward) ----------------------------
    def fused(self) -> list[list[_Step]]:
        """The execution plan: per fused level, its steps (built on first use, then kept).

        A script-written sum ``w1*x1 + w2*x2 + ... + b`` is a left-to-right chain of adds, one
        level each: a 64-input neuron alone is 64 levels of one tiny group. Here every maximal
        chain of a running op (see :class:`~graphtrace.ops.Op`: add), in which each link is the next
        link's operand 0 and has no other use, becomes one step computed by the op's
        ``running.accumulate`` over the chain's operands: every partial sum comes out, added in
        the plain evaluator's order (so bit for bit the same values), and the chain sits on one
        level. Other op nodes keep level = 1 + the highest level of their operands, counted on
        the fused levels; steps group rows by (level, op) and chains by (level, op, length).
        """
        if self._fused is not None:
            return self._fused
        rows_arr, codes, a0, a1, names = self._op_arrays
        n = self.n_nodes
        run_codes = np.asarray([OPS[name].running is not None for name in names] or [False], dtype=bool)
        code_of = np.full(n, -1, dtype=np.int64)
        code_of[rows_arr] = codes
        used = np.concatenate((a0, a1[a1 >= 0]))
        outdeg = np.bincount(used, minlength=n) if used.size else np.zeros(n, dtype=np.int64)
        nxt = np.full(n, -1, dtype=np.int64)
        if rows_arr.size:
            running = run_codes[codes]
            link = running & (code_of[a0] == codes) & (outdeg[a0] == 1)
            nxt[a0[link]] = rows_arr[link]
        has_prev = np.zeros(n, dtype=bool)
        has_prev[nxt[nxt >= 0]] = True
        starts = np.flatnonzero((nxt >= 0) & ~has_prev).tolist()
        nxt_l = nxt.tolist()
        chains: list[list[int]] = []
        end_of: dict[int, int] = {}
        inner = [False] * n
        for r in starts:
            ch = [r]
            while nxt_l[r] >= 0:
                inner[r] = True
                r = nxt_l[r]
                ch.append(r)
            end_of[r] = len(chains)
            chains.append(ch)
        lv = [0] * n
        in_chain = [False] * n
        a0_l, a1_l = a0.tolist(), a1.tolist()
        arg0 = [-1] * n
        arg1 = [-1] * n
        for i, x, y in zip(rows_arr.tolist(), a0_l, a1_l, strict=True):
            arg0[i] = x
            arg1[i] = y
            if inner[i]:
                in_chain[i] = True
                continue
            c = end_of.get(i)
            if c is None:
                lv[i] = 1 + (lv[x] if y < 0 or lv[x] >= lv[y] else lv[y])
                continue
            ch = chains[c]
            top = max(lv[arg0[ch[0]]], max(lv[arg1[m]] for m in ch)) + 1
            for m in ch:
                lv[m] = top
            in_chain[i] = True
        levels_n = max(lv, default=0) + 1
        fused: list[list[_Step]] = [[] for _ in range(levels_n)]
        eid = np.full((n, 2), -1, dtype=np.int64)
        eid[self.head, self.slot] = np.arange(self.n_edges)
        level = np.asarray(lv, dtype=np.int64)
        # Plain op rows: one step per (level, op), rows ascending.
        plain = ~np.asarray(in_chain, dtype=bool)[rows_arr] if rows_arr.size else np.zeros(0, dtype=bool)
        p_rows, p_codes = rows_arr[plain], codes[plain]
        if p_rows.size:
            sort = np.lexsort((p_rows, p_codes, level[p_rows]))
            p_rows, p_codes = p_rows[sort], p_codes[sort]
            p_lev = level[p_rows]
            cut = np.flatnonzero((np.diff(p_lev) != 0) | (np.diff(p_codes) != 0)) + 1
            bounds = np.concatenate(([0], cut, [p_rows.size])).tolist()
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                op = OPS[names[int(p_codes[lo])]]
                nodes = p_rows[lo:hi]
                args = tuple(np.asarray([arg0, arg1][j], dtype=np.int64)[nodes] for j in range(op.arity))
                edges = tuple(eid[nodes, j] for j in range(op.arity))
                fused[int(p_lev[lo])].append(_Step(op, nodes, args, edges))
        # Chains: one step per (level, op, length).
        by_key: dict[tuple[int, int, int], list[list[int]]] = {}
        for ch in chains:
            by_key.setdefault((lv[ch[0]], int(code_of[ch[0]]), len(ch)), []).append(ch)
        arg0_a, arg1_a = np.asarray(arg0, dtype=np.int64), np.asarray(arg1, dtype=np.int64)
        for (li, c, _k), group in sorted(by_key.items()):
            members = np.asarray(group, dtype=np.int64)
            operands = np.concatenate((arg0_a[members[:, :1]], arg1_a[members]), axis=1)
            flat = members.ravel()
            fused[li].append(_Step(OPS[names[c]], flat, (arg0_a[flat], arg1_a[flat]),
                                   (eid[flat, 0], eid[flat, 1]), members, operands))
        # Edges whose local derivative is a constant (add, sub, neg, identity: the registry's
        # partial returns a number, not an array, for array operands) are filled once per pass,
        # all at once, without gathering any operand.
        const: dict[float, list[np.ndarray]] = {}
        for steps in fused:
            for st in steps:
                vals = _constant_partials(st.op)
                for v, e in zip(vals, st.edges, strict=True):
                    if v is not None:
                        const.setdefault(v, []).append(e)
                if all(v is not None for v in vals):
                    st.edges_const = True
        self._const_edges = [(v, np.sort(np.concatenate(es))) for v, es in sorted(const.items())]
        self._fused = fused
        return fused

    def _fused_plan(self, output: Any) -> list[_FusedBack]:
        """The backward plan over the fused levels for ``output``.

        Every partial of a running op is 1, so the gradient of each link of a chain equals the
        gradient of the chain's last link that the output depends on (the chain's end, or the
        output itself when it is a link): one copy per level. The edges from the chains' operands
        and every plain step's edges then go through one gather, product and scatter per level.
        """
        out = self.row(output)
        plan = self._fused_plans.get(out)
        if plan is not None:
            return plan
        anc = self.ancestors(output)
        plan = []
        for steps in reversed(self.fused()[1:]):
            dst: list[np.ndarray] = []
            src: list[np.ndarray] = []
            edges: list[np.ndarray] = []
            for st in steps:
                if st.chain:
                    members = st.members
                    assert members is not None  # chain steps always carry their members
                    nch, k = members.shape
                    m = anc[members]  # a prefix of every chain: a link's only use is the next link
                    count = m.sum(axis=1)
                    last = members[np.arange(nch), np.maximum(count - 1, 0)]
                    below = np.arange(k)[None, :] < (count - 1)[:, None]
                    if below.any():
                        dst.append(members[below])
                        src.append(np.broadcast_to(last[:, None], (nch, k))[below])
                    e0 = st.edges[0].reshape(nch, k)[:, 0]
                    edges.append(e0[m[:, 0]])
                    edges.append(st.edges[1].reshape(nch, k)[m])
                else:
                    keep = anc[st.nodes]
                    if keep.all():
                        edges.extend(st.edges)
                    elif keep.any():
                        edges.extend(e[keep] for e in st.edges)
            e = np.concatenate(edges) if edges else np.zeros(0, dtype=np.int64)
            if e.size == 0 and not dst:
                continue
            perm, blocks = _Blocks.order(self.tail[e])
            e = e[perm]
            bl = _FusedBack(np.concatenate(dst) if dst else None, np.concatenate(src) if src else None,
                            e, blocks)
            bl.heads = self.head[e]
            plan.append(bl)
        self._fused_plans[out] = plan
        return plan

    def _buffer(self, kind: str, rows: int, batch: int) -> np.ndarray:
        """An uninitialised (rows, batch) matrix, reused from an earlier pass when nobody holds it.

        Training calls :meth:`forward_backward` thousands of times with one batch size; a fresh
        matrix of a megabyte or more is fresh pages from the OS every time, and the page faults
        cost more than the whole pass (measured: 2-16-16-1, batch 100: 3.0 → 1.1 ms). A pooled
        matrix is handed out again only when no Run, view or caller still refers to it (its
        reference count is the pool's alone), so a result someone keeps is never overwritten.
        """
        if rows * batch * 8 > CHUNK_BYTES:
            return np.empty((rows, batch))
        pool = self._pool.setdefault((kind, batch), [])
        for buf in pool:
            # References: the pool's list, the loop variable and getrefcount's argument.
            if sys.getrefcount(buf) <= 3:
                return buf
        buf = np.empty((rows, batch))
        if len(pool) < 2:  # a loop `run = forward_backward(...)` holds one while making the next
            pool.append(buf)
        return buf

    # ---- values -------------------------------------------------------------------------------
    def _read_values(self, values: Mapping[Any, Any] | None
                     ) -> tuple[list[int], list[float], list[tuple[int, np.ndarray]], set[int]]:
        """``values`` sorted out: rows and numbers, rows and arrays (0-d or a 1-D batch), batch sizes.

        Raises GraphError for a name that is not an input, param or constant, or a value of more
        than one dimension.
        """
        nodes = self.graph._node  # the raw attribute dicts: the NodeView costs ~1 µs a lookup
        index = self.index
        rows: list[int] = []  # plain numbers (training passes every param): one assignment for all
        nums: list[float] = []
        given: list[tuple[int, np.ndarray]] = []
        sizes: set[int] = set()
        for name, val in (values or {}).items():
            kind = nodes[name].get("kind") if name in index else None
            if kind not in ("input", "param", "const"):
                raise GraphError((_("cannot set '{name}': it is not a node of this graph") if kind is None else
                                  _("cannot set '{name}': it is computed, not an input or param")).format(name=name))
            if type(val) is float or type(val) is int:
                rows.append(index[name])
                nums.append(val)
                continue
            arr = np.asarray(val, dtype=float)
            if arr.ndim > 1:
                raise GraphError(_("the value of '{name}' must be a number or a 1-D batch, got shape {shape}").format(
                    name=name, shape=arr.shape))
            if arr.ndim == 1:
                sizes.add(arr.shape[0])
            given.append((index[name], arr))
        if len(sizes) > 1:
            raise GraphError(_("batched values have different lengths: {lengths}").format(lengths=sorted(sizes)))
        return rows, nums, given, sizes

    def initial(self, values: Mapping[Any, Any] | None = None, *, batch: int | None = None) -> tuple[np.ndarray, bool]:
        """The value matrix with the leaves filled in (graph values, overridden by ``values``).

        Returns ``(V, scalar)``; ``scalar`` is True when no value has a batch dimension.
        Raises GraphError for a name that is not an input, param or constant.
        """
        defaults = np.array(list(map(_VALUE, self._leaf_attrs)), dtype=float)  # fromiter is 5× slower
        rows, nums, given, sizes = self._read_values(values)
        scalar = batch is None and not sizes
        b = batch if batch is not None else (sizes.pop() if sizes else 1)
        V = self._buffer("V", self.n_nodes, b)
        V[self.leaves] = defaults[:, None]
        if rows:
            V[rows] = np.asarray(nums, dtype=float)[:, None]
        for r, arr in given:
            V[r] = arr
        return V, scalar

    def _run(self, V: np.ndarray, first_level: int = 1,
             fixes: Mapping[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None) -> None:
        """Fill V's op rows level by level from ``first_level`` (rows below stay as they are).

        ``fixes[level] = (rows, cols, vals)`` overwrites entries right after that level is computed
        (finite differences of intermediate nodes, seeds of path sums).
        """
        with np.errstate(all="ignore"):
            for li in range(first_level, self.n_levels):
                for grp in self.levels[li].groups:
                    V[grp.nodes] = grp.op.forward(*[V[a] for a in grp.args])
                if fixes and li in fixes:
                    rows, cols, vals = fixes[li]
                    V[rows, cols] = vals

    def _run_fused(self, V: np.ndarray) -> None:
        """Fill every op row of V by the fused plan (:meth:`fused`)."""
        with np.errstate(all="ignore"):
            for steps in self.fused()[1:]:
                for st in steps:
                    if st.chain:
                        X = V[st.operands]  # (chains, k + 1, batch)
                        st.op.running.accumulate(X, axis=1, out=X)
                        V[st.members] = X[:, 1:]
                    else:
                        V[st.nodes] = st.op.forward(*[V[a] for a in st.args])

    def _check_values(self, V: np.ndarray, source_text: str | None, scalar: bool) -> None:
        finite = np.isfinite(V).all(axis=1)
        if finite.all():
            return
        bad = np.flatnonzero(~finite & (self.level > 0))
        if bad.size == 0:
            return
        r = int(bad[0])
        v = self.order[r]
        args = [self._show(V[self.index[u]], scalar) for u in operands(self.graph, v)]
        raise nonfinite_error(self.graph, v, args, self._show(V[r], scalar), source_text=source_text)

    @staticmethod
    def _show(row: np.ndarray, scalar: bool) -> Any:
        return float(row[0]) if scalar else row

    def locals_matrix(self, V: np.ndarray, *, check: bool = True, source_text: str | None = None,
                      scalar: bool = False) -> np.ndarray:
        """(n_edges, batch) local derivatives ∂head/∂tail from the registry's partials.

        With ``check``, a non-finite local on an edge whose tail depends on an input or param
        raises the plain evaluator's EvaluationError (the first such edge in its order).
        """
        L = self._buffer("L", self.n_edges, V.shape[1])
        fused = self.fused()
        with np.errstate(all="ignore"):
            for val, e in self._const_edges:
                L[e] = val
            for steps in fused[1:]:
                for st in steps:
                    if st.edges_const:
                        continue
                    args = [V[a] for a in st.args]
                    out = V[st.nodes]
                    for partial, e in zip(st.op.partials, st.edges, strict=True):
                        L[e] = partial(out, *args)
        if check:
            finite = np.isfinite(L).all(axis=1)
            if not finite.all():
                bad = np.flatnonzero(~finite & self.live[self.tail])
                if bad.size:
                    first = int(bad[np.argmin(self.edge_rank[bad])])
                    v = self.order[int(self.head[first])]
                    args = [self._show(V[self.index[u]], scalar) for u in operands(self.graph, v)]
                    raise nonfinite_error(self.graph, v, args, self._show(L[first], scalar),
                                          source_text=source_text, what="local")
        return L

    def backward_matrix(self, L: np.ndarray, output: Any) -> np.ndarray:
        """(n_nodes, batch) ∂output/∂node by reverse accumulation over the local derivatives."""
        G = self._buffer("G", self.n_nodes, L.shape[1])
        G.fill(0.0)
        G[self.row(output)] = 1.0
        with np.errstate(all="ignore"):
            for bl in self._fused_plan(output):
                if bl.dst is not None:
                    G[bl.dst] = G[bl.src]
                if bl.edges.size:
                    bl.scatter.add(G, G[bl.heads] * L[bl.edges])
        return G

    # ---- public passes ------------------------------------------------------------------------
    def _fast(self) -> _Fast:
        """The fast plan (dense blocks, a compact work matrix), made on first use and kept."""
        if self._fast_plan is None:
            self._fast_plan = _Fast(self)
        return self._fast_plan

    def forward(self, values: Mapping[Any, Any] | None = None, *, batch: int | None = None,
                check: bool = True, source_text: str | None = None) -> Run:
        """Every node's value for ``values`` (numbers broadcast; 1-D arrays are a batch).

        The pass runs the fast plan in its exact form: every value bit for bit the plain
        evaluator's (a block's products one by one, summed in its chains' order), so drawings,
        path listings and JSON never depend on a BLAS's summation order, but with a block's or a
        chain's products and links computed without rows of their own. ``Run.value`` reads the
        rows that later steps read; the full value matrix ``Run.V`` (every product and chain link
        too) is made on first access. A batched value for a leaf that the plan reads as a number
        (a weight) takes the level-by-level pass instead.
        """
        fast = self._fast()
        prep = fast.prepare(values, batch)
        output = self.graph.graph.get("output")
        if prep is None:
            V, scalar = self.initial(values, batch=batch)
            self._run_fused(V)
            if check:
                self._check_values(V, source_text, scalar)
            return Run(self, V, None, None, scalar, output)
        S, given, B, scalar = prep
        with np.errstate(all="ignore"):
            U = fast.forward(S, given, B, exact=True)
            finite = fast.finite(U)
        run = Run(self, None, None, None, scalar, output, lazy=(U, S, given, B))
        if check and not finite:
            self._check_values(run.V, source_text, scalar)
        return run

    def forward_backward(self, values: Mapping[Any, Any] | None = None, *, output: Any = None,
                         batch: int | None = None, check: bool = True,
                         source_text: str | None = None) -> Run:
        """Values, local derivatives and ∂output/∂node for every node, batched (every matrix made
        now; :meth:`gradient_totals` is the fast way to the params' gradients)."""
        output = self.graph.graph.get("output") if output is None else output
        run = self.forward(values, batch=batch, check=check, source_text=source_text)
        run.output = output
        run.L = self.locals_matrix(run.V, check=check, source_text=source_text, scalar=run.scalar)
        run.G = self.backward_matrix(run.L, output)
        return run

    def gradient_totals(self, values: Mapping[Any, Any] | None = None, wrt: Sequence[Any] = (), *,
                        output: Any = None, check: bool = True, source_text: str | None = None) -> Run:
        """Values and, in ``run.totals``, ∂(Σ over the batch of output)/∂w for every leaf w of ``wrt``.

        One fast forward pass and one backward sweep over the fast plan: a dense block's gradients
        are two matrix products (Wᵀ·Gz to its inputs, Gz·Xᵀ summed over the batch to its
        weights), and no per-edge local derivative is stored. ``run.V``, ``run.L`` and ``run.G``
        (per sample, every node and edge) are made on first access. Non-finite values and local
        derivatives raise the plain evaluator's errors, as :meth:`forward_backward` does.

        >>> from graphtrace import parse
        >>> p = compile_graph(parse("x: input = 3\\nw: param = 2\\ny = w*x*x").nx)
        >>> p.gradient_totals({"x": [1.0, 2.0]}, ["w"]).totals.tolist()  # Σ x² over the batch
        [5.0]
        """
        output = self.graph.graph.get("output") if output is None else output
        rows = tuple(self.row(w) for w in wrt)
        fast = self._fast()
        plan = fast.backward(self.row(output), rows)
        prep = fast.prepare(values, None) if plan is not None else None
        if plan is None or prep is None:
            run = self.forward_backward(values, output=output, check=check, source_text=source_text)
            assert run.G is not None
            run.totals = run.G[list(rows)].sum(axis=1) if rows else np.zeros(0)
            return run
        S, given, B, scalar = prep
        with np.errstate(all="ignore"):
            U = fast.forward(S, given, B)
            finite = fast.finite(U)
            _GU, GS = fast.run_backward(plan, U, S, B)
            totals = GS[plan.wrt_s]
            bad = not math.isfinite(float(totals.sum())) or not fast.locals_finite(plan, U, S)
        run = Run(self, None, None, None, scalar, output, lazy=(U, S, given, B), backward=True)
        if check and not finite:
            self._check_values(run.V, source_text, scalar)
        if check and bad:
            # A non-finite local makes a non-finite gradient below it: look for it edge by edge.
            self.locals_matrix(run.V, check=True, source_text=source_text, scalar=scalar)
        run.totals = totals
        return run

    def stepper(self, inputs: Sequence[Any], params: Sequence[Any], *, output: Any = None,
                source_text: str | None = None) -> Stepper:
        """A training step for batches of ``inputs`` and a vector of ``params``, made once.

        >>> from graphtrace import parse
        >>> st = compile_graph(parse("x: input = 1\\nw: param = 3\\nL = (w*x)**2").nx).stepper(["x"], ["w"])
        >>> loss, grads = st.step(np.array([[1.0, 2.0]]), np.array([3.0]))
        >>> loss, grads.tolist()  # mean of 9, 36; of 6, 24
        (22.5, [15.0])
        """
        output = self.graph.graph.get("output") if output is None else output
        return Stepper(self, inputs, params, output, source_text)

    # ---- many columns at once -----------------------------------------------------------------
    def _chunks(self, rows: Sequence[int], per: int, limit: int | None) -> list[list[int]]:
        """Positions of ``rows`` split so that one chunk's matrix stays under the memory bound."""
        cap = max(1, (limit or CHUNK_BYTES) // (8 * max(1, self.n_nodes) * per))
        ranked = sorted(range(len(rows)), key=lambda k: (int(self.level[rows[k]]), k))
        return [ranked[i:i + cap] for i in range(0, len(ranked), cap)]

    def perturbed_outputs(self, base: np.ndarray, rows: Sequence[int], steps: Sequence[float], output: Any,
                          *, limit: int | None = None) -> np.ndarray:
        """Output values with node ``rows[k]`` shifted by ``+steps[k]`` and ``-steps[k]``.

        ``base`` is a (n_nodes, 1) value matrix. Returns (len(rows), 2): column 0 the ``+`` run,
        column 1 the ``-`` run. All runs are columns of batched forward passes, chunked by
        ``limit`` bytes; a leaf is overwritten before the pass, an op node right after its level.
        """
        out = self.row(output)
        result = np.empty((len(rows), 2))
        chunks = self._chunks(rows, 2, limit)
        buffer = np.empty((self.n_nodes, 2 * max((len(c) for c in chunks), default=0)))
        for chunk in chunks:
            c = len(chunk)
            V = buffer[:, :2 * c]  # one buffer for every chunk: fresh pages cost more than the copy
            V[:] = base
            crow = np.asarray([rows[k] for k in chunk], dtype=np.int64)
            h = np.asarray([steps[k] for k in chunk], dtype=float)
            x = base[crow, 0]
            cols = np.arange(2 * c)
            prow = np.repeat(crow, 2)
            pval = np.empty(2 * c)
            pval[0::2] = x + h
            pval[1::2] = x - h
            fixes: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
            lev = self.level[prow]
            leaf = lev == 0
            V[prow[leaf], cols[leaf]] = pval[leaf]
            for li in np.unique(lev[~leaf]):
                m = lev == li
                fixes[int(li)] = (prow[m], cols[m], pval[m])
            start = self._first_consumer(prow[leaf])
            if not leaf.all():
                start = min(start, int(lev[~leaf].min()))
            self._run(V, max(1, start), fixes)
            result[chunk, 0] = V[out, 0::2]
            result[chunk, 1] = V[out, 1::2]
        return result

    def _first_consumer(self, rows: np.ndarray) -> int:
        """The lowest level of an op that uses one of the leaf ``rows``."""
        if rows.size == 0:
            return self.n_levels
        mask = np.zeros(self.n_nodes, dtype=bool)
        mask[rows] = True
        hits = self.head[mask[self.tail]]
        return int(self.level[hits].min()) if hits.size else self.n_levels

    def tangents(self, L: np.ndarray | None, rows: Sequence[int], output: Any, *,
                 limit: int | None = None) -> np.ndarray:
        """Forward-mode path DP: for each ``rows[k]``, the sum over all its paths to ``output``.

        Column k starts with 1 at ``rows[k]``; each node's entry is the sum, over its in-edges, of
        the tail's entry times the edge's local (``L``, a (n_edges, 1) matrix), so the output's
        entry is the sum over paths of the products of local derivatives: a forward sweep that
        shares nothing with backprop. With ``L=None`` every local is 1 and the entries are path
        counts (float64: exact while below 2^53; :meth:`path_totals` checks that).
        """
        out = self.row(output)
        Lz = None
        if L is not None:
            # Non-finite locals only sit on edges out of constant-only subtrees (the evaluator
            # refuses them elsewhere); no path from an input or param crosses them.
            Lz = np.where(np.isfinite(L[:, 0]), L[:, 0], 0.0)[:, None]
        result = np.zeros(len(rows))
        for chunk in self._chunks(rows, 1, limit):
            crow = np.asarray([rows[k] for k in chunk], dtype=np.int64)
            result[chunk] = self._sweep(Lz, crow, out, float)
        return result

    def path_totals(self, L: np.ndarray, rows: Sequence[int], output: Any, *,
                    limit: int | None = None) -> tuple[list[float], list[int], list[list[int]], list[int]]:
        """Sum over paths and exact path count from every ``rows[k]`` to ``output``, all at once.

        Paths from a node whose only out-edge (towards the output) is u→v are that edge followed by
        the paths from v, so each node first walks its chain of single out-edges, multiplying the
        locals forward, to the chain's end (a node with several out-edges, or the output); then one
        batched forward DP (:meth:`tangents`) runs from the distinct chain ends only (in an MLP,
        one column per neuron instead of one per weight). Sum = chain product × the end's sum;
        count = the end's count (exact Python ints; integer arithmetic where float64 would not be).

        Returns ``(sums, counts, chains, ends)``: ``chains[k]`` the rows walked (``rows[k]``
        first), ``ends[k]`` the chain end's row, or -1 when no path leads to the output.
        """
        out = self.row(output)
        anc = self.ancestors(output)
        useful = np.flatnonzero(anc[self.head])
        outdeg = np.bincount(self.tail[useful], minlength=self.n_nodes)
        only = np.full(self.n_nodes, -1, dtype=np.int64)
        only[self.tail[useful]] = useful  # the out-edge, where outdeg is 1
        outdeg_l, only_l, head_l = outdeg.tolist(), only.tolist(), self.head.tolist()
        loc = L[:, 0].tolist()
        factors: list[float] = []
        chains: list[list[int]] = []
        ends: list[int] = []
        for r in rows:
            v, prod, chain = int(r), 1.0, [int(r)]
            while v != out and outdeg_l[v] == 1:
                e = only_l[v]
                prod = prod * loc[e]
                v = head_l[e]
                chain.append(v)
            reached = v == out or (outdeg_l[v] > 0 and bool(anc[v]))
            factors.append(prod)
            chains.append(chain)
            ends.append(v if reached else -1)
        distinct = sorted({e for e in ends if e >= 0})
        at = {e: i for i, e in enumerate(distinct)}
        end_sums = self.tangents(L, distinct, output, limit=limit)
        end_counts = self.tangents(None, distinct, output, limit=limit)
        exact: list[int]
        if end_counts.size and float(end_counts.max()) >= _EXACT / 2:
            exact = self.exact_counts(distinct, output)
        else:
            exact = [int(x) for x in end_counts.tolist()]
        sums = [f * float(end_sums[at[e]]) if e >= 0 else 0.0 for f, e in zip(factors, ends, strict=True)]
        counts = [exact[at[e]] if e >= 0 else 0 for e in ends]
        return sums, counts, chains, ends

    def best_paths(self, L: np.ndarray, wrt: Any, output: Any, top: int) -> list[tuple[list[int], float]]:
        """The ``top`` paths from ``wrt`` to ``output`` by |product|, best first, as (edges, product).

        The k-best dynamic program of :func:`graphtrace.paths.top_paths`, vectorized per (level,
        op) group: every node keeps its ``top`` best partial paths (|product|, product and a
        back-pointer); candidates are ranked by a stable sort, so ties keep the reference's order
        (slot, then rank). Cost is about edges × top, whatever the number of paths.
        """
        w, out = self.row(wrt), self.row(output)
        if top <= 0:
            return []
        keep = self.ancestors(output) & self.descendants([w])
        if not keep[out]:
            return []
        n, K = self.n_nodes, top
        A = np.full((n, K), -1.0)  # |product| of the entry; -1 marks no entry
        P = np.zeros((n, K))
        back_edge = np.full((n, K), -1, dtype=np.int64)
        back_rank = np.zeros((n, K), dtype=np.int64)
        A[w, 0] = P[w, 0] = 1.0
        loc = L[:, 0]
        with np.errstate(all="ignore"):
            for li in range(int(self.level[w]) + 1, self.n_levels):
                for grp in self.levels[li].groups:
                    m = keep[grp.nodes]
                    if not m.any():
                        continue
                    pos = np.flatnonzero(m)
                    nodes = grp.nodes[pos]
                    ca, cp, ce, cr = [], [], [], []
                    for j, a in enumerate(grp.args):
                        tails = a[pos]
                        e = grp.edge0 + j * grp.size + pos
                        f = loc[e][:, None]
                        ta = A[tails]
                        ca.append(np.where(ta >= 0, ta * np.abs(f), -1.0))
                        cp.append(P[tails] * f)
                        ce.append(np.broadcast_to(e[:, None], ta.shape))
                        cr.append(np.broadcast_to(np.arange(K), ta.shape))
                    CA = np.concatenate(ca, axis=1)
                    pick = np.argsort(-CA, axis=1, kind="stable")[:, :K]
                    A[nodes] = np.take_along_axis(CA, pick, axis=1)
                    P[nodes] = np.take_along_axis(np.concatenate(cp, axis=1), pick, axis=1)
                    back_edge[nodes] = np.take_along_axis(np.concatenate(ce, axis=1), pick, axis=1)
                    back_rank[nodes] = np.take_along_axis(np.concatenate(cr, axis=1), pick, axis=1)
        found = []
        for r in range(K):
            if A[out, r] < 0:
                break
            edges: list[int] = []
            v, k = out, r
            while v != w:
                step = int(back_edge[v, k])
                edges.append(step)
                v, k = int(self.tail[step]), int(back_rank[v, k])
            edges.reverse()
            found.append((edges, float(P[out, r])))
        return found

    def exact_counts(self, rows: Sequence[int], output: Any) -> list[int]:
        """Path counts in exact integer arithmetic (Python ints in an object matrix)."""
        out = self.row(output)
        return [int(x) for x in self._sweep(None, np.asarray(rows, dtype=np.int64), out, object)]

    def _sweep(self, Lz: np.ndarray | None, crow: np.ndarray, out: int, dtype: Any) -> np.ndarray:
        c = len(crow)
        T = np.zeros((self.n_nodes, c), dtype=dtype)
        cols = np.arange(c)
        seeds: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        lev = self.level[crow]
        T[crow, cols] = 1
        for li in np.unique(lev[lev > 0]):
            m = lev == li
            seeds[int(li)] = (crow[m], cols[m], np.ones(int(m.sum()), dtype=dtype))
        first = max(1, int(lev.min()))
        for li in range(first, self.n_levels):
            for grp in self.levels[li].groups:
                k = grp.size
                acc = None
                for j, a in enumerate(grp.args):
                    term = T[a]
                    if Lz is not None:
                        s = grp.edge0 + j * k
                        term = term * Lz[s:s + k]
                    acc = term if acc is None else acc + term
                T[grp.nodes] = acc
            if li in seeds:
                rows, cl, vals = seeds[li]
                T[rows, cl] = vals
        if Lz is None and dtype is float:
            # Counts are sums of non-negative terms, so no partial sum exceeds the largest entry:
            # when every entry is below 2^53, every float64 addition was exact.
            top = float(T.max(initial=0.0))
            if top >= _EXACT:
                return np.full(c, _EXACT)
        return T[out]

    def reach(self, rows: Sequence[int], targets: Sequence[int], *, limit: int | None = None) -> np.ndarray:
        """(len(rows), len(targets)) True where a path leads from ``rows[k]`` to ``targets[t]``."""
        res = np.zeros((len(rows), len(targets)), dtype=bool)
        if not targets:
            return res
        tgt = np.asarray(targets, dtype=np.int64)
        for chunk in self._chunks(rows, 1, limit):
            crow = np.asarray([rows[k] for k in chunk], dtype=np.int64)
            R = np.zeros((self.n_nodes, len(crow)), dtype=bool)
            R[crow, np.arange(len(crow))] = True
            for li in range(max(1, int(self.level[crow].min())), self.n_levels):
                for grp in self.levels[li].groups:
                    hit = R[grp.args[0]]
                    for a in grp.args[1:]:
                        hit = hit | R[a]
                    R[grp.nodes] |= hit
            res[chunk] = R[tgt].T
        return res


# ---- dense blocks and the fast plan -----------------------------------------------------------
_DENSE_CELLS = 1 << 16
"""A count matrix (targets × sources) up to this many cells sums duplicate targets with one
matrix product; a bigger one sums them by sort and ``reduceat``."""

_OP, _INPUT, _PARAM, _CONST = 0, 1, 2, 3  # node kinds, as codes


def _span(rows: np.ndarray) -> slice | None:
    """``rows`` as a slice when they are consecutive and ascending, else None."""
    n = int(rows.size)
    if n == 0:
        return slice(0, 0)
    a = int(rows[0])
    if int(rows[-1]) - a == n - 1 and (n == 1 or bool(np.all(np.diff(rows) == 1))):
        return slice(a, a + n)
    return None


def _rows_of(rows: np.ndarray) -> Any:
    """A function ``M -> M[rows]``: a view for consecutive rows, else one ``take``."""
    sl = _span(rows)
    if sl is not None:
        return lambda M: M[sl]
    idx = np.ascontiguousarray(rows, dtype=np.int64)
    return lambda M: M.take(idx, axis=0)


def _column_of(positions: np.ndarray, collapse: bool) -> Any:
    """A function ``S -> S[positions]`` as a (k, 1) column that broadcasts against a batch; with
    ``collapse``, a plain number when the k entries are equal (``x**2``: numpy squares, where an
    array exponent takes the general power)."""
    get = _rows_of(positions)
    if not collapse:
        return lambda S: get(S)[:, None]

    def column(S: np.ndarray) -> Any:
        c = get(S)
        if c.size == 1 or bool((c == c[0]).all()):
            return float(c[0])
        return c[:, None]
    return column


def _summer(targets: np.ndarray, sources: np.ndarray, n_sources: int) -> tuple[np.ndarray, Any]:
    """``(rows, fn)``: ``fn(C)`` adds up the rows ``C[sources[k]]`` per distinct target, one result
    row per entry of ``rows``; ``fn`` is None when that is ``C`` itself (every source once, each
    to its own target).
    """
    uniq, inv = np.unique(targets, return_inverse=True)
    if uniq.size == targets.size and sources.size == n_sources:
        if np.array_equal(sources, np.arange(n_sources)):
            return targets, None
        if np.array_equal(np.sort(sources), np.arange(n_sources)):
            return targets[np.argsort(sources)], None  # result row j is C[j]
    if uniq.size * n_sources <= _DENSE_CELLS:
        M = np.zeros((uniq.size, n_sources))
        np.add.at(M, (inv, sources), 1.0)
        return uniq, lambda C: np.dot(M, C)
    order = np.lexsort((sources, inv))
    src, t = sources[order], inv[order]
    starts = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))
    return uniq, lambda C: np.add.reduceat(C.take(src, axis=0), starts, axis=0)


def _distinct(rows: np.ndarray) -> bool:
    """Whether no entry of ``rows`` repeats (``np.unique`` without flags would import numpy.ma)."""
    s = np.sort(rows, kind="stable")
    return bool(np.all(s[1:] != s[:-1]))


def _batch_sum(C: np.ndarray) -> np.ndarray:
    """The rows of C summed over the batch (for one sample, the column itself)."""
    return C[:, 0] if C.shape[1] == 1 else C.sum(axis=1)


def _depositor(rows: np.ndarray, add: bool) -> Any:
    """A function ``(G, C)`` that writes (or, with ``add``, adds) ``C`` into G's distinct ``rows``."""
    sl = _span(rows)
    if sl is not None:
        if add:
            def add_span(G: np.ndarray, C: Any) -> None:
                G[sl] += C
            return add_span

        def set_span(G: np.ndarray, C: Any) -> None:
            G[sl] = C
        return set_span
    idx = np.ascontiguousarray(rows, dtype=np.int64)
    if add:
        def add_rows(G: np.ndarray, C: Any) -> None:
            G[idx] += C
        return add_rows

    def set_rows(G: np.ndarray, C: Any) -> None:
        G[idx] = C
    return set_rows


def _vector_adder(positions: np.ndarray) -> Any:
    """A function ``(GS, c)`` adding the vector ``c`` into GS at ``positions`` (repeats add up)."""
    sl = _span(positions)
    if sl is not None:
        def add_span(GS: np.ndarray, c: np.ndarray) -> None:
            GS[sl] += c
        return add_span
    idx = np.ascontiguousarray(positions, dtype=np.int64)
    if _distinct(idx):
        def add_rows(GS: np.ndarray, c: np.ndarray) -> None:
            GS[idx] += c
        return add_rows

    def add_at(GS: np.ndarray, c: np.ndarray) -> None:
        np.add.at(GS, idx, c)
    return add_at


class _Block:
    """A dense block: m add chains of one length whose operands at positions ``pos`` are products
    w·x, the x shared by all m chains and the w leaves: the chains' ends are Z = W·X (+ the other
    operands), one matrix product (m × q)·(q × batch).

    ``members`` (m, k) and ``operands`` (m, k + 1) are the chains' rows, as in the fused plan;
    ``products`` (m, q) the product nodes, ``W`` (m, q) their weight operands (leaves) on slot
    ``side`` of the products, ``X`` (q,) the shared operands, ``other`` the positions that are not
    products of the block. A single chain (m = 1, a neuron's dot product, its products first) is
    ``exact``: its products come from the registry's forward and are summed in the chain's order,
    bit for bit the plain evaluator's sum, in as few numpy calls as a block. A block with ``fold``
    computes [W b]·[X; 1]: its bias column is one more column of weights.
    """

    __slots__ = ("op", "product_op", "members", "operands", "pos", "other", "products", "W", "X", "side",
                 "exact", "fold")

    def __init__(self, op: Op, product_op: Op, members: np.ndarray, operands: np.ndarray, pos: np.ndarray,
                 W: np.ndarray, X: np.ndarray, side: int):
        self.op = op
        self.product_op = product_op
        self.members = members
        self.operands = operands
        self.pos = pos
        rest = np.ones(operands.shape[1], dtype=bool)
        rest[pos] = False
        self.other = np.flatnonzero(rest)
        self.products = operands[:, pos]
        self.W = W
        self.X = X
        self.side = side
        self.exact = members.shape[0] == 1
        self.fold = False  # its one bias column rides in the matrix product (set by the layout)


class _Fast:
    """The fast plan of a :class:`CompiledGraph`: dense blocks, a compact work matrix, one closure
    per step.

    The fused steps (:meth:`CompiledGraph.fused`) become entries in forward order: plain op
    groups, chains that are in no block, and dense blocks (:class:`_Block`), whose products and
    chain links get no row at all. A pass works on two arrays: ``S``, every leaf's number (no batch
    axis), and ``U`` (rows × batch): the leaves that steps read per sample, then every entry's
    outputs, each entry's rows consecutive (so most operands are views, not gathers). Numbers that
    never vary over a batch stay in S: a block's W, read as an (m, q) matrix (a view: the layout
    puts a block's weights side by side), and an op's operand that is a param or constant for
    every node of its group, read as a (k, 1) column (a plain number when the constants are equal).
    The full value matrix (every node, in topological order) is made from U and S only when asked
    for (:meth:`materialise`): products by the registry's forward, chain links by the running
    op's accumulate, exactly as the fused plan computes them.

    Backward plans (:meth:`backward`) are made per (output, wrt) and kept: the gradient of every
    U row (GU, per sample) and of every leaf summed over the batch (GS); a block's W gets Gz·Xᵀ,
    the sum over the batch in the matrix product itself, never a per-sample row.
    """

    def __init__(self, prog: CompiledGraph):
        self.prog = prog
        n = prog.n_nodes
        rows_arr, codes, a0, a1, names = prog._op_arrays
        arg0 = np.full(n + 1, -1, dtype=np.int64)  # one spare entry: index -1 reads it
        arg1 = np.full(n + 1, -1, dtype=np.int64)
        arg0[rows_arr] = a0
        arg1[rows_arr] = a1
        nodes: Any = prog.graph._node
        kind_codes = {"input": _INPUT, "param": _PARAM, "const": _CONST}
        kind = np.zeros(n + 1, dtype=np.int64)
        kind[prog.leaves] = [kind_codes.get(nodes[prog.order[r]].get("kind"), _CONST) for r in prog.leaves.tolist()]
        self.kind = kind
        leaf = kind != _OP
        weight = leaf & (kind != _INPUT)  # a block's weights are numbers for the whole batch
        product = np.zeros(n + 1, dtype=bool)
        code_of = np.full(n + 1, -1, dtype=np.int64)
        code_of[rows_arr] = codes
        if rows_arr.size:
            product[rows_arr] = np.asarray([OPS[name].product for name in names], dtype=bool)[codes]
        used = np.concatenate((a0, a1[a1 >= 0]))
        outdeg = np.bincount(used, minlength=n + 1) if used.size else np.zeros(n + 1, dtype=np.int64)
        steps = [st for level in prog.fused()[1:] for st in level]

        # Dense blocks, among the chains of each chain step: chains whose products have one use
        # and a param or constant on one side (inputs vary over a batch), grouped by (product
        # positions, the other sides' rows, product op).
        blocks_of: dict[int, tuple[list[_Block], np.ndarray]] = {}
        internal = np.zeros(n, dtype=bool)  # products inside a block: no row, no step
        for si, st in enumerate(steps):
            if not st.chain or st.op.running is not np.add:
                continue
            assert st.members is not None and st.operands is not None
            ops_ = st.operands
            nch = ops_.shape[0]
            cand = product[ops_] & (outdeg[ops_] == 1)
            if not cand.any():
                continue
            free = np.ones(nch, dtype=bool)
            found: list[_Block] = []
            # Matrix products first (two chains or more, on either side), then single chains.
            for single, side in ((False, 0), (False, 1), (True, 0), (True, 1)):
                Wc = (arg0 if side == 0 else arg1)[ops_]
                Xc = (arg1 if side == 0 else arg0)[ops_]
                ok = cand & weight[Wc]
                groups: dict[tuple[bytes, bytes, bytes], list[int]] = {}
                for i in np.flatnonzero(free & ok.any(axis=1)).tolist():
                    pos = np.flatnonzero(ok[i])
                    key = (pos.tobytes(), Xc[i, pos].tobytes(), code_of[ops_[i, pos]].tobytes())
                    groups.setdefault(key, []).append(i)
                for chains in groups.values():
                    ch = np.asarray(chains, dtype=np.int64)
                    pos = np.flatnonzero(ok[ch[0]])
                    if (len(chains) == 1) != single:
                        continue
                    if single and not np.array_equal(pos, np.arange(pos.size)):
                        continue  # one dot product is summed in the chain's order: products first
                    free[ch] = False
                    pop = OPS[names[int(code_of[ops_[ch[0], pos[0]]])]]
                    blk = _Block(st.op, pop, st.members[ch], ops_[ch], pos, Wc[ch][:, pos], Xc[ch[0], pos], side)
                    internal[blk.products.ravel()] = True
                    found.append(blk)
            if found:
                blocks_of[si] = (found, free)
        self.blocks = [b for bl, _ in blocks_of.values() for b in bl]

        # Entries in forward order: ("plain", op, nodes, args, sources), ("chain", op, members,
        # operands), ("block", blk), ("alias", op, nodes, args). A plain entry's sources say per
        # slot where its operands are read: "U", "S" (params and constants), "C" (constants only).
        # An alias is the identity map (``linear``): its nodes share their operands' rows.
        entries: list[tuple[Any, ...]] = []
        for si, st in enumerate(steps):
            if st.chain:
                assert st.members is not None and st.operands is not None
                found, free = blocks_of.get(si, ([], np.ones(st.members.shape[0], dtype=bool)))
                if free.any():
                    entries.append(("chain", st.op, st.members[free], st.operands[free]))
                entries.extend(("block", b) for b in found)
                continue
            keep = ~internal[st.nodes]
            if not keep.any():
                continue
            nodes_e = st.nodes if keep.all() else st.nodes[keep]
            args_e = st.args if keep.all() else tuple(a[keep] for a in st.args)
            srcs = []
            for a in args_e:
                k = kind[a]
                srcs.append("C" if (k == _CONST).all() else "S" if ((k == _CONST) | (k == _PARAM)).all() else "U")
            if st.op.linear and st.op.arity == 1 and srcs[0] == "U":
                entries.append(("alias", st.op, nodes_e, args_e))
            else:
                entries.append(("plain", st.op, nodes_e, args_e, tuple(srcs)))
        self.entries = entries

        # Which leaves a pass reads per sample (U) and which only as numbers (S).
        s_only_uses: list[np.ndarray] = []
        u_uses: list[np.ndarray] = []
        outputs: list[np.ndarray] = []
        for e in entries:
            if e[0] == "plain":
                for a, src in zip(e[3], e[4], strict=True):
                    (u_uses if src == "U" else s_only_uses).append(a)
                outputs.append(e[2])
            elif e[0] == "alias":
                u_uses.append(e[3][0])
            elif e[0] == "chain":
                u_uses.append(e[3].T.ravel())
                outputs.append(e[2][:, -1])
            else:
                blk = e[1]
                s_only_uses.append(blk.W.ravel())
                u_uses.append(blk.X)
                for p in blk.other.tolist():
                    col = blk.operands[:, p]
                    (s_only_uses if leaf[col].all() else u_uses).append(col)
                outputs.append(blk.members[:, -1])
        lvl0 = prog.level == 0

        def first_use(parts: list[np.ndarray]) -> np.ndarray:
            if not parts:
                return np.zeros(0, dtype=np.int64)
            allr = np.concatenate(parts)
            allr = allr[lvl0[allr]]
            uniq, first = np.unique(allr, return_index=True)
            return uniq[np.argsort(first, kind="stable")]

        u_leaves = first_use(u_uses)
        u_ops = np.concatenate(outputs) if outputs else np.zeros(0, dtype=np.int64)
        base = np.concatenate((u_leaves, u_ops)).astype(np.int64)
        nul = int(u_leaves.size)

        # A block of one bias column folds the bias into its matrix product: W·X + b = [W b]·[X; 1],
        # with a row of ones right after X's rows in U and each bias after its weights' row in S
        # (a single chain then sums w1·x1, ..., wq·xq, b·1 in its order: b·1 is b exactly).
        prov = np.full(n, -1, dtype=np.int64)
        prov[base] = np.arange(base.size)
        bounds = set((nul + np.cumsum([o.size for o in outputs])).tolist()) if outputs else set()
        ones_at: set[int] = set()
        for blk in self.blocks:
            if blk.other.size != 1:
                continue
            col = blk.operands[:, int(blk.other[0])]
            wb = np.concatenate((blk.W, col[:, None]), axis=1).ravel()
            if not leaf[col].all() or not _distinct(wb):
                continue
            xs = _span(prov[blk.X])
            if xs is not None and (xs.stop <= nul or xs.stop in bounds):
                ones_at.add(int(xs.stop))
                blk.fold = True
        ones = np.asarray(sorted(ones_at), dtype=np.int64)
        ext = np.insert(base, ones, -1)
        real = ext >= 0
        self.u_rows = np.flatnonzero(real)
        self.u_nodes = ext[real]
        self.n_u = int(ext.size)
        self.n_uleaf = nul + int((ones <= nul).sum())
        one_rows = np.flatnonzero(~real)
        op_ones = one_rows[one_rows >= self.n_uleaf]
        self.op_ones: slice | np.ndarray | None = (_span(op_ones) or op_ones) if op_ones.size else None
        u_of = np.full(n, -1, dtype=np.int64)
        u_of[self.u_nodes] = self.u_rows
        for e in entries:
            if e[0] == "alias":
                u_of[e[2]] = u_of[e[3][0]]
        self.u_of = u_of
        self.aliases = np.concatenate([e[2] for e in entries if e[0] == "alias"] or [np.zeros(0, dtype=np.int64)])
        s_only = np.zeros(n, dtype=bool)
        for part in s_only_uses:
            s_only[part] = True
        self.s_only = s_only

        # S: every leaf, then a 1 (the folded biases' row of ones); each block's W consecutive
        # (row-major, m × q, or m × (q + 1) with its biases) where its leaves are distinct and met
        # first there, then the other params (all params side by side, for a training step), the
        # other numbers read from S, the U leaves in U order, and the rest.
        s_order: list[np.ndarray] = []
        placed = np.zeros(n, dtype=bool)
        for blk in self.blocks:
            w = self._w_rows(blk)
            if not placed[w].any() and _distinct(w):
                s_order.append(w)
                placed[w] = True
        params_first = [part[kind[part] == _PARAM] for part in [*s_only_uses, u_leaves, prog.leaves]]
        for part in [*params_first, *s_only_uses, u_leaves, prog.leaves]:
            fresh = part[~placed[part]]
            if fresh.size:
                fresh = fresh[np.sort(np.unique(fresh, return_index=True)[1])]
                s_order.append(fresh)
                placed[fresh] = True
        self.s_nodes = np.concatenate(s_order).astype(np.int64) if s_order else np.zeros(0, dtype=np.int64)
        one = int(self.s_nodes.size)
        self.n_s = one + 1
        s_of = np.full(n, -1, dtype=np.int64)
        s_of[self.s_nodes] = np.arange(one)
        self.s_of = s_of
        self.s_attrs = [nodes[prog.order[r]] for r in self.s_nodes.tolist()] + [{"value": 1.0}]
        us = np.full(self.n_uleaf, one, dtype=np.int64)
        leaf_rows = self.u_rows[self.u_rows < self.n_uleaf]
        us[leaf_rows] = s_of[ext[leaf_rows]]
        self.uleaf_s: slice | np.ndarray = _span(us) or np.ascontiguousarray(us)
        self.fwd = [self._forward_entry(e) for e in entries if e[0] != "alias"]
        self.fwd_exact = [self._forward_entry(e, True) for e in entries if e[0] != "alias"]
        self._backs: dict[tuple[int, tuple[int, ...]], _Back | None] = {}

        # What materialise recomputes: block products, then every chain's inner links.
        self.mat_products = [(b.product_op, b.products.ravel(), arg0[b.products.ravel()], arg1[b.products.ravel()])
                             for b in self.blocks]
        self.mat_chains = [(e[1], e[2], e[3]) for e in entries if e[0] == "chain"]
        self.mat_chains += [(b.op, b.members, b.operands) for b in self.blocks]

    # ---- forward --------------------------------------------------------------------------------
    def _operand(self, rows: np.ndarray, src: str) -> Any:
        """A function ``(U, S) -> operand``: rows of U, or a column of S."""
        if src == "U":
            urows = self.u_of[rows]
            sl = _span(urows)
            if sl is not None:
                return lambda U, S: U[sl]
            idx = np.ascontiguousarray(urows)
            return lambda U, S: U.take(idx, axis=0)
        col = _column_of(self.s_of[rows], src == "C")
        return lambda U, S: col(S)

    def _forward_entry(self, e: tuple[Any, ...], exact: bool = False) -> Any:
        u_of = self.u_of
        if e[0] == "plain":
            op, nodes, args, srcs = e[1], e[2], e[3], e[4]
            out = _span(u_of[nodes])
            assert out is not None  # an entry's outputs are consecutive rows of U
            f = op.forward
            gets = [self._operand(a, src) for a, src in zip(args, srcs, strict=True)]
            if len(gets) == 1:
                g0 = gets[0]

                def plain1(U: np.ndarray, S: np.ndarray) -> None:
                    U[out] = f(g0(U, S))
                return plain1
            g0, g1 = gets

            def plain2(U: np.ndarray, S: np.ndarray) -> None:
                U[out] = f(g0(U, S), g1(U, S))
            return plain2
        if e[0] == "chain":
            op, members, operands = e[1], e[2], e[3]
            ends = _span(u_of[members[:, -1]])
            assert ends is not None
            idx = np.ascontiguousarray(u_of[operands].T)  # (k + 1, chains)
            reduce, accumulate = op.running.reduce, op.running.accumulate
            several = members.shape[0] > 1

            def chain(U: np.ndarray, S: np.ndarray) -> None:
                X = U.take(idx, axis=0)  # (k + 1, chains, batch)
                if several or X.shape[2] > 1:
                    # Reduced over the outer axis, numpy adds row after row: the plain evaluator's
                    # additions, in its order (along a single contiguous axis it would sum pairwise).
                    reduce(X, axis=0, out=U[ends])
                else:
                    U[ends] = accumulate(X, axis=0)[-1]
            return chain
        blk: _Block = e[1]
        if exact or blk.exact:
            return self._exact_block(blk)
        z = _span(u_of[blk.members[:, -1]])
        assert z is not None
        wget = self._weights(blk)
        xget = self._x_rows(blk)
        adds = []
        for p in ([] if blk.fold else blk.other.tolist()):
            col = blk.operands[:, p]
            adds.append(self._operand(col, "S" if (self.kind[col] != _OP).all() else "U"))

        def block(U: np.ndarray, S: np.ndarray) -> None:
            Z = U[z]
            np.dot(wget(S), xget(U), out=Z)
            for a in adds:
                Z += a(U, S)
        return block

    def _exact_block(self, blk: _Block) -> Any:
        """The block's chain ends as the plain evaluator computes them: every product by the
        registry's forward (w·x, as a (terms, m, batch) array T), then the chain's additions in
        its order, row after row (numpy reduces the outer axis sequentially; a single value goes
        through ``accumulate``, as a lone contiguous axis would be summed pairwise)."""
        u_of = self.u_of
        z = _span(u_of[blk.members[:, -1]])
        assert z is not None
        m, q = blk.W.shape
        k1 = blk.operands.shape[1]
        f = blk.product_op.forward
        first = blk.side == 0
        wget = self._weights(blk)
        xget = self._x_rows(blk)
        reduce, accumulate = blk.op.running.reduce, blk.op.running.accumulate
        if blk.fold:
            # The folded columns are the products in chain order, then the bias times 1 (b·1 is b).
            perm = np.argsort(np.concatenate((blk.pos, blk.other)))
            order: np.ndarray | None = None if np.array_equal(perm, np.arange(k1)) else perm
            others: list[tuple[int, Any]] = []
        else:
            order = None
            others = [(p, self._operand(blk.operands[:, p], "S" if (self.kind[blk.operands[:, p]] != _OP).all()
                                        else "U")) for p in blk.other.tolist()]
        pos = _span(blk.pos) or blk.pos

        def exact(U: np.ndarray, S: np.ndarray) -> None:
            Wt = np.ascontiguousarray(wget(S).T)[:, :, None]  # (columns, m, 1)
            X = xget(U)[:, None, :]  # (columns, 1, batch)
            P = f(Wt, X) if first else f(X, Wt)
            if not P.flags.c_contiguous:  # the outer axis must be the slow one (see above)
                P = np.ascontiguousarray(P)
            if blk.fold:
                T = P if order is None else P.take(order, axis=0)
            else:
                T = np.empty((k1, m, P.shape[2]))
                T[pos] = P
                for p, g in others:
                    T[p] = g(U, S)
            if T.shape[1] * T.shape[2] > 1:
                reduce(T, axis=0, out=U[z])
            else:
                U[z] = accumulate(T, axis=0)[-1]
        return exact

    def _w_rows(self, blk: _Block) -> np.ndarray:
        """The block's weight leaves as S lays them out: W row-major, each bias after its row."""
        if blk.fold:
            return np.concatenate((blk.W, blk.operands[:, int(blk.other[0])][:, None]), axis=1).ravel()
        return blk.W.ravel()

    def _weights(self, blk: _Block) -> Any:
        """A function ``S -> W`` (m × q, or m × (q + 1) with the biases of a folded block): a view
        when its leaves are consecutive."""
        m = blk.W.shape[0]
        pos = self.s_of[self._w_rows(blk)]
        cols = pos.size // m
        sl = _span(pos)
        if sl is not None:
            return lambda S: S[sl].reshape(m, cols)
        idx = np.ascontiguousarray(pos)
        return lambda S: S.take(idx).reshape(m, cols)

    def _x_rows(self, blk: _Block) -> Any:
        """A function ``U -> X`` (q × batch, or (q + 1) × batch with the ones of a folded block)."""
        rows = self.u_of[blk.X]
        if blk.fold:
            return _rows_of(np.append(rows, rows[-1] + 1))
        return _rows_of(rows)

    def prepare(self, values: Mapping[Any, Any] | None, batch: int | None
                ) -> tuple[np.ndarray, list[tuple[int, np.ndarray]], int, bool] | None:
        """``(S, given, batch, scalar)`` for ``values``; None when a batched value sits where the
        plan reads a number (a weight, a param operand: the caller takes the level-by-level pass)."""
        S = np.array(list(map(_VALUE, self.s_attrs)), dtype=float)
        rows, nums, given, sizes = self.prog._read_values(values)
        if rows:
            S[self.s_of[rows]] = nums
        arrays = []
        for r, arr in given:
            if arr.ndim == 0:
                S[self.s_of[r]] = float(arr)
            else:
                if self.s_only[r]:
                    return None
                arrays.append((r, arr))
        scalar = batch is None and not sizes
        b = batch if batch is not None else (sizes.pop() if sizes else 1)
        return S, arrays, b, scalar

    def forward(self, S: np.ndarray, given: Sequence[tuple[int, np.ndarray]], B: int, *,
                exact: bool = False) -> np.ndarray:
        """The work matrix U of a pass (leaves from S and ``given``, then every entry): blocks as
        matrix products, or with ``exact`` every value bit for bit the plain evaluator's."""
        U = self.prog._buffer("U", self.n_u, B)
        U[:self.n_uleaf] = S[self.uleaf_s][:, None]
        if self.op_ones is not None:
            U[self.op_ones] = 1.0
        u_of = self.u_of
        for r, arr in given:
            ur = u_of[r]
            if ur >= 0:
                U[ur] = arr
        with np.errstate(all="ignore"):
            self.run_entries(U, S, exact=exact)
        return U

    def run_entries(self, U: np.ndarray, S: np.ndarray, *, exact: bool = False) -> None:
        """Every entry, in order (the caller silences numpy's floating-point warnings)."""
        for f in self.fwd_exact if exact else self.fwd:
            f(U, S)

    def finite(self, U: np.ndarray) -> bool:
        """Whether every op row of U is finite (a sum: one pass; an overflowing sum of finite
        values only sends the caller to the full check)."""
        return math.isfinite(float(U[self.n_uleaf:].sum()))

    def materialise(self, U: np.ndarray, S: np.ndarray, given: Sequence[tuple[int, np.ndarray]],
                    B: int) -> np.ndarray:
        """The full (n_nodes, batch) value matrix of the pass: U's rows, the leaves, and every block
        product and chain link recomputed from them."""
        prog = self.prog
        V = prog._buffer("V", prog.n_nodes, B)
        V[self.s_nodes] = S[:self.s_nodes.size, None]
        for r, arr in given:
            V[r] = arr
        V[self.u_nodes] = U[self.u_rows]
        if self.aliases.size:
            V[self.aliases] = U[self.u_of[self.aliases]]
        with np.errstate(all="ignore"):
            for op, rows, a, b in self.mat_products:
                V[rows] = op.forward(V[a], V[b])
            for op, members, operands in self.mat_chains:
                if members.shape[1] > 1:
                    X = V[operands]
                    op.running.accumulate(X, axis=1, out=X)
                    V[members[:, :-1]] = X[:, 1:-1]  # the chain's end came from U
        return V

    # ---- backward -------------------------------------------------------------------------------
    def backward(self, out: int, wrt: tuple[int, ...]) -> _Back | None:
        """The backward plan from ``out`` (a row) to the leaves ``wrt`` (rows), or None when
        ``out`` has no row of its own in U (a block's product or a chain's inner link, a leaf)."""
        key = (out, wrt)
        if key not in self._backs:
            self._backs[key] = self._build_backward(out, wrt) if self.u_of[out] >= self.n_uleaf else None
        return self._backs[key]

    def _build_backward(self, out: int, wrt: tuple[int, ...]) -> _Back:
        prog = self.prog
        u_of, s_of = self.u_of, self.s_of
        anc = prog.ancestors(prog.order[out])
        need = prog.descendants(list(wrt)) if wrt else np.zeros(prog.n_nodes, dtype=bool)
        act = anc & need
        written = np.zeros(self.n_u, dtype=bool)
        written[u_of[out]] = True
        zero: set[int] = set()

        def read(urows: np.ndarray) -> None:
            zero.update(urows[~written[urows]].tolist())

        def into(urows: np.ndarray, sources: np.ndarray, n_sources: int) -> Any:
            # First write of a row sets it, later ones add: GU needs no clearing.
            rows, summ = _summer(urows, sources, n_sources)
            w = written[rows]
            add = bool(w.any())
            if add and not w.all():
                zero.update(rows[~w].tolist())
            written[rows] = True
            dep = _depositor(rows, add)
            if summ is None:
                # A first write to consecutive rows: the caller may compute straight into them.
                return dep, None if add else _span(rows)
            return (lambda G, C: dep(G, summ(C))), None

        steps: list[Any] = []
        checks: list[Any] = []
        live = prog.live
        for e in reversed(self.entries):
            if e[0] == "alias":
                continue  # the identity's gradient lands in the row it shares with its operand
            if e[0] == "plain":
                op, nodes, args, srcs = e[1], e[2], e[3], e[4]
                sub = act[nodes]
                consts = _constant_partials(op)
                for j in range(op.arity):
                    tails = args[j]
                    m = sub & need[tails]
                    if consts[j] is None and not op.product:
                        # Locals that no gradient here multiplies but the evaluator checks (a
                        # product's are its finite operands; a constant partial is finite).
                        unchecked = ~m & live[tails]
                        if unchecked.any():
                            checks.append(self._local_check(op, j, nodes[unchecked],
                                                            tuple(a[unchecked] for a in args), srcs))
                    if not m.any():
                        continue
                    read(u_of[nodes[m]])
                    sub_args = tuple(a[m] for a in args)
                    if srcs[j] == "U":
                        k = int(m.sum())
                        dep, out_rows = into(u_of[tails[m]], np.arange(k), k)
                        steps.append(self._back_plain(op, j, consts[j], nodes[m], sub_args, srcs, dep, None,
                                                      out_rows))
                    else:  # params read from S: their gradient summed over the batch, into GS
                        steps.append(self._back_plain(op, j, consts[j], nodes[m], sub_args, srcs, None,
                                                      _vector_adder(s_of[tails[m]])))
            elif e[0] == "chain":
                members, operands = e[2], e[3]
                sub = act[members[:, -1]]
                if not sub.any():
                    continue
                ends = members[sub, -1]
                ops_ = operands[sub]
                m = need[ops_]
                if not m.any():
                    continue
                read(u_of[ends])
                src = np.broadcast_to(np.arange(ops_.shape[0])[:, None], ops_.shape)[m]
                dep, _ = into(u_of[ops_[m]], src, ops_.shape[0])
                gend = _rows_of(u_of[ends])
                steps.append(lambda U, S, GU, GS, gend=gend, dep=dep: dep(GU, gend(GU)))
            else:
                blk: _Block = e[1]
                ends = blk.members[:, -1]
                if not act[ends].any():
                    continue
                read(u_of[ends])
                steps.append(self._back_block(blk, need, into))
        leaves = np.asarray(sorted(set(wrt)), dtype=np.int64)
        inu = leaves[u_of[leaves] >= 0] if leaves.size else leaves
        inu = inu[written[u_of[inu]]] if inu.size else inu
        return _Back(steps, checks, np.asarray(sorted(zero), dtype=np.int64), int(u_of[out]),
                     _rows_of(u_of[inu]) if inu.size else None, _vector_adder(s_of[inu]) if inu.size else None,
                     s_of[np.asarray(wrt, dtype=np.int64)])

    def _back_plain(self, op: Op, j: int, const: float | None, nodes: np.ndarray,
                    args: tuple[np.ndarray, ...], srcs: tuple[str, ...], dep: Any, sadd: Any,
                    out: slice | None = None) -> Any:
        """Slot ``j`` of a plain group: Gout times the local, into GU (``dep``; straight into the
        rows ``out`` when it is their first write) or summed over the batch into GS (``sadd``)."""
        gout = _rows_of(self.u_of[nodes])
        if const is not None:
            if out is not None and sadd is None:
                if const == 1.0:
                    def copy(U: np.ndarray, S: np.ndarray, GU: np.ndarray, GS: np.ndarray) -> None:
                        GU[out] = gout(GU)
                    return copy
                return lambda U, S, GU, GS: np.multiply(gout(GU), const, out=GU[out])
            if const == 1.0:
                term = gout
            else:
                def term(GU: np.ndarray) -> np.ndarray:
                    return const * gout(GU)
            if sadd is not None:
                return lambda U, S, GU, GS: sadd(GS, _batch_sum(term(GU)))
            return lambda U, S, GU, GS: dep(GU, term(GU))
        partial = op.partials[j]
        gets = [self._operand(a, src) for a, src in zip(args, srcs, strict=True)]
        if len(gets) == 1:
            g0 = gets[0]

            def local(U: np.ndarray, S: np.ndarray) -> Any:
                return partial(gout(U), g0(U, S))
        else:
            g0, g1 = gets

            def local(U: np.ndarray, S: np.ndarray) -> Any:
                return partial(gout(U), g0(U, S), g1(U, S))
        if sadd is not None:
            return lambda U, S, GU, GS: sadd(GS, _batch_sum(gout(GU) * local(U, S)))
        if out is not None:
            return lambda U, S, GU, GS: np.multiply(gout(GU), local(U, S), out=GU[out])
        return lambda U, S, GU, GS: dep(GU, gout(GU) * local(U, S))

    def _local_check(self, op: Op, j: int, nodes: np.ndarray, args: tuple[np.ndarray, ...],
                     srcs: tuple[str, ...]) -> Any:
        outg = _rows_of(self.u_of[nodes])
        gets = [self._operand(a, src) for a, src in zip(args, srcs, strict=True)]
        partial = op.partials[j]

        def check(U: np.ndarray, S: np.ndarray) -> bool:
            return bool(np.isfinite(partial(outg(U), *[g(U, S) for g in gets])).all())
        return check

    def _back_block(self, blk: _Block, need: np.ndarray, into: Any) -> Any:
        u_of, s_of = self.u_of, self.s_of
        m, q = blk.W.shape
        gz = _rows_of(u_of[blk.members[:, -1]])
        wext = self._weights(blk)
        if blk.fold:
            def wget(S: np.ndarray) -> np.ndarray:
                return wext(S)[:, :q]
        else:
            wget = wext
        xget = self._x_rows(blk)
        dep_x, x_rows = into(u_of[blk.X], np.arange(q), q) if need[blk.X].any() else (None, None)
        w_rows = self._w_rows(blk)
        add_w = _vector_adder(s_of[w_rows]) if need[w_rows].any() else None
        s_adds = []
        u_deps = []
        for p in ([] if blk.fold else blk.other.tolist()):
            col = blk.operands[:, p]
            if not need[col].any():
                continue
            if (self.kind[col] != _OP).all():
                s_adds.append(_vector_adder(s_of[col]))
            else:
                u_deps.append(into(u_of[col], np.arange(m), m)[0])

        if blk.exact:
            wcol_ext = _column_of(s_of[w_rows], False)
            if blk.fold:
                def wcol(S: np.ndarray) -> np.ndarray:
                    return wcol_ext(S)[:q]
            else:
                wcol = wcol_ext

            def dot(U: np.ndarray, S: np.ndarray, GU: np.ndarray, GS: np.ndarray) -> None:
                Gz = gz(GU)
                if x_rows is not None:
                    np.multiply(wcol(S), Gz, out=GU[x_rows])  # each product's local: its weight
                elif dep_x is not None:
                    dep_x(GU, wcol(S) * Gz)
                if add_w is not None:
                    add_w(GS, np.dot(xget(U), Gz[0]))  # Σ over the batch of x·Gz
                if s_adds:
                    total = _batch_sum(Gz)
                    for add in s_adds:
                        add(GS, total)
                for dep in u_deps:
                    dep(GU, Gz)
            return dot

        def block(U: np.ndarray, S: np.ndarray, GU: np.ndarray, GS: np.ndarray) -> None:
            Gz = gz(GU)
            if x_rows is not None:
                np.dot(wget(S).T, Gz, out=GU[x_rows])
            elif dep_x is not None:
                dep_x(GU, np.dot(wget(S).T, Gz))
            if add_w is not None:
                add_w(GS, np.dot(Gz, xget(U).T).ravel())  # Σ over the batch of Gz·xᵀ (and of Gz·1)
            if s_adds:
                total = _batch_sum(Gz)
                for add in s_adds:
                    add(GS, total)
            for dep in u_deps:
                dep(GU, Gz)
        return block

    def run_backward(self, plan: _Back, U: np.ndarray, S: np.ndarray, B: int,
                     GU: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(GU, GS) of a pass: per-sample gradients of U's rows, batch sums for every leaf (the
        caller silences numpy's floating-point warnings: a non-finite value is checked for)."""
        if GU is None:
            GU = self.prog._buffer("GU", self.n_u, B)
        if plan.zero.size:
            GU[plan.zero] = 0.0
        GU[plan.out_u] = 1.0
        GS = np.zeros(self.n_s)
        for f in plan.steps:
            f(U, S, GU, GS)
        if plan.leaf_get is not None:
            plan.leaf_add(GS, _batch_sum(plan.leaf_get(GU)))
        return GU, GS

    def locals_finite(self, plan: _Back, U: np.ndarray, S: np.ndarray) -> bool:
        """Whether the locals that no gradient of ``plan`` multiplies are finite."""
        for check in plan.checks:
            if not check(U, S):
                return False
        return True


class _Back:
    """A backward plan of :class:`_Fast`: closures in reverse order, local checks, rows to zero,
    the output's row, the U leaves whose batch sums go to GS, and the S positions of ``wrt``."""

    __slots__ = ("steps", "checks", "zero", "out_u", "leaf_get", "leaf_add", "wrt_s")

    def __init__(self, steps: list[Any], checks: list[Any], zero: np.ndarray, out_u: int, leaf_get: Any,
                 leaf_add: Any, wrt_s: np.ndarray):
        self.steps = steps
        self.checks = checks
        self.zero = zero
        self.out_u = out_u
        self.leaf_get = leaf_get
        self.leaf_add = leaf_add
        self.wrt_s = wrt_s


class Stepper:
    """A training step compiled once: a batch of inputs as the rows of one array, the params as one
    vector, the mean output and the mean gradient of every param back (see
    :meth:`CompiledGraph.stepper`).

    ``params`` lists the params in the order that the vectors use (the plan's: a block's weights
    side by side), so a step copies the vector in and the gradients out as slices. Leaf values
    other than the inputs and params (constants, unbatched inputs) are read from the graph when the
    stepper is made; nothing per step builds a dictionary or reads a node attribute.
    """

    def __init__(self, prog: CompiledGraph, inputs: Sequence[Any], params: Sequence[Any], output: Any,
                 source_text: str | None = None):
        self.prog = prog
        fast = prog._fast()
        self.fast = fast
        self.inputs = list(inputs)
        ranked = sorted(params, key=lambda p: int(fast.s_of[prog.row(p)]))
        self.params: list[Any] = ranked
        self.output = output
        self.source_text = source_text
        in_rows = np.asarray([prog.row(x) for x in self.inputs], dtype=np.int64)
        p_rows = np.asarray([prog.row(p) for p in ranked], dtype=np.int64)
        self.in_rows = in_rows
        out = prog.row(output)
        self.plan = fast.backward(out, tuple(p_rows.tolist()))
        self.ok = self.plan is not None and not fast.s_only[in_rows].any()
        self.S = np.array(list(map(_VALUE, fast.s_attrs)), dtype=float)
        p_s = fast.s_of[p_rows]
        self.p_s: slice | np.ndarray = _span(p_s) or p_s
        in_u = fast.u_of[in_rows]
        self.sel = np.flatnonzero(in_u >= 0)
        dest = in_u[self.sel]
        self.dest: slice | np.ndarray = _span(dest) or dest
        self.all_inputs = self.sel.size == in_rows.size
        self.out_u = int(fast.u_of[out])
        self._work: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # U's leaf rows that are neither inputs nor params (constants, the folded biases' ones)
        # and its other rows of ones never change: written once per work matrix. Params that
        # steps read per sample are written every step.
        leaf_rows = np.arange(fast.n_uleaf)
        leaf_nodes = np.full(fast.n_uleaf, -1, dtype=np.int64)
        real = fast.u_rows < fast.n_uleaf
        leaf_nodes[fast.u_rows[real]] = fast.u_nodes[real]
        uleaf_s = np.arange(fast.n_s)[fast.uleaf_s]
        varies = np.zeros(fast.n_uleaf, dtype=bool)
        varies[in_u[self.sel]] = True
        per_step = (leaf_nodes >= 0) & (fast.kind[leaf_nodes] == _PARAM) & ~varies
        self.step_rows, self.step_s = leaf_rows[per_step], uleaf_s[per_step]
        self.once_rows, self.once_s = leaf_rows[~per_step & ~varies], uleaf_s[~per_step & ~varies]

    def _forward(self, X: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(U, GU) for a batch: the stepper's own matrices (nobody else sees them), U filled."""
        fast = self.fast
        S = self.S
        S[self.p_s] = P
        B = X.shape[1]
        work = self._work.get(B)
        if work is None:
            work = self._work[B] = (np.empty((fast.n_u, B)), np.empty((fast.n_u, B)))
            work[0][self.once_rows] = S[self.once_s][:, None]
            if fast.op_ones is not None:
                work[0][fast.op_ones] = 1.0
        U = work[0]
        if self.step_rows.size:
            U[self.step_rows] = S[self.step_s][:, None]
        U[self.dest] = X if self.all_inputs else X[self.sel]
        fast.run_entries(U, S)
        return work

    def _given(self, X: np.ndarray) -> list[tuple[int, np.ndarray]]:
        return [(int(r), X[i]) for i, r in enumerate(self.in_rows.tolist())]

    def _values(self, X: np.ndarray, P: np.ndarray) -> dict[Any, Any]:
        values: dict[Any, Any] = dict(zip(self.inputs, X, strict=True))
        values.update(zip(self.params, P.tolist(), strict=True))
        return values

    def step(self, X: np.ndarray, P: np.ndarray, *, check: bool = True) -> tuple[float, np.ndarray]:
        """The mean output over the batch ``X`` (one row per input, one column per sample) with the
        params ``P`` (in the order of :attr:`params`), and the mean ∂output/∂param of each.

        Raises the plain evaluator's EvaluationError for a non-finite value or local derivative.
        """
        prog, fast, plan = self.prog, self.fast, self.plan
        B = X.shape[1]
        if not self.ok or plan is None:
            run = prog.gradient_totals(self._values(X, P), self.params, output=self.output, check=check,
                                       source_text=self.source_text)
            assert run.totals is not None
            return float(np.mean(run.value(self.output))), run.totals / B
        S = self.S
        with np.errstate(all="ignore"):
            U, GU = self._forward(X, P)
            finite = fast.finite(U)
            GU, GS = fast.run_backward(plan, U, S, B, GU)
            grads = GS[self.p_s]
            bad = not math.isfinite(float(grads.sum())) or not fast.locals_finite(plan, U, S)
            loss = float(U[self.out_u].sum()) / B  # np.mean's sum and division
        if check and not finite:
            prog._check_values(fast.materialise(U, S, self._given(X), B), self.source_text, False)
        if check and bad:
            V = fast.materialise(U, S, self._given(X), B)
            prog.locals_matrix(V, check=True, source_text=self.source_text)
        grads /= B
        return loss, grads

    def value(self, node: Any, X: np.ndarray, P: np.ndarray) -> np.ndarray:
        """The value of ``node`` on every sample of ``X`` with the params ``P`` (no finiteness check:
        a far-away point may saturate)."""
        if not self.ok:
            return np.broadcast_to(self.prog.forward(self._values(X, P), check=False).value(node),
                                   (X.shape[1],)).copy()
        with np.errstate(all="ignore"):
            U, _ = self._forward(X, P)
        r = self.prog.row(node)
        u = self.fast.u_of[r]
        if u >= 0:
            return U[u].copy()
        return self.fast.materialise(U, self.S, self._given(X), X.shape[1])[r].copy()


class Run:
    """The result of a compiled pass: value matrix ``V`` and, after backward, ``L`` and ``G``.

    ``scalar`` runs (no batched input) give floats from :meth:`value` and :meth:`grad`; batched
    runs give 1-D arrays (one entry per sample). A fast pass (:meth:`CompiledGraph.forward`,
    :meth:`CompiledGraph.gradient_totals`) keeps its work matrix and makes ``V`` (and, after a
    backward sweep, ``L`` and ``G``) on first access: drawings, path listings and JSON get every
    node and edge, a training step never pays for them.
    """

    def __init__(self, program: CompiledGraph, V: np.ndarray | None, L: np.ndarray | None,
                 G: np.ndarray | None, scalar: bool, output: Any, *,
                 lazy: tuple[np.ndarray, np.ndarray, list[tuple[int, np.ndarray]], int] | None = None,
                 backward: bool = False):
        self.program = program
        self._V = V
        self._L = L
        self._G = G
        self.scalar = scalar
        self.output = output
        self._lazy = lazy  # (U, S, given, batch) of a fast pass
        self._backward = backward  # L and G are made on first access
        self.totals: np.ndarray | None = None

    @property
    def V(self) -> np.ndarray:
        """(n_nodes, batch) every node's value, rows in topological order."""
        if self._V is None:
            assert self._lazy is not None  # a run has a value matrix or a fast pass's work matrix
            self._V = self.program._fast().materialise(*self._lazy)
        return self._V

    @V.setter
    def V(self, V: np.ndarray) -> None:
        self._V = V

    @property
    def L(self) -> np.ndarray | None:
        """(n_edges, batch) every edge's local derivative, or None for a forward-only run."""
        if self._L is None and self._backward:
            self._L = self.program.locals_matrix(self.V, check=False)
        return self._L

    @L.setter
    def L(self, L: np.ndarray | None) -> None:
        self._L = L

    @property
    def G(self) -> np.ndarray | None:
        """(n_nodes, batch) ∂output/∂node for every node, or None for a forward-only run."""
        if self._G is None and self._backward:
            L = self.L
            assert L is not None
            self._G = self.program.backward_matrix(L, self.output)
        return self._G

    @G.setter
    def G(self, G: np.ndarray | None) -> None:
        self._G = G

    @property
    def batch(self) -> int:
        if self._V is None and self._lazy is not None:
            return int(self._lazy[3])
        return int(self.V.shape[1])

    def _pick(self, row: np.ndarray) -> Any:
        return float(row[0]) if self.scalar else row

    def value(self, name: Any) -> Any:
        """The value of node ``name``."""
        r = self.program.row(name)
        if self._V is None and self._lazy is not None:
            u = self.program._fast().u_of[r]
            if u >= 0:
                return self._pick(self._lazy[0][u])
        return self._pick(self.V[r])

    def grad(self, name: Any) -> Any:
        """∂output/∂``name`` (needs :meth:`CompiledGraph.forward_backward`)."""
        G = self.G
        if G is None:
            raise GraphError(_("this run has no gradients: use forward_backward"))
        return self._pick(G[self.program.row(name)])

    def values(self) -> dict[Any, Any]:
        """node → value, for every node in topological order."""
        return self._as_dict(self.V)

    def grads(self) -> dict[Any, Any]:
        """node → ∂output/∂node, for every node in topological order."""
        G = self.G
        if G is None:
            raise GraphError(_("this run has no gradients: use forward_backward"))
        return self._as_dict(G)

    def locals(self) -> dict[tuple[Any, Any, int], Any]:
        """(tail, head, slot) → local derivative, for every edge."""
        p = self.program
        L = self.L
        if L is None:
            L = self.L = p.locals_matrix(self.V, check=False)
        order = p.order
        rows = L[:, 0].tolist() if self.scalar else list(L)
        return {(order[t], order[h], s): x for t, h, s, x in
                zip(p.tail.tolist(), p.head.tolist(), p.slot.tolist(), rows, strict=True)}

    def _as_dict(self, M: np.ndarray) -> dict[Any, Any]:
        rows = M[:, 0].tolist() if self.scalar else list(M)
        return dict(zip(self.program.order, rows, strict=True))


def _operand_rows(op: Op, v: Any, into: Mapping[Any, Mapping[Any, Any]], index: Mapping[Any, int]) -> list[int]:
    """The rows of node ``v``'s operands in slot order, from its in-edges (keyed by slot)."""
    rows = [-1] * op.arity
    for u, keys in into.items():  # edge keys are argument slots
        for key in keys:
            if not (isinstance(key, int) and 0 <= key < op.arity and rows[key] < 0):
                raise GraphError(_("node '{node}' ({op}): bad operand slot {slot}").format(node=v, op=op.name, slot=repr(key)))
            rows[key] = index[u]
    if -1 in rows:
        raise GraphError(_("node '{node}' ({op}) has a missing operand, expected {n}").format(node=v, op=op.name, n=op.arity))
    return rows


def compile_graph(g: ComputationGraph) -> CompiledGraph:
    """The compiled :class:`CompiledGraph` of ``g``, cached on the graph.

    A graph with a ``version`` counter (graphtrace's ComputationGraph: it grows on every node or
    edge added or removed) keeps its program until the version changes. A plain networkx graph has
    no such counter, so it is compiled afresh on every call. Leaf values are read at every pass,
    so changing a ``value`` attribute needs no recompiling; changing an ``op`` attribute in place
    does (add or remove something, or call ``compile_graph`` on a copy).

    >>> from graphtrace import parse
    >>> g = parse("x: input = 2\\ny = sigmoid(x)").nx
    >>> compile_graph(g) is compile_graph(g)
    True
    """
    g = as_graph(g)  # networkx's face and graphtrace's graph share one compiled form
    version = g.version
    if version is None:
        return CompiledGraph(g)
    cached = g.__dict__.get("_graphtrace_program")
    if cached is not None and cached.version == version:
        return cached
    prog = CompiledGraph(g)
    g.__dict__["_graphtrace_program"] = prog
    return prog
