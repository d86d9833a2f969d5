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

Invariants: rows are positions in the topological order; edges are numbered level by level, then
group by group, then slot by slot, so every level's edges are one contiguous slice of ``Lc``; the
op registry (:mod:`graphtrace.ops`) stays the only place that knows any op's maths. Results equal
the reference oracles (:mod:`graphtrace.evaluate`, :mod:`graphtrace.backprop`, :mod:`graphtrace.paths`)
to rounding. Whether the engine or a reference oracle runs is decided in :mod:`graphtrace.compute`
alone.
"""

from __future__ import annotations

__all__ = ["CompiledGraph", "Run", "compile_graph", "CHUNK_BYTES"]

import operator
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from .errors import GraphError
from .evaluate import nonfinite_error
from .graph import operands, topological_order
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

    def __init__(self, g: nx.MultiDiGraph):
        self.graph = g
        self.version = getattr(g, "version", None)
        order = topological_order(g)
        self.order = order
        index = {v: i for i, v in enumerate(order)}
        self.index = index
        n = len(order)
        self.n_nodes = n
        nodes = g._node  # the raw dicts behind g.nodes and g.pred: views cost ~1 µs a lookup
        pred = g._pred
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
            rows = [-1] * op.arity
            for u, keys in pred[v].items():  # edge keys are argument slots
                for key in keys:
                    if not (isinstance(key, int) and 0 <= key < op.arity and rows[key] < 0):
                        raise GraphError(f"node '{v}' ({op.name}): bad operand slot {key!r}")
                    rows[key] = index[u]
            if -1 in rows:
                raise GraphError(f"node '{v}' ({op.name}) has a missing operand, expected {op.arity}")
            if op.arity > 2:
                raise GraphError(f"node '{v}': ops of more than two operands are not compiled")
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
        self.n_groups = len(gcodes)
        self.n_ops = len(op_rows)

    # ---- structure ----------------------------------------------------------------------------
    def row(self, name: Any) -> int:
        """The row of node ``name``."""
        try:
            return self.index[name]
        except KeyError:
            raise GraphError(f"'{name}' is not a node of the graph") from None

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
    def initial(self, values: Mapping[Any, Any] | None = None, *, batch: int | None = None) -> tuple[np.ndarray, bool]:
        """The value matrix with the leaves filled in (graph values, overridden by ``values``).

        Returns ``(V, scalar)``; ``scalar`` is True when no value has a batch dimension.
        Raises GraphError for a name that is not an input, param or constant.
        """
        nodes = self.graph._node  # the raw attribute dicts: the NodeView costs ~1 µs a lookup
        index = self.index
        defaults = np.array(list(map(_VALUE, self._leaf_attrs)), dtype=float)  # fromiter is 5× slower
        given: list[tuple[int, np.ndarray]] = []
        rows: list[int] = []  # plain numbers (training passes every param): one assignment for all
        nums: list[float] = []
        sizes = set()
        for name, val in (values or {}).items():
            kind = nodes[name].get("kind") if name in index else None
            if kind not in ("input", "param", "const"):
                what = "not a node of this graph" if kind is None else "computed, not an input or param"
                raise GraphError(f"cannot set '{name}': it is {what}")
            if type(val) is float or type(val) is int:
                rows.append(index[name])
                nums.append(val)
                continue
            arr = np.asarray(val, dtype=float)
            if arr.ndim > 1:
                raise GraphError(f"the value of '{name}' must be a number or a 1-D batch, got shape {arr.shape}")
            if arr.ndim == 1:
                sizes.add(arr.shape[0])
            given.append((index[name], arr))
        if len(sizes) > 1:
            raise GraphError(f"batched values have different lengths: {sorted(sizes)}")
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
    def forward(self, values: Mapping[Any, Any] | None = None, *, batch: int | None = None,
                check: bool = True, source_text: str | None = None) -> Run:
        """Every node's value for ``values`` (numbers broadcast; 1-D arrays are a batch)."""
        V, scalar = self.initial(values, batch=batch)
        self._run_fused(V)
        if check:
            self._check_values(V, source_text, scalar)
        return Run(self, V, None, None, scalar, self.graph.graph.get("output"))

    def forward_backward(self, values: Mapping[Any, Any] | None = None, *, output: Any = None,
                         batch: int | None = None, check: bool = True,
                         source_text: str | None = None) -> Run:
        """Values, local derivatives and ∂output/∂node for every node, batched."""
        output = self.graph.graph.get("output") if output is None else output
        run = self.forward(values, batch=batch, check=check, source_text=source_text)
        run.output = output
        run.L = self.locals_matrix(run.V, check=check, source_text=source_text, scalar=run.scalar)
        run.G = self.backward_matrix(run.L, output)
        return run

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


class Run:
    """The result of a compiled pass: value matrix ``V`` and, after backward, ``L`` and ``G``.

    ``scalar`` runs (no batched input) give floats from :meth:`value` and :meth:`grad`; batched
    runs give 1-D arrays (one entry per sample).
    """

    def __init__(self, program: CompiledGraph, V: np.ndarray, L: np.ndarray | None, G: np.ndarray | None,
                 scalar: bool, output: Any):
        self.program = program
        self.V = V
        self.L = L
        self.G = G
        self.scalar = scalar
        self.output = output

    @property
    def batch(self) -> int:
        return int(self.V.shape[1])

    def _pick(self, row: np.ndarray) -> Any:
        return float(row[0]) if self.scalar else row

    def value(self, name: Any) -> Any:
        """The value of node ``name``."""
        return self._pick(self.V[self.program.row(name)])

    def grad(self, name: Any) -> Any:
        """∂output/∂``name`` (needs :meth:`CompiledGraph.forward_backward`)."""
        if self.G is None:
            raise GraphError("this run has no gradients: use forward_backward")
        return self._pick(self.G[self.program.row(name)])

    def values(self) -> dict[Any, Any]:
        """node → value, for every node in topological order."""
        return self._as_dict(self.V)

    def grads(self) -> dict[Any, Any]:
        """node → ∂output/∂node, for every node in topological order."""
        if self.G is None:
            raise GraphError("this run has no gradients: use forward_backward")
        return self._as_dict(self.G)

    def locals(self) -> dict[tuple[Any, Any, int], Any]:
        """(tail, head, slot) → local derivative, for every edge."""
        p = self.program
        if self.L is None:
            self.L = p.locals_matrix(self.V, check=False)
        order = p.order
        rows = self.L[:, 0].tolist() if self.scalar else list(self.L)
        return {(order[t], order[h], s): x for t, h, s, x in
                zip(p.tail.tolist(), p.head.tolist(), p.slot.tolist(), rows, strict=True)}

    def _as_dict(self, M: np.ndarray) -> dict[Any, Any]:
        rows = M[:, 0].tolist() if self.scalar else list(M)
        return dict(zip(self.program.order, rows, strict=True))


def compile_graph(g: nx.MultiDiGraph) -> CompiledGraph:
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
    version = getattr(g, "version", None)
    if version is None:
        return CompiledGraph(g)
    cached = g.__dict__.get("_graphtrace_program")
    if cached is not None and cached.version == version:
        return cached
    prog = CompiledGraph(g)
    g.__dict__["_graphtrace_program"] = prog
    return prog
