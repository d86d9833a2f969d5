/* graphtrace explorer: step through forward and backward passes, list paths, edit values, train.
 *
 * Two parts. GraphtraceCore is pure maths (forward, backward, path sums, number formatting, steps,
 * training) over an op table that it is given: the page inlines that table, generated from the op
 * registry, as the global GRAPHTRACE_OPS just before this file, so no op's maths is written here.
 * Each entry is { f, d }: f(a, b) gives the op's value and d holds one partial(o, a, b) per
 * operand, taking the output first; a variadic op (softmax) has dv(o, args, slot) instead of d. The core runs under node too: there require() gives its
 * factory, to call with the table, so a test checks it against the Python engine to 1e-9. The page
 * part below it reads the JSON model, tags the texts of the inlined Graphviz SVG and restyles nodes
 * and edges by id (n<i>, e<i>_<j>_<slot>); the layout is never changed.
 */
(function (root, factory) {
  "use strict";
  if (typeof module === "object" && module && module.exports) {
    module.exports = factory;
  }
  if (root && root.GRAPHTRACE_OPS) {
    root.GraphtraceCore = factory(root.GRAPHTRACE_OPS);
  }
})(typeof window !== "undefined" ? window : (typeof globalThis !== "undefined" ? globalThis : null), function (OPS) {
  "use strict";
  if (!OPS || typeof OPS !== "object") {
    throw new Error("graphtrace explorer: no op table (GRAPHTRACE_OPS) was given");
  }

  /** The model's structure in arrays: operands per node, in-edges and out-edges per node. */
  function compile(model) {
    var n = model.nodes.length;
    var inEdges = [], outEdges = [], byId = {};
    for (var i = 0; i < n; i++) { inEdges.push([]); outEdges.push([]); }
    // The SVG ids, by the convention shared with the DOT writer: n<i>, e<tail>_<head>_<slot>.
    model.nodes.forEach(function (node, i) { node.index = i; node.id = "n" + i; });
    model.edges.forEach(function (e, k) {
      e.id = "e" + e.tail + "_" + e.head + "_" + e.slot;
      inEdges[e.head].push(k);
      outEdges[e.tail].push(k);
      byId[e.id] = k;
    });
    inEdges.forEach(function (list, i) {
      list.sort(function (a, b) { return model.edges[a].slot - model.edges[b].slot; });
      model.nodes[i].args = list.map(function (k) { return model.edges[k].tail; });
    });
    model.nodes.forEach(function (node) {
      if (node.kind === "op" && !OPS[node.op]) {
        throw new Error("unknown op " + node.op);
      }
    });
    return { model: model, n: n, nodes: model.nodes, edges: model.edges, inEdges: inEdges,
      outEdges: outEdges, edgeById: byId, output: model.output };
  }

  /** Every node's value and every edge's local derivative; `over` maps node index → value. */
  function forwardPass(m, over) {
    var n = m.n, nodes = m.nodes, values = new Array(n), bad = null;
    for (var i = 0; i < n; i++) {
      var node = nodes[i];
      if (node.kind !== "op") {
        values[i] = (over && Object.prototype.hasOwnProperty.call(over, i)) ? over[i] : node.value;
        continue;
      }
      var args = node.args.map(function (j) { return values[j]; });
      var out = OPS[node.op].f.apply(null, args);
      values[i] = out;
      if (bad === null && !isFinite(out)) { bad = i; }
    }
    var locals = new Array(m.edges.length);
    for (var k = 0; k < m.edges.length; k++) {
      var e = m.edges[k], head = nodes[e.head];
      var hargs = head.args.map(function (j) { return values[j]; });
      var hop = OPS[head.op];  // a variadic op (softmax) gives every slot's partial from one dv
      locals[k] = hop.dv ? hop.dv(values[e.head], hargs, e.slot)
        : hop.d[e.slot].apply(null, [values[e.head]].concat(hargs));
    }
    return { values: values, locals: locals, bad: bad };
  }

  /** ∂output/∂node for every node by reverse accumulation (0 where the output does not depend). */
  function backwardPass(m, fw, output) {
    var out = output === undefined ? m.output : output;
    var grads = new Array(m.n).fill(0), seen = new Array(m.n).fill(false);
    grads[out] = 1; seen[out] = true;
    for (var v = out; v >= 0; v--) {
      if (!seen[v]) { continue; }
      var list = m.inEdges[v];
      for (var q = 0; q < list.length; q++) {
        var e = m.edges[list[q]];
        grads[e.tail] += grads[v] * fw.locals[list[q]];
        seen[e.tail] = true;
      }
    }
    return grads;
  }

  /** Which nodes lie on some path wrt → output: reachable from wrt and reaching the output. */
  function onPathNodes(m, wrt, output) {
    var out = output === undefined ? m.output : output;
    var from = new Array(m.n).fill(false), to = new Array(m.n).fill(false), on = new Array(m.n).fill(false);
    from[wrt] = true;
    for (var v = wrt; v < m.n; v++) {
      if (!from[v]) { continue; }
      m.outEdges[v].forEach(function (k) { from[m.edges[k].head] = true; });
    }
    to[out] = true;
    for (var u = out; u >= 0; u--) {
      if (!to[u]) { continue; }
      m.inEdges[u].forEach(function (k) { to[m.edges[k].tail] = true; });
    }
    for (var i = 0; i < m.n; i++) { on[i] = from[i] && to[i]; }
    return on;
  }

  /** The course's path sum by a forward DP from wrt: the exact count (BigInt) and the sum. */
  function pathSum(m, fw, wrt, output) {
    var out = output === undefined ? m.output : output;
    var on = onPathNodes(m, wrt, out);
    var sum = new Array(m.n).fill(0), count = new Array(m.n).fill(BigInt(0));
    if (!on[wrt]) { return { count: BigInt(0), sum: 0, on: on }; }
    sum[wrt] = 1; count[wrt] = BigInt(1);
    for (var v = wrt + 1; v <= out; v++) {
      if (!on[v]) { continue; }
      var list = m.inEdges[v];
      for (var q = 0; q < list.length; q++) {
        var e = m.edges[list[q]];
        if (!on[e.tail]) { continue; }
        sum[v] += sum[e.tail] * fw.locals[list[q]];
        count[v] += count[e.tail];
      }
    }
    return { count: count[out], sum: sum[out], on: on };
  }

  /** Up to `cap` paths wrt → output (depth first, edges in slot order): nodes, edges, factors, product. */
  function enumeratePaths(m, fw, wrt, cap, output) {
    var out = output === undefined ? m.output : output;
    var on = onPathNodes(m, wrt, out), found = [], complete = true;
    if (!on[wrt]) { return { paths: [], complete: true }; }
    var stack = [[wrt, [wrt], [], [], 1]];
    while (stack.length) {
      var top = stack.pop(), v = top[0];
      if (v === out) {
        if (found.length >= cap) { complete = false; break; }
        found.push({ nodes: top[1], edges: top[2], factors: top[3], product: top[4] });
        continue;
      }
      var list = m.outEdges[v].filter(function (k) { return on[m.edges[k].head]; });
      for (var q = list.length - 1; q >= 0; q--) {
        var k = list[q], e = m.edges[k], f = fw.locals[k];
        stack.push([e.head, top[1].concat([e.head]), top[2].concat([k]), top[3].concat([f]), top[4] * f]);
      }
    }
    return { paths: found, complete: complete };
  }

  /** Python's f"{x:.4g}", as the drawing prints numbers: the one number format people see. */
  function formatNumber(x, digits) {
    digits = digits || 4;
    if (x === null || x === undefined) { return "?"; }
    if (x === 0) { return "0"; }
    if (!isFinite(x)) { return isNaN(x) ? "nan" : (x > 0 ? "inf" : "-inf"); }
    var s = x.toExponential(digits - 1), k = s.indexOf("e");
    var mant = s.slice(0, k), exp = parseInt(s.slice(k + 1), 10);
    if (exp < -4 || exp >= digits) {
      if (mant.indexOf(".") >= 0) { mant = mant.replace(/0+$/, "").replace(/\.$/, ""); }
      var ae = Math.abs(exp);
      return mant + "e" + (exp < 0 ? "-" : "+") + (ae < 10 ? "0" : "") + ae;
    }
    var f = x.toFixed(Math.max(0, digits - 1 - exp));
    if (f.indexOf(".") >= 0) { f = f.replace(/0+$/, "").replace(/\.$/, ""); }
    return f;
  }

  /**
   * The step-through script: the model's own list (graphtrace.steps builds it, with the sentences,
   * so the page, `graphtrace steps` and the Beamer overlays share one definition): a start step, one
   * step per operation in topological order, the seed ∂L/∂L = 1, one step per edge of the backward
   * sweep (heads in reverse topological order, operands by slot; constants skipped), done.
   */
  function buildSteps(m) {
    if (!m.model.steps) { throw new Error("graphtrace explorer: the model has no steps"); }
    return m.model.steps;
  }

  /** One step line's parts with its number slots filled in (see graphtrace/steps.py). */
  function fillParts(m, parts, st, fw) {
    function show(x) { return x === null || x === undefined ? "?" : formatNumber(x).replace(/^-/, "\u2212"); }
    function num(x, paren) { var s = show(x); return paren && x < 0 ? "(" + s + ")" : s; }
    return parts.map(function (p) {
      if (typeof p === "string") { return p; }
      if (p.v !== undefined) { return num(fw.values[p.v], p.p); }
      if (p.g !== undefined) { return num(st.grad[p.g], p.p); }
      if (p.l !== undefined) { return num(fw.locals[p.l], p.p); }
      if (p.c !== undefined) {
        var h = st.grad[m.edges[p.c].head];
        return num(h === null ? null : h * fw.locals[p.c], p.p);
      }
      if (p.sum !== undefined) { return st.parts[p.sum].map(function (x) { return num(x, true); }).join(" + "); }
      throw new Error("unknown number slot " + JSON.stringify(p));
    }).join("");
  }

  /**
   * What is known after step `upto`: which values are computed, each node's gradient so far, its
   * contributions (for the running sum at fan-out nodes), and whether it is final.
   */
  function stateAt(m, steps, fw, upto) {
    var known = new Array(m.n).fill(false), grad = new Array(m.n).fill(null);
    var parts = [], remaining = new Array(m.n).fill(0), used = new Array(m.edges.length).fill(false);
    for (var i = 0; i < m.n; i++) { parts.push([]); known[i] = m.nodes[i].kind !== "op"; }
    steps.forEach(function (s) { if (s.type === "backward") { remaining[m.edges[s.edge].tail] += 1; } });
    for (var k = 0; k <= upto && k < steps.length; k++) {
      var s = steps[k];
      if (s.type === "forward") { known[s.node] = true; }
      if (s.type === "seed") { grad[s.node] = 1; parts[s.node].push(1); }
      if (s.type === "backward") {
        var e = m.edges[s.edge], c = grad[e.head] * fw.locals[s.edge];
        grad[e.tail] = grad[e.tail] === null ? c : grad[e.tail] + c;
        parts[e.tail].push(c);
        remaining[e.tail] -= 1;
        used[s.edge] = true;
      }
      if (s.type === "done") {
        for (var j = 0; j < m.n; j++) { if (grad[j] === null) { grad[j] = 0; } }
      }
    }
    var final = grad.map(function (g, j) { return g !== null && remaining[j] === 0; });
    return { known: known, grad: grad, parts: parts, final: final, used: used };
  }

  /** A small seeded generator (mulberry32), so a page trains the same way every time. */
  function rng(seed) {
    var a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      var t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /**
   * The batch engine: forward and backward passes over many samples at once. Every node holds a
   * Float64Array with one value per sample and the op table's scalar forms run in a tight loop
   * per node, so a training step makes no object per sample: the whole mini-batch is vectorised
   * (the page trains the 2-3-1 net at thousands of steps a second). Built once per model and
   * capacity, and cached on the compiled model.
   */
  function batcher(m, capacity) {
    if (m.batch && m.batch.capacity >= capacity) { return m.batch; }
    var n = m.n, nodes = m.nodes, out = m.output, cap = Math.max(1, capacity | 0);
    var vals = new Array(n), grads = new Array(n), toOut = new Uint8Array(n), needs = new Uint8Array(n);
    for (var i = 0; i < n; i++) { vals[i] = new Float64Array(cap); grads[i] = new Float64Array(cap); }
    toOut[out] = 1;
    for (var u = out; u >= 0; u--) {
      if (!toOut[u]) { continue; }
      m.inEdges[u].forEach(function (k) { toOut[m.edges[k].tail] = 1; });
    }
    // Gradients are needed at params and at the ops between them and the output, nowhere else.
    for (var v = 0; v < n; v++) { needs[v] = toOut[v] && (nodes[v].kind === "op" || nodes[v].kind === "param") ? 1 : 0; }
    var ops = [];
    for (var q = 0; q < n; q++) { if (nodes[q].kind === "op") { ops.push(q); } }
    var scratch = [];
    function forward(count) {
      for (var t = 0; t < ops.length; t++) {
        var w = ops[t], node = nodes[w], op = OPS[node.op], args = node.args, o = vals[w], b;
        if (op.dv) {
          scratch.length = args.length;
          for (b = 0; b < count; b++) {
            for (var j = 0; j < args.length; j++) { scratch[j] = vals[args[j]][b]; }
            o[b] = op.f.apply(null, scratch);
          }
        } else if (args.length === 1) {
          var f1 = op.f, a1 = vals[args[0]];
          for (b = 0; b < count; b++) { o[b] = f1(a1[b]); }
        } else {
          var f2 = op.f, a2 = vals[args[0]], c2 = vals[args[1]];
          for (b = 0; b < count; b++) { o[b] = f2(a2[b], c2[b]); }
        }
      }
    }
    // Reverse accumulation with the output's gradient set to `seed` (1/count: the mean loss).
    function backward(count, seed) {
      for (var z = 0; z < n; z++) { if (needs[z]) { grads[z].fill(0, 0, count); } }
      grads[out].fill(seed, 0, count);
      for (var w = out; w >= 0; w--) {
        if (!needs[w] || nodes[w].kind !== "op") { continue; }
        var node = nodes[w], op = OPS[node.op], args = node.args, o = vals[w], gw = grads[w], b;
        for (var s = 0; s < args.length; s++) {
          var tail = args[s];
          if (!needs[tail]) { continue; }
          var gt = grads[tail];
          if (op.dv) {
            scratch.length = args.length;
            for (b = 0; b < count; b++) {
              for (var j = 0; j < args.length; j++) { scratch[j] = vals[args[j]][b]; }
              gt[b] += gw[b] * op.dv(o[b], scratch, s);
            }
          } else if (args.length === 1) {
            var d1 = op.d[0], a1 = vals[args[0]];
            for (b = 0; b < count; b++) { gt[b] += gw[b] * d1(o[b], a1[b]); }
          } else {
            var d2 = op.d[s], a2 = vals[args[0]], c2 = vals[args[1]];
            for (b = 0; b < count; b++) { gt[b] += gw[b] * d2(o[b], a2[b], c2[b]); }
          }
        }
      }
    }
    // Every leaf: a data column's values row by row, else one value (`over`, else the model's).
    function load(over, data, rows, start, count) {
      var column = {};
      if (data) { data.columns.forEach(function (idx, c) { column[idx] = c; }); }
      for (var z = 0; z < n; z++) {
        if (nodes[z].kind === "op") { continue; }
        var a = vals[z], b;
        if (data && Object.prototype.hasOwnProperty.call(column, z)) {
          var c = column[z];
          for (b = 0; b < count; b++) { a[b] = data.rows[rows ? rows[start + b] : start + b][c]; }
        } else {
          a.fill(Object.prototype.hasOwnProperty.call(over, z) ? over[z] : nodes[z].value, 0, count);
        }
      }
    }
    m.batch = { capacity: cap, values: vals, grads: grads, forward: forward, backward: backward, load: load };
    return m.batch;
  }

  /**
   * One gradient-descent step on the rows `batch` (indices into data.rows): the mean loss over the
   * batch and the mean gradient of every param, then param -= lr·gradient (written into `over`).
   * One vectorised forward and backward pass over the whole batch (see batcher).
   */
  function trainStep(m, over, data, batch, lr, params) {
    var B = batch.length, e = batcher(m, B), loss = 0, out = e.values[m.output];
    e.load(over, data, batch, 0, B);
    e.forward(B);
    for (var b = 0; b < B; b++) { loss += out[b]; }
    e.backward(B, 1 / B);
    var grads = new Array(params.length);
    for (var q = 0; q < params.length; q++) {
      var g = e.grads[params[q]], sum = 0;
      for (b = 0; b < B; b++) { sum += g[b]; }
      grads[q] = sum;
      var p = params[q], v = Object.prototype.hasOwnProperty.call(over, p) ? over[p] : m.nodes[p].value;
      over[p] = v - lr * sum;
    }
    return { loss: loss / B, grads: grads };
  }

  /**
   * The values of the nodes `read` (indices) at N points, in vectorised chunks: `keys` are the
   * leaves that vary (node indices) and `columns` their N values each (Float64Arrays); every other
   * leaf keeps its value (`over`, else the model's). One Float64Array per node read. The decision
   * map evaluates its whole grid with one call.
   */
  function evaluatePoints(m, over, keys, columns, read) {
    var N = columns.length ? columns[0].length : 0, e = batcher(m, 512);
    var outs = read.map(function () { return new Float64Array(N); });
    for (var start = 0; start < N; start += e.capacity) {
      var count = Math.min(e.capacity, N - start);
      e.load(over, null, null, 0, count);
      keys.forEach(function (idx, c) { e.values[idx].set(columns[c].subarray(start, start + count)); });
      e.forward(count);
      read.forEach(function (idx, r) { outs[r].set(e.values[idx].subarray(0, count), start); });
    }
    return outs;
  }

  /* ---- CSV: the same checks and the same words as graphtrace.data.read_csv -------------------- */
  var CSV_LIMITS = { rows: 1000000, cols: 1000, cells: 20000000 };
  var CSV_NUMBER = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
  var PY_KEYWORDS = ("False None True and as assert async await break class continue def del elif else except " +
    "finally for from global if import in is lambda nonlocal not or pass raise return try while with yield").split(" ");
  var MAX_DATA_ROWS = 2000;  // graphtrace.explorer.MAX_DATA_ROWS

  function thousands(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  // Python's repr of a short string, as the messages quote cells and names.
  function pyRepr(s) {
    var q = s.indexOf("'") >= 0 && s.indexOf('"') < 0 ? '"' : "'";
    var body = s.replace(/[\\\n\r\t]|[\x00-\x1f\x7f]/g, function (c) {
      return c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t"
        : "\\x" + ("0" + c.charCodeAt(0).toString(16)).slice(-2);
    });
    if (q === "'") { body = body.replace(/'/g, "\\'"); }
    return q + body + q;
  }
  function shownCell(c) { return pyRepr(c.length > 40 ? c.slice(0, 37) + "..." : c); }
  function unquote(c) { return c.length >= 2 && c.charAt(0) === '"' && c.charAt(c.length - 1) === '"' ? c.slice(1, -1).trim() : c; }
  function isIdentifier(s) { return /^[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*$/u.test(s); }
  // The CSV messages in the page's language, with read_csv's msgids: csvTexts is the page model's
  // ui map (graphtrace.explorer.PAGE_TEXTS translated; none in English), as the page's say() reads
  // it, given to parseCsv/dataFromCsv and held for that one call.
  var csvTexts = null;
  function say(text, args) {
    var s = (csvTexts && csvTexts[text]) || text;
    return args ? s.replace(/\{(\w+)\}/g, function (all, k) { return k in args ? String(args[k]) : all; }) : s;
  }
  function withTexts(texts, read) {
    var before = csvTexts;
    csvTexts = texts || null;
    try { return read(); } finally { csvTexts = before; }
  }
  // A message as GraphtraceError.render() writes it: file:line: message, the line, the hint.
  function csvError(file, line, text, message, hint) {
    var out = file + ":" + (line === null ? "" : line + ":") + " " + message;
    if (text !== null && line !== null) { out += "\n    " + (text.length > 200 ? text.slice(0, 160) : text); }
    if (hint) { out += "\n" + hint; }
    var err = new Error(out);
    err.graphtrace = true;
    return err;
  }
  // [problem, value, whether the cell is text (read_csv's _not_a_number: the hint's case)].
  function parseNumber(cell) {
    var c = unquote(cell.trim()), shown = shownCell(c);
    if (!c) { return [say("empty cell"), NaN, false]; }
    if (CSV_NUMBER.test(c)) {
      var v = Number(c);
      return isFinite(v) ? [null, v, false] : [say("non-finite value {cell}", { cell: shown }), NaN, false];
    }
    if (/^[+-]?(?:inf|infinity|nan)$/i.test(c)) { return [say("non-finite value {cell}", { cell: shown }), NaN, false]; }
    return [say("{cell} is not a number", { cell: shown }), NaN, true];
  }
  function parseHeader(s, lineno, raw, file) {
    var names = s.split(",").map(function (c) { return unquote(c.trim()); });
    if (names.length > CSV_LIMITS.cols) {
      throw csvError(file, lineno, raw.slice(0, 200), say("{n} columns, more than the limit of {limit}",
        { n: thousands(names.length), limit: thousands(CSV_LIMITS.cols) }),
        say("set {variable} to raise the limit", { variable: "GRAPHTRACE_MAX_CSV_COLS" }));
    }
    var numeric = names.every(function (c) { return parseNumber(c)[0] === null; }), seen = {};
    names.forEach(function (col, k0) {
      var k = k0 + 1;
      if (!col) { throw csvError(file, lineno, raw, say("column {k} has an empty name", { k: k })); }
      if (!isIdentifier(col)) {
        throw csvError(file, lineno, raw, say("column {k}: {name} is not a valid column name", { k: k, name: shownCell(col) }),
          numeric ? say("the first line that is not blank or a comment must name the columns, e.g. x1,x2,y")
            : say("names use letters, digits and _, and do not start with a digit"));
      }
      if (PY_KEYWORDS.indexOf(col) >= 0) {
        throw csvError(file, lineno, raw, say("column {k}: '{name}' is a Python keyword and cannot be an input name",
          { k: k, name: col }));
      }
      if (col.normalize("NFKC") !== col) {
        throw csvError(file, lineno, raw, say("column {k}: '{name}' is not in normal form; write it as '{normal}'",
          { k: k, name: col, normal: col.normalize("NFKC") }));
      }
      if (Object.prototype.hasOwnProperty.call(seen, col)) {
        throw csvError(file, lineno, raw, say("duplicate column name '{name}' (columns {first} and {k})",
          { name: col, first: seen[col], k: k }));
      }
      seen[col] = k;
    });
    return names;
  }
  /**
   * A CSV text read as graphtrace.data.read_csv reads it: { columns, rows } (numbers), or an
   * Error whose message is the one the command line prints (a test compares them on bad files).
   * `texts`: the page model's ui map, for the messages in the page's language (none: English).
   */
  function parseCsv(text, file, texts) {
    return withTexts(texts, function () { return readCsv(text, file); });
  }
  function readCsv(text, file) {
    var lines = text.split(/\r\n|\r|\n/), columns = null, headerLine = 0, rows = [], cap = CSV_LIMITS.rows;
    for (var i = 0; i < lines.length; i++) {
      var lineno = i + 1, raw = lines[i];
      if (i === lines.length - 1 && raw === "") { break; }
      if (raw.indexOf("\u0000") >= 0) { throw csvError(file, lineno, null, say("binary content (a NUL byte); a CSV file must be text")); }
      if (lineno === 1 && raw.charAt(0) === "\ufeff") { raw = raw.slice(1); }
      var s = raw.trim();
      if (!s || s.charAt(0) === "#") { continue; }
      if (columns === null) {
        columns = parseHeader(s, lineno, raw, file);
        headerLine = lineno;
        cap = Math.min(CSV_LIMITS.rows, Math.floor(CSV_LIMITS.cells / columns.length));
        continue;
      }
      if (rows.length + 1 > cap) {
        var overRows = rows.length + 1 > CSV_LIMITS.rows;
        throw csvError(file, lineno, raw.slice(0, 200), overRows
          ? say("more than {most} data rows (the limit); row {row} is here",
            { most: thousands(CSV_LIMITS.rows), row: thousands(CSV_LIMITS.rows + 1) })
          : say("more than {most} numbers ({columns} columns × {rows} rows, the limit); row {row} is here",
            { most: thousands(CSV_LIMITS.cells), columns: thousands(columns.length), rows: thousands(cap), row: thousands(cap + 1) }),
          say("set {variable} to raise the limit", { variable: overRows ? "GRAPHTRACE_MAX_CSV_ROWS" : "GRAPHTRACE_MAX_CSV_CELLS" }));
      }
      var cells = s.split(",");
      if (cells.length !== columns.length) {
        throw csvError(file, lineno, raw, say("expected {n} cells ({columns}), found {found}",
          { n: columns.length, columns: columns.join(","), found: cells.length }));
      }
      var row = new Array(columns.length);
      for (var c = 0; c < cells.length; c++) {
        var r = parseNumber(cells[c]);
        if (r[0] !== null) {
          throw csvError(file, lineno, raw, say("column {column}: {problem}", { column: columns[c], problem: r[0] }),
            r[2] ? say("cells must be plain decimal numbers such as 3, -0.25 or 1.5e-3") : null);
        }
        row[c] = r[1];
      }
      rows.push(row);
    }
    if (columns === null) {
      throw csvError(file, null, null, say("no header: the file has no lines except blanks and comments"),
        say("the first line must name the columns, e.g. x1,x2,y"));
    }
    if (!rows.length) { throw csvError(file, headerLine, null, say("no data rows after the header")); }
    return { columns: columns, rows: rows };
  }
  /**
   * The training view's data from a CSV text, for the script described by `spec` (the model's
   * `trainable`): the checks and messages of read_csv and of graphtrace.explorer's data model;
   * `texts` as for parseCsv.
   */
  function dataFromCsv(text, file, spec, texts) {
    return withTexts(texts, function () { return readData(text, file, spec); });
  }
  function readData(text, file, spec) {
    var csv = readCsv(text, file), names = Object.keys(spec.inputs), columns = csv.columns;
    var missing = columns.filter(function (c) { return !Object.prototype.hasOwnProperty.call(spec.inputs, c); });
    if (missing.length) {
      var e = new Error(say("{data}: column '{column}' is not an input of {graph}; the inputs are {inputs}",
        { data: file, column: missing[0], graph: spec.graph, inputs: names.join(", ") || say("(none)") }) +
        "\n" + say("name the CSV columns after the script's inputs (x1, x2, ..., y)"));
      e.graphtrace = true;
      throw e;
    }
    var features = columns.filter(function (c) { return c !== "y"; });
    var target = columns.indexOf("y") >= 0 ? spec.inputs.y : null, classes = null;
    if (spec.classes && columns.indexOf(spec.class_target) >= 0) {
      target = spec.inputs[spec.class_target];
      features = columns.filter(function (c) { return c !== spec.class_target; });
      classes = spec.classes;
    }
    if (!features.length) {
      var f = new Error(say("{data}: no feature column to train on", { data: file }));
      f.graphtrace = true;
      throw f;
    }
    var data = {
      name: file, columns: columns.map(function (c) { return spec.inputs[c]; }), column_names: columns,
      rows: csv.rows.slice(0, MAX_DATA_ROWS), n_total: csv.rows.length,
      features: features.map(function (c) { return spec.inputs[c]; }), target: target,
      predict: classes ? classes[0] : spec.predict, predict_op: spec.predict_op
    };
    if (classes) { data.classes = classes; data.class_colors = spec.class_colors; }
    return data;
  }

  /** The class of the largest of the logits `classes` (node indices), and its lead over the next. */
  function bestClass(values, classes) {
    var best = 0, lead = Infinity;
    for (var k = 1; k < classes.length; k++) {
      if (values[classes[k]] > values[classes[best]]) { best = k; }
    }
    classes.forEach(function (c, k) { if (k !== best) { lead = Math.min(lead, values[classes[best]] - values[c]); } });
    return { k: best, lead: lead };
  }

  /** Mean loss and accuracy over all rows: prediction ≥ 0.5 against 0/1 labels, or, for K classes
   * (data.classes, the logits' nodes), the largest logit's class against the class index. */
  function evaluateData(m, over, data) {
    var loss = 0, right = 0, labelled = 0, yCol = data.columns.indexOf(data.target);
    var e = batcher(m, 512), N = data.rows.length, out = e.values[m.output], row = new Array(m.n);
    for (var start = 0; start < N; start += e.capacity) {
      var count = Math.min(e.capacity, N - start);
      e.load(over, data, null, start, count);
      e.forward(count);
      for (var b = 0; b < count; b++) {
        loss += out[b];
        if (yCol < 0) { continue; }
        labelled += 1;
        var y = data.rows[start + b][yCol];
        if (data.classes) {
          data.classes.forEach(function (c) { row[c] = e.values[c][b]; });
          if (bestClass(row, data.classes).k === y) { right += 1; }
        } else if ((e.values[data.predict][b] >= 0.5 ? 1 : 0) === (y > 0.5 ? 1 : 0)) { right += 1; }
      }
    }
    return { loss: loss / N, accuracy: labelled ? right / labelled : null };
  }

  return { OPS: OPS, compile: compile, forwardPass: forwardPass, backwardPass: backwardPass,
    onPathNodes: onPathNodes, pathSum: pathSum, enumeratePaths: enumeratePaths,
    formatNumber: formatNumber, buildSteps: buildSteps, fillParts: fillParts, stateAt: stateAt, rng: rng,
    trainStep: trainStep, evaluateData: evaluateData, bestClass: bestClass, batcher: batcher,
    evaluatePoints: evaluatePoints, parseCsv: parseCsv, dataFromCsv: dataFromCsv };
});

/* ---- the page ------------------------------------------------------------------------------ */
function graphtracePage(model) {  // called by the loader below, once the model is read
  "use strict";
  var C = window.GraphtraceCore;
  var SVGNS = "http://www.w3.org/2000/svg";
  var PATH_CAP = 200;
  var MAX_ROWS = 120;  // rows of the values and results tables for big networks

  var m = C.compile(model);
  var steps = C.buildSteps(m);
  var S = { over: {}, fw: null, grads: null, step: 0, timer: null, selected: null, trainTimer: null,
    sample: 0, history: [], trained: 0 };
  var nodeEls = [], edgeEls = [], nodeTags = [], edgeTags = [];
  // The view shown (model.views[F.view]: every op, or folded by neuron, layer or array): its drawn
  // edges' elements and tags, and which drawn node holds each model node (F.group).
  var F = { view: 0, els: [], tags: [], group: null, edgeOf: null, cache: {} };
  // Pan and zoom: the SVG's viewBox (x, y, w, h in its own units, points); dragged: a drag just ended.
  var Z = { vb: null, vb0: null, dragged: false, drag: null };
  var formatNumber = C.formatNumber;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); }); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  // A node's name as an operand: in parentheses unless a name, a number or one call (the model's "atom").
  function atomOf(i) { var n = model.nodes[i]; return n.atom || n.disp; }
  // Numbers for people: the one 4-digit format with a typographic minus (as the drawing).
  function show(x) { return x === null || x === undefined ? "?" : formatNumber(x).replace(/^-/, "\u2212"); }
  function nameOf(i) { return model.nodes[i].disp; }
  // The page's words in its language: model.ui maps an English text (with {name} fields) to its
  // translation (graphtrace.explorer.PAGE_TEXTS, translated by the gettext catalogs); English
  // pages carry no map.
  function say(text, args) {
    var s = (model.ui && model.ui[text]) || text;
    return args ? s.replace(/\{(\w+)\}/g, function (all, k) { return k in args ? String(args[k]) : all; }) : s;
  }
  function dd(i) { return "∂" + atomOf(model.output) + "/∂" + atomOf(i); }
  function num(x) { var s = show(x); return x < 0 ? "(" + s + ")" : s; }

  /* ---- tagging the SVG's texts --------------------------------------------------------- */
  // The drawing writes every minus as −, the exponent's too (4.177e−05).
  function variants(s) {
    var out = [s];
    if (s.indexOf("-") >= 0) { out.push(s.replace(/-/g, "\u2212")); }
    if (s.charAt(0) === "-") { out.push("\u2212" + s.slice(1)); }
    return out;
  }
  function isNumChar(c) { return /[0-9.eE]/.test(c); }
  // Find `s` in `text` as a whole number (not inside a longer one); prefer it after "=" (with
  // `afterEq`, only there: a name such as b2[2] holds numbers too).
  function findNumber(text, s, afterEq) {
    var best = -1, bestScore = -1, from = 0;
    for (;;) {
      var i = text.indexOf(s, from);
      if (i < 0) { break; }
      from = i + 1;
      var before = text.charAt(i - 1), after = text.charAt(i + s.length);
      if ((before && (isNumChar(before) || before === "-" || before === "\u2212")) || (after && isNumChar(after))) { continue; }
      var score = /=\s*$/.test(text.slice(0, i)) ? 2 : (i === 0 ? 1 : 0);
      if (afterEq && score < 2) { continue; }
      if (score > bestScore) { best = i; bestScore = score; }
    }
    return best;
  }
  // Split each <text> of a group into literal pieces and role slots ({role, minus}).
  function tagGroup(group, needles) {
    var texts = Array.prototype.slice.call(group.querySelectorAll("text"));
    var pieces = texts.map(function (t) { return [t.textContent]; }), found = {};
    needles.forEach(function (nd) {
      if (nd.str === null || nd.str === undefined) { return; }
      var vs = variants(nd.str);
      for (var pass = 0; pass < 2; pass++) {  // first after an "=" in any text, then anywhere
      for (var t = 0; t < texts.length && !found[nd.role]; t++) {
        var ps = pieces[t];
        for (var p = 0; p < ps.length && !found[nd.role]; p++) {
          if (typeof ps[p] !== "string") { continue; }
          for (var q = 0; q < vs.length; q++) {
            var i = findNumber(ps[p], vs[q], pass === 0);
            if (i >= 0) {
              var slot = { role: nd.role, minus: vs[q] !== nd.str };
              ps.splice(p, 1, ps[p].slice(0, i), slot, ps[p].slice(i + vs[q].length));
              found[nd.role] = true;
              break;
            }
          }
        }
      }
      }
    });
    var tags = [];
    texts.forEach(function (t, k) {
      if (pieces[k].some(function (x) { return typeof x !== "string"; })) { tags.push({ el: t, pieces: pieces[k] }); }
    });
    return { tags: tags, found: found };
  }
  function addBadge(group, x, y, role, cls) {
    var t = document.createElementNS(SVGNS, "text");
    t.setAttribute("x", x); t.setAttribute("y", y);
    t.setAttribute("text-anchor", "middle");
    t.setAttribute("class", cls);
    group.appendChild(t);
    return { el: t, pieces: [role === "g" ? "∂ " : "", { role: role, minus: false }] };
  }
  function setupSvg() {
    var svg = document.querySelector("#gt-svg svg");
    if (!svg) { return; }
    var vb = svg.viewBox && svg.viewBox.baseVal;
    document.body.classList.toggle("gt-wide", !!(vb && vb.width > 2.2 * vb.height));
    if (svg.getAttribute("width")) { S.size = [svg.getAttribute("width"), svg.getAttribute("height")]; }
    svg.removeAttribute("width"); svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    nodeEls = []; edgeEls = []; nodeTags = []; edgeTags = []; F.els = []; F.tags = [];
    var V = currentView();
    if (V.nodes) {
      setupFolded(svg, V);
    } else {
    model.nodes.forEach(function (node, i) {
      var g = svg.getElementById ? svg.getElementById(node.id) : document.getElementById(node.id);
      g = g || document.getElementById(node.id);
      nodeEls[i] = g;
      if (!g) { nodeTags[i] = []; return; }
      g.setAttribute("data-node", node.name);
      g.classList.add("gt-kind-" + node.kind);
      // The drawing printed the model's numbers in the 4-digit format; formatNumber gives the same text.
      var r = tagGroup(g, [{ role: "v", str: node.kind === "const" || node.value === null ? null : formatNumber(node.value) },
        { role: "g", str: model.grads[i] === null ? null : formatNumber(model.grads[i]) }]);
      if (!r.found.g && node.kind !== "const") {
        var shape = g.querySelector("ellipse, polygon, path, rect");
        if (shape && shape.getBBox) {
          var b = shape.getBBox();
          r.tags.push(addBadge(g, b.x + b.width / 2, b.y + b.height + 11, "g", "gt-badge gt-badge-grad"));
        }
      }
      var box = g.querySelector("ellipse, polygon, path, rect");
      if (box && box.getBBox) {
        // Texts get re-centred on the node, so a longer or shorter number stays in the middle.
        var bb = box.getBBox(), cx = bb.x + bb.width / 2;
        r.tags.forEach(function (t) { t.el.setAttribute("x", String(cx)); t.el.setAttribute("text-anchor", "middle"); });
      }
      nodeTags[i] = r.tags;
      g.addEventListener("click", function (ev) { ev.stopPropagation(); if (!Z.dragged) { selectNode(S.selected === i ? null : i); } });
      g.addEventListener("dblclick", function (ev) { ev.stopPropagation(); ev.preventDefault(); refold(i); });
    });
    model.edges.forEach(function (edge, k) {
      var g = document.getElementById(edge.id);
      edgeEls[k] = g;
      if (!g) { edgeTags[k] = []; return; }
      var r = tagGroup(g, [{ role: "l", str: edge.local === null ? null : formatNumber(edge.local) }]);
      var path = g.querySelector("path");
      if (!r.found.l && path && path.getTotalLength) {
        var len = path.getTotalLength(), pt = path.getPointAtLength(len / 2);
        r.tags.push(addBadge(g, pt.x, pt.y - 3, "l", "gt-badge gt-badge-local"));
      }
      edgeTags[k] = r.tags;
      // The page's own tooltip replaces Graphviz's (which would appear late, on top of it).
      Array.prototype.forEach.call(g.querySelectorAll("a"), function (a) {
        a.removeAttributeNS("http://www.w3.org/1999/xlink", "title");
        a.removeAttribute("title");
      });
      if (path) {
        // A wide transparent twin of the edge makes it easy to hover.
        var hit = path.cloneNode(false);
        hit.setAttribute("class", "gt-hit");
        hit.removeAttribute("stroke-dasharray");
        g.insertBefore(hit, g.firstChild);
      }
      g.addEventListener("mousemove", function (ev) { showTip(k, ev); });
      g.addEventListener("mouseleave", hideTip);
    });
    }
    svg.addEventListener("click", function () { if (!Z.dragged) { selectNode(null); } });
    setupZoom(svg);
  }
  function paint(tags, values) {
    tags.forEach(function (t) {
      var hiddenOnly = true, text = "";
      t.pieces.forEach(function (p) {
        if (typeof p === "string") { text += p; return; }
        var v = values[p.role];
        if (v === undefined || v === null) { text += "?"; return; }
        hiddenOnly = false;
        var s = typeof v === "string" ? v : formatNumber(v);
        text += s.replace(/-/g, "\u2212");  // the drawing's minus, whatever the first number was
      });
      t.el.textContent = text;
      // A grad or local label that is not known yet disappears; a value shows "?" meanwhile.
      var hasValue = t.pieces.some(function (p) { return typeof p !== "string" && p.role === "v"; });
      t.el.style.visibility = hiddenOnly && !hasValue ? "hidden" : "";
    });
  }

  /* ---- views: fold and unfold ---------------------------------------------------------- */
  function currentView() { return (model.views && model.views[F.view]) || { level: "scalar" }; }
  // A folded view: each drawn node stands for its members (its id is its representative's), each
  // drawn edge for model edges, and a weight edge shows its weight (value above, ∂L/∂w below).
  function setupFolded(svg, V) {
    F.group = new Array(model.nodes.length).fill(-1);
    F.edgeOf = new Array(model.edges.length).fill(-1);
    V.nodes.forEach(function (vn, j) {
      vn.members.forEach(function (i) { F.group[i] = vn.id; });
      var g = document.getElementById("n" + vn.id);
      nodeEls[vn.id] = g;
      if (!g) { return; }
      var i = vn.id, node = model.nodes[i], needles = [
        { role: "v", str: node.value === null ? null : formatNumber(node.value) },
        { role: "g", str: model.grads[i] === null ? null : formatNumber(model.grads[i]) }];
      if (vn.bias !== undefined) {
        needles.push({ role: "b", str: formatNumber(model.nodes[vn.bias].value) });
        needles.push({ role: "bg", str: model.grads[vn.bias] === null ? null : formatNumber(model.grads[vn.bias]) });
      }
      g.setAttribute("data-node", node.name);
      g.setAttribute("data-members", String(vn.members.length));
      g.classList.add("gt-kind-" + node.kind, "gt-folded");
      nodeTags[i] = tagGroup(g, needles).tags;
      var shape = g.querySelector("ellipse, polygon, path, rect");
      if (shape && shape.getBBox) {  // re-centred, so a longer or shorter number stays in the middle
        var bb = shape.getBBox();
        nodeTags[i].forEach(function (t) { t.el.setAttribute("x", String(bb.x + bb.width / 2)); t.el.setAttribute("text-anchor", "middle"); });
      }
      g.addEventListener("click", function (ev) { ev.stopPropagation(); if (!Z.dragged) { selectNode(S.selected === i ? null : i); } });
      g.addEventListener("dblclick", function (ev) { ev.stopPropagation(); ev.preventDefault(); refold(i); });
    });
    V.edges.forEach(function (ve, j) {
      ve.members.forEach(function (k) { F.edgeOf[k] = j; });
      var g = document.getElementById(ve.id);
      F.els[j] = g;
      F.tags[j] = [];
      if (!g) { return; }
      if (ve.weight !== undefined) {
        var w = ve.weight;
        F.tags[j] = tagGroup(g, [{ role: "w", str: formatNumber(model.nodes[w].value) },
          { role: "wg", str: model.grads[w] === null ? null : formatNumber(model.grads[w]) }]).tags;
        g.setAttribute("data-weight", model.nodes[w].name);
        g.addEventListener("click", function (ev) { ev.stopPropagation(); if (!Z.dragged) { selectNode(w); } });
      }
      Array.prototype.forEach.call(g.querySelectorAll("a"), function (a) {
        a.removeAttributeNS("http://www.w3.org/1999/xlink", "title");
        a.removeAttribute("title");
      });
      var path = g.querySelector("path");
      if (path) {
        var hit = path.cloneNode(false);
        hit.setAttribute("class", "gt-hit");
        hit.removeAttribute("stroke-dasharray");
        g.insertBefore(hit, g.firstChild);
      }
      g.addEventListener("mousemove", function (ev) { showFoldTip(j, ev); });
      g.addEventListener("mouseleave", hideTip);
    });
  }
  function showFoldTip(j, ev) {
    var ve = currentView().edges[j], tip = $("gt-tooltip");
    tip.innerHTML = "";
    if (ve.weight !== undefined) {
      var w = ve.weight;
      tip.appendChild(el("div", { "class": "gt-tip-title" }, say("weight {name} = {value}", { name: nameOf(w), value: show(currentValue(w)) })));
      tip.appendChild(el("div", { "class": "gt-tip-value" }, dd(w) + " = " + show(S.grads[w])));
      tip.appendChild(el("div", { "class": "gt-muted" }, say("click it for its paths; double-click a neuron to unfold it")));
    } else {
      tip.appendChild(el("div", { "class": "gt-tip-title" }, say("{n} edges of the graph", { n: ve.members.length })));
      tip.appendChild(el("div", { "class": "gt-muted" }, say("double-click a node to unfold it")));
    }
    tip.hidden = false;
    var pane = document.querySelector(".gt-graph-pane").getBoundingClientRect();
    tip.style.left = (ev.clientX - pane.left + 14) + "px";
    tip.style.top = (ev.clientY - pane.top + 14) + "px";
    tip.setAttribute("data-edge", ve.id);
  }
  // The drawn element that shows model node i in the current view (its own, or its group's).
  function elementOf(i) { return F.group ? nodeEls[F.group[i]] : nodeEls[i]; }
  function buildLevels() {
    var box = $("gt-levels"), views = model.views || [];
    box.innerHTML = "";
    if (views.length < 2) { box.hidden = true; return; }
    views.map(function (v, k) { return k; }).sort(function (a, b) { return views[a].button - views[b].button; })
      .forEach(function (k) {
        var b = el("button", { type: "button", id: "gt-level-" + views[k].level, "data-level": views[k].level,
          title: { scalar: say("every op (unfold everything)"), neuron: say("one node per neuron"), layer: say("one node per layer"),
            array: say("one node per array") }[views[k].level] || views[k].level }, views[k].label);
        b.addEventListener("click", function () { switchView(k, null); });
        box.appendChild(b);
      });
    markLevel();
  }
  function markLevel() {
    Array.prototype.forEach.call(document.querySelectorAll("#gt-levels button"), function (b) {
      var on = b.getAttribute("data-level") === currentView().level;
      b.classList.toggle("gt-on", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    document.body.setAttribute("data-level", currentView().level);
  }
  // Show view k (every other view's SVG waits in its template, or in the cache once shown), then
  // zoom onto the model nodes `focus` when given.
  function switchView(k, focus) {
    if (!model.views || k === F.view || !model.views[k]) { return; }
    var box = $("gt-svg"), old = box.querySelector("svg");
    if (old) { box.removeChild(old); }
    // Always a fresh copy of the drawing as Graphviz wrote it: its texts are tagged anew.
    var t = $("gt-view-" + k);
    var svg = F.cache[k] ? F.cache[k].cloneNode(true) : t ? t.content.querySelector("svg").cloneNode(true) : null;
    if (!svg) { return; }
    hideTip();
    F.view = k;
    box.appendChild(svg);
    Z.vb = null;
    setupSvg();
    markLevel();
    redraw();
    if (S.selected !== null) { renderPaths(); }
    if (focus && focus.length) { zoomTo(focus); }
  }
  // Double-click: a folded node unfolds (the next finer view, zoomed onto what it folded); a node
  // of the finest view folds into the next coarser one.
  function refold(i) {
    var views = model.views || [], here = currentView();
    if (views.length < 2) { return; }
    var byButton = views.map(function (v, k) { return k; }).sort(function (a, b) { return views[a].button - views[b].button; });
    var at = byButton.indexOf(F.view);
    if (here.nodes) {
      var vn = here.nodes.filter(function (n) { return n.id === i; })[0];
      if (at > 0) { switchView(byButton[at - 1], vn ? vn.members : [i]); }
    } else if (at + 1 < byButton.length) {
      var next = views[byButton[at + 1]], hit = (next.nodes || []).filter(function (n) { return n.members.indexOf(i) >= 0; })[0];
      switchView(byButton[at + 1], hit ? [hit.id] : null);
    }
  }
  function redrawFolded(s, st) {
    var V = currentView();
    if (!V.nodes) { return; }
    var current = s.type === "backward" ? model.edges[s.edge].tail : s.node;
    V.nodes.forEach(function (vn) {
      var g = nodeEls[vn.id];
      paint(nodeTags[vn.id] || [], { v: st.known[vn.id] ? S.fw.values[vn.id] : null, g: st.grad[vn.id],
        b: vn.bias === undefined ? null : currentValue(vn.bias), bg: vn.bias === undefined ? null : st.grad[vn.bias] });
      if (!g) { return; }
      var inside = current !== undefined && current !== null && F.group[current] === vn.id;
      g.classList.toggle("gt-current", inside && s.type !== "done" && s.type !== "start");
      g.classList.toggle("gt-pending", !vn.members.every(function (i) { return st.known[i]; }));
    });
    V.edges.forEach(function (ve, j) {
      var g = F.els[j];
      if (ve.weight !== undefined) {
        var w = currentValue(ve.weight);
        paint(F.tags[j] || [], { w: w, wg: st.grad[ve.weight] });
        (F.tags[j] || []).forEach(function (t) {  // the value in its sign's colour, as its edge
          if (t.pieces.some(function (q) { return typeof q !== "string" && q.role === "w"; })) {
            t.el.setAttribute("fill", w > 0 ? COLORS.positive : w < 0 ? COLORS.negative : "#9aa5b1");
          }
        });
      }
      if (!g) { return; }
      var feed = s.type === "forward" && ve.members.some(function (k) { return model.edges[k].head === s.node; });
      var flow = s.type === "backward" && ve.members.indexOf(s.edge) >= 0;
      g.classList.toggle("gt-feed", feed);
      g.classList.toggle("gt-flow", flow);
      g.classList.toggle("gt-used", !flow && ve.members.some(function (k) { return st.used[k]; }));
    });
  }
  function pathsFolded(on) {
    var V = currentView();
    if (!V.nodes) { return; }
    V.nodes.forEach(function (vn) {
      var g = nodeEls[vn.id];
      if (!g) { return; }
      var yes = vn.members.some(function (i) { return on[i]; });
      g.classList.toggle("gt-on-path", yes);
      g.classList.toggle("gt-off-path", !yes);
      g.classList.toggle("gt-selected", vn.members.indexOf(S.selected) >= 0);
    });
    V.edges.forEach(function (ve, j) {
      var g = F.els[j];
      if (!g) { return; }
      // a weight's own edge is on its paths (the weight sits on it, folded into the head)
      var yes = ve.members.some(function (k) { return on[model.edges[k].tail] && on[model.edges[k].head]; }) ||
        (ve.weight !== undefined && on[ve.weight]);
      g.classList.toggle("gt-on-path", yes);
      g.classList.toggle("gt-off-path", !yes);
      g.classList.toggle("gt-selected", ve.weight !== undefined && ve.weight === S.selected);
    });
  }

  /* ---- pan and zoom ---------------------------------------------------------------------- */
  var PT = 4 / 3;  // pixels per SVG unit (Graphviz writes points) at the drawing's natural size
  function paneBox() { var svg = document.querySelector("#gt-svg svg"); return (svg || $("gt-svg")).getBoundingClientRect(); }
  function setupZoom(svg) {
    var b = svg.viewBox.baseVal;
    Z.vb0 = { x: b.x, y: b.y, w: b.width, h: b.height };
    var box = $("gt-svg"), width = Math.max(200, box.clientWidth || 800);
    // As tall as the drawing at the width's fit (up to 1.6× natural), within 260 px … 72 % of the window.
    var byWidth = Math.min(1.6 * PT, width / Z.vb0.w), want = Z.vb0.h * byWidth;
    var most = Math.max(260, 0.72 * (window.innerHeight || 800));
    svg.style.width = "100%";
    svg.style.height = Math.round(Math.max(260, Math.min(most, want))) + "px";
    svg.style.maxHeight = "none";
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    if (!Z.bound) { bindZoom(); Z.bound = true; }
    var fit = fitBox();
    // Legible from the start: a drawing that would be shown below 60 % of its natural size opens at
    // 80 % on its left (inputs) end instead; the fit button shows all of it.
    if (fit.scale < 0.6 * PT) {
      var r = paneBox(), w = r.width / (0.8 * PT), h = r.height / (0.8 * PT);
      setView({ x: Z.vb0.x, y: Z.vb0.y + Math.max(0, (Z.vb0.h - h) / 2), w: w, h: h });
    } else {
      setView(fit.vb);
    }
  }
  function fitBox() {
    var r = paneBox(), W = Math.max(1, r.width), H = Math.max(1, r.height);
    var scale = Math.min(W / Z.vb0.w, H / Z.vb0.h, 1.6 * PT);
    var w = W / scale, h = H / scale;
    return { scale: scale, vb: { x: Z.vb0.x - (w - Z.vb0.w) / 2, y: Z.vb0.y - (h - Z.vb0.h) / 2, w: w, h: h } };
  }
  function scaleNow() { var r = paneBox(); return Z.vb ? r.width / Z.vb.w : PT; }
  function setView(vb) {
    var svg = document.querySelector("#gt-svg svg");
    if (!svg || !vb) { return; }
    Z.vb = vb;
    svg.setAttribute("viewBox", [vb.x, vb.y, vb.w, vb.h].map(function (x) { return x.toFixed(2); }).join(" "));
    var zoomed = scaleNow() / PT;
    $("gt-svg").setAttribute("data-zoom", zoomed.toFixed(3));
    $("gt-zoom").textContent = Math.abs(zoomed - 1) < 0.01 ? say("fit") : "1:1";
    placeCallout(S.callout || null);
  }
  // Zoom by `f` keeping the point under (px, py) (client coordinates; default: the centre) still.
  function zoomBy(f, px, py) {
    if (!Z.vb) { return; }
    var r = paneBox(), s = scaleNow(), ns = Math.max(0.05 * PT, Math.min(8 * PT, s * f));
    f = ns / s;
    var fx = px === undefined ? 0.5 : (px - r.left) / r.width, fy = py === undefined ? 0.5 : (py - r.top) / r.height;
    var x = Z.vb.x + fx * Z.vb.w, y = Z.vb.y + fy * Z.vb.h, w = Z.vb.w / f, h = Z.vb.h / f;
    setView({ x: x - fx * w, y: y - fy * h, w: w, h: h });
  }
  function panBy(dx, dy) {  // in pixels
    if (!Z.vb) { return; }
    var s = scaleNow();
    setView({ x: Z.vb.x - dx / s, y: Z.vb.y - dy / s, w: Z.vb.w, h: Z.vb.h });
  }
  function zoomFit() { setView(fitBox().vb); }
  // Natural size (1:1, 9-point text 12 px), or back to fit: the z key and its button.
  function zoom() {
    if (!Z.vb) { return; }
    if (Math.abs(scaleNow() / PT - 1) < 0.01) { zoomFit(); return; }
    zoomBy(PT / scaleNow());
  }
  // Show the elements of model nodes `nodes` (in this view), at least at natural size.
  function zoomTo(nodes) {
    var r = paneBox(), box = null;
    nodes.forEach(function (i) {
      var g = elementOf(i);
      if (!g) { return; }
      var b = g.getBoundingClientRect();
      box = box ? { l: Math.min(box.l, b.left), t: Math.min(box.t, b.top), r: Math.max(box.r, b.right), b: Math.max(box.b, b.bottom) }
        : { l: b.left, t: b.top, r: b.right, b: b.bottom };
    });
    if (!box) { return; }
    var s = scaleNow(), cx = Z.vb.x + ((box.l + box.r) / 2 - r.left) / s, cy = Z.vb.y + ((box.t + box.b) / 2 - r.top) / s;
    var bw = (box.r - box.l) / s + 40, bh = (box.b - box.t) / s + 40;
    var ns = Math.min(Math.max(PT, Math.min(r.width / bw, r.height / bh)), 1.25 * PT);
    var w = r.width / ns, h = r.height / ns;
    setView({ x: cx - w / 2, y: cy - h / 2, w: w, h: h });
  }
  function bindZoom() {
    var box = $("gt-svg");
    box.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var step = Math.min(0.5, Math.abs(ev.deltaY) * (ev.deltaMode === 1 ? 0.05 : 0.0015));
      zoomBy(ev.deltaY < 0 ? 1 + step : 1 / (1 + step), ev.clientX, ev.clientY);  // in and out alike
    }, { passive: false });
    box.addEventListener("mousedown", function (ev) {
      if (ev.button !== 0) { return; }
      Z.drag = { x: ev.clientX, y: ev.clientY, moved: false };
      Z.dragged = false;
    });
    window.addEventListener("mousemove", function (ev) {
      if (!Z.drag) { return; }
      var dx = ev.clientX - Z.drag.x, dy = ev.clientY - Z.drag.y;
      if (!Z.drag.moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
      Z.drag.moved = true;
      box.classList.add("gt-dragging");
      panBy(dx, dy);
      Z.drag.x = ev.clientX; Z.drag.y = ev.clientY;
    });
    window.addEventListener("mouseup", function () {
      if (!Z.drag) { return; }
      Z.dragged = Z.drag.moved;  // the click that ends a drag selects nothing
      Z.drag = null;
      box.classList.remove("gt-dragging");
      setTimeout(function () { Z.dragged = false; }, 0);
    });
    $("gt-zoom-in").addEventListener("click", function () { zoomBy(1.25); });
    $("gt-zoom-out").addEventListener("click", function () { zoomBy(0.8); });
    $("gt-fit").addEventListener("click", zoomFit);
    window.addEventListener("resize", function () { if (Z.vb) { setView(Z.vb); } });
  }

  /* ---- tooltip --------------------------------------------------------------------------- */
  function showTip(k, ev) {
    var e = model.edges[k], tip = $("gt-tooltip");
    var local = S.fw ? S.fw.locals[k] : e.local;
    tip.innerHTML = "";
    tip.appendChild(el("div", { "class": "gt-tip-title" }, "∂" + atomOf(e.head) + "/∂" + atomOf(e.tail)));
    tip.appendChild(el("div", { "class": "gt-tip-formula" }, "= " + e.symbolic));
    tip.appendChild(el("div", { "class": "gt-tip-value", "data-local": String(local) }, "= " + show(local)));
    tip.appendChild(el("div", { "class": "gt-muted" }, say("local derivative of {op}, operand {k}", { op: model.nodes[e.head].op, k: e.slot + 1 })));
    tip.hidden = false;
    var pane = document.querySelector(".gt-graph-pane").getBoundingClientRect();
    tip.style.left = (ev.clientX - pane.left + 14) + "px";
    tip.style.top = (ev.clientY - pane.top + 14) + "px";
    tip.setAttribute("data-edge", e.id);
  }
  function hideTip() { $("gt-tooltip").hidden = true; }

  /* ---- recomputing -------------------------------------------------------------------------- */
  function recompute() {
    S.fw = C.forwardPass(m, S.over);
    S.grads = C.backwardPass(m, S.fw);
  }

  /* ---- explanation of a step --------------------------------------------------------------- */
  function sourceLine(i) {
    var n = model.nodes[i], text = n.line ? model.lines[n.line - 1] : null;
    if (!text) { return null; }
    var box = el("div", { "class": "gt-source" });
    box.appendChild(el("span", { "class": "gt-lineno" }, say("line {n}", { n: n.line }) + "  "));
    var at = n.expr ? text.indexOf(n.expr) : -1;
    if (text.length > 300) { text = text.slice(0, 300) + " …"; }
    if (at >= 0 && at + n.expr.length <= text.length) {
      box.appendChild(document.createTextNode(text.slice(0, at)));
      box.appendChild(el("mark", null, n.expr));
      box.appendChild(document.createTextNode(text.slice(at + n.expr.length)));
    } else {
      box.appendChild(document.createTextNode(text));
    }
    return box;
  }
  function addLine(parent, text, cls) { parent.appendChild(el("div", { "class": cls || "gt-formula" }, text)); }
  function explain(st) {
    var box = $("gt-explain"), s = steps[S.step];
    box.innerHTML = "";
    $("gt-phase").textContent = s.phase;
    // The sentences come with the model (graphtrace/steps.py); only the numbers are filled in here.
    s.lines.forEach(function (line) {
      if (line.kind === "source") {
        var src = sourceLine(line.node);
        if (src) { box.appendChild(src); }
      } else if (line.kind === "fanout") {
        var fan = el("div", { "class": "gt-fanout" });
        fan.appendChild(el("div", { "class": "gt-fanout-title" }, C.fillParts(m, line.title, st, S.fw)));
        fan.appendChild(el("div", { "class": "gt-formula" }, C.fillParts(m, line.parts, st, S.fw)));
        box.appendChild(fan);
      } else {
        addLine(box, C.fillParts(m, line.parts, st, S.fw), "gt-" + line.kind);
      }
    });
    if (S.fw.bad !== null) {
      addLine(box, say("Warning: {name} is not a finite number with these values (outside the domain of {op}).",
        { name: nameOf(S.fw.bad), op: model.nodes[S.fw.bad].op }), "gt-warning");
    }
  }

  /* ---- drawing the state ------------------------------------------------------------------------ */
  function redraw() {
    var s = steps[S.step], st = C.stateAt(m, steps, S.fw, S.step), last = steps.length - 1;
    document.body.setAttribute("data-phase", s.type);
    document.body.setAttribute("data-step", String(S.step));
    $("gt-counter").textContent = say("step {k} / {n}", { k: S.step, n: last });
    $("gt-prev").disabled = S.step === 0;
    $("gt-next").disabled = S.step === last;
    var current = s.type === "backward" ? model.edges[s.edge].tail : s.node;
    var callout = null;
    model.nodes.forEach(function (n, i) {
      var g = nodeEls[i];
      var known = st.known[i], gr = st.grad[i];
      if (gr !== null && st.parts[i].length > 1 && s.type === "backward" && current === i) {
        var fanLine = s.lines.filter(function (line) { return line.kind === "fanout"; })[0];
        if (fanLine) { callout = { node: i, text: C.fillParts(m, fanLine.parts, st, S.fw) }; }
      }
      paint(nodeTags[i] || [], { v: known ? S.fw.values[i] : null, g: gr });
      if (!g) { return; }
      g.classList.toggle("gt-pending", !known);
      g.classList.toggle("gt-current", current === i && s.type !== "done" && s.type !== "start");
      g.classList.toggle("gt-has-grad", gr !== null);
      g.classList.toggle("gt-final", st.final[i]);
      if (known) { g.setAttribute("data-value", String(S.fw.values[i])); } else { g.removeAttribute("data-value"); }
      if (gr !== null) { g.setAttribute("data-grad", String(gr)); } else { g.removeAttribute("data-grad"); }
    });
    model.edges.forEach(function (e, k) {
      var g = edgeEls[k];
      var shown = st.used[k] || s.type === "done";
      paint(edgeTags[k] || [], { l: shown ? S.fw.locals[k] : null });
      if (!g) { return; }
      g.classList.toggle("gt-feed", s.type === "forward" && e.head === s.node);
      g.classList.toggle("gt-flow", s.type === "backward" && s.edge === k);
      g.classList.toggle("gt-used", st.used[k] && !(s.type === "backward" && s.edge === k));
      if (shown) { g.setAttribute("data-local", String(S.fw.locals[k])); } else { g.removeAttribute("data-local"); }
    });
    redrawFolded(s, st);
    S.callout = callout;
    placeCallout(callout);
    explain(st);
    renderResults(st);
    if (S.selected !== null) { renderPaths(); }
    if (model.data) { paintWeights(); }
  }

  // At a fan-out node the running sum floats under the node: this is where the paths meet.
  // It is placed beside the node, never on it: below, above, right or left, the first side where
  // it fits inside the visible drawing, preferring the side that covers the fewest other nodes.
  function placeCallout(c) {
    var box = $("gt-callout"), g = c ? elementOf(c.node) : null;
    if (!c || !g) { box.hidden = true; box.removeAttribute("data-node"); return; }
    box.textContent = c.text;
    box.setAttribute("data-node", model.nodes[c.node].name);
    box.hidden = false;
    var r = g.getBoundingClientRect(), view = paneBox();
    var pane = document.querySelector(".gt-graph-pane").getBoundingClientRect();
    var w = box.offsetWidth, h = box.offsetHeight, gap = 10;
    var sides = [
      ["below", r.left + r.width / 2 - w / 2, r.bottom + gap],
      ["above", r.left + r.width / 2 - w / 2, r.top - gap - h],
      ["right", r.right + gap, r.top + r.height / 2 - h / 2],
      ["left", r.left - gap - w, r.top + r.height / 2 - h / 2]];
    var others = nodeEls.filter(function (e) { return e && e !== g; }).map(function (e) { return e.getBoundingClientRect(); });
    function overlap(x, y, b) { return x < b.right && x + w > b.left && y < b.bottom && y + h > b.top; }
    var best = null;
    sides.forEach(function (sd, k) {
      // kept inside the visible drawing along the side, so the arrow still points at the node
      var x = sd[0] === "below" || sd[0] === "above" ? Math.max(view.left, Math.min(sd[1], view.right - w)) : sd[1];
      var y = sd[0] === "left" || sd[0] === "right" ? Math.max(view.top, Math.min(sd[2], view.bottom - h)) : sd[2];
      var inside = x >= view.left - 1 && x + w <= view.right + 1 && y >= view.top - 1 && y + h <= view.bottom + 1;
      var covers = others.filter(function (b) { return overlap(x, y, b); }).length;
      var score = (inside ? 0 : 1000) + covers * 10 + k;
      if (!overlap(x, y, r) && (best === null || score < best.score)) { best = { side: sd[0], x: x, y: y, score: score }; }
    });
    if (!best) { best = { side: "below", x: r.left, y: r.bottom + gap }; }
    box.className = "gt-callout gt-callout-" + best.side;
    box.style.left = (best.x - pane.left) + "px";
    box.style.top = (best.y - pane.top) + "px";
    box.setAttribute("data-side", best.side);
  }

  function renderResults(st) {
    var body = document.querySelector("#gt-results tbody");
    body.innerHTML = "";
    var shownRows = 0;
    model.nodes.forEach(function (n, i) {
      if (!n.named && i !== model.output) { return; }
      // A big network lists its first rows only (and always the output and the selected node).
      if (shownRows >= MAX_ROWS && i !== model.output && i !== S.selected) { return; }
      shownRows += 1;
      var tr = el("tr", { "data-node": n.name, "class": "gt-row-" + n.kind + (i === S.selected ? " gt-row-selected" : "") });
      var name = el("td", { "class": "gt-name" }, n.disp);
      var vcell = el("td", { "class": "gt-value" }, st.known[i] ? show(S.fw.values[i]) : "?");
      if (st.known[i]) { vcell.setAttribute("data-value", String(S.fw.values[i])); }
      var g = st.grad[i];
      var gcell = el("td", { "class": "gt-grad" + (g !== null && !st.final[i] ? " gt-partial" : "") }, g === null ? "?" : show(g) + (st.final[i] ? "" : " …"));
      if (g !== null) { gcell.setAttribute("data-grad", String(g)); }
      if (st.final[i]) { gcell.setAttribute("data-final", "true"); }
      tr.appendChild(name); tr.appendChild(vcell); tr.appendChild(gcell);
      tr.addEventListener("click", function () { selectNode(i); });
      body.appendChild(tr);
    });
  }

  /* ---- paths ------------------------------------------------------------------------------------ */
  function selectNode(i) {
    S.selected = i;
    if (i === null) {
      $("gt-paths").innerHTML = "";
      $("gt-paths").appendChild(el("p", { "class": "gt-muted" }, say("Click a node to list every path from it to the output.")));
      nodeEls.forEach(function (g) { if (g) { g.classList.remove("gt-on-path", "gt-off-path", "gt-selected"); } });
      edgeEls.concat(F.els).forEach(function (g) { if (g) { g.classList.remove("gt-on-path", "gt-off-path"); } });
      document.body.classList.remove("gt-paths-on");
      renderResults(C.stateAt(m, steps, S.fw, S.step));
      return;
    }
    // Paths are about the computed values: show the whole result with them.
    if (S.step !== steps.length - 1) { stop(); S.step = steps.length - 1; redraw(); return; }
    renderPaths();
    renderResults(C.stateAt(m, steps, S.fw, S.step));
  }
  // Short names for path listings: a long expression becomes its op's glyph.
  function shortName(i) {
    var n = model.nodes[i];
    return n.named || n.disp.length <= 10 ? n.disp : model.ops[n.op].glyph;
  }
  function renderPaths() {
    var i = S.selected, box = $("gt-paths");
    var ps = C.pathSum(m, S.fw, i), on = ps.on;
    document.body.classList.add("gt-paths-on");
    nodeEls.forEach(function (g, j) {
      if (!g) { return; }
      g.classList.toggle("gt-on-path", on[j]);
      g.classList.toggle("gt-off-path", !on[j]);
      g.classList.toggle("gt-selected", j === i);
    });
    edgeEls.forEach(function (g, k) {
      if (!g) { return; }
      var e = model.edges[k], yes = on[e.tail] && on[e.head];
      g.classList.toggle("gt-on-path", yes);
      g.classList.toggle("gt-off-path", !yes);
    });
    pathsFolded(on);
    var list = C.enumeratePaths(m, S.fw, i, PATH_CAP);
    var paths = list.paths.slice();
    if (list.complete) { paths.sort(function (a, b) { return Math.abs(b.product) - Math.abs(a.product); }); }
    box.innerHTML = "";
    box.setAttribute("data-wrt", model.nodes[i].name);
    box.setAttribute("data-count", ps.count.toString());
    box.setAttribute("data-sum", String(ps.sum));
    box.setAttribute("data-backprop", String(S.grads[i]));
    var head = el("div", { "class": "gt-paths-head" });
    head.appendChild(el("div", { "class": "gt-formula" }, dd(i) + " = " + say(ps.count === BigInt(1) ? "sum over {n} path" : "sum over {n} paths", { n: ps.count.toString() })));
    box.appendChild(head);
    if (ps.count === BigInt(0)) {
      box.appendChild(el("p", { "class": "gt-muted" }, say("The output does not depend on {name}: no paths, gradient 0.", { name: nameOf(i) })));
      return;
    }
    var table = el("table", { "class": "gt-path-table", id: "gt-path-table" });
    var thead = el("thead"), hr = el("tr");
    ["#", say("path"), say("factors (local derivatives)"), say("product")].forEach(function (h) { hr.appendChild(el("th", null, h)); });
    thead.appendChild(hr); table.appendChild(thead);
    var tbody = el("tbody");
    paths.forEach(function (p, r) {
      var tr = el("tr", { "data-product": String(p.product) });
      tr.appendChild(el("td", { "class": "gt-num" }, String(r + 1)));
      tr.appendChild(el("td", { "class": "gt-path" }, p.nodes.map(shortName).join(" → ")));
      tr.appendChild(el("td", { "class": "gt-factors" }, p.factors.map(num).join(" · ")));
      tr.appendChild(el("td", { "class": "gt-num" }, show(p.product)));
      tr.addEventListener("mouseenter", function () { highlightPath(p); });
      tr.addEventListener("mouseleave", function () { highlightPath(null); });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    var tfoot = el("tfoot");
    var f1 = el("tr", { "class": "gt-sum-row" });
    f1.appendChild(el("td"));
    f1.appendChild(el("td", { colspan: "2" }, say("sum over all {n} paths (forward DP)", { n: ps.count.toString() })));
    f1.appendChild(el("td", { "class": "gt-num", id: "gt-path-sum" }, show(ps.sum)));
    var f2 = el("tr", { "class": "gt-bp-row" });
    f2.appendChild(el("td"));
    var agree = Math.abs(ps.sum - S.grads[i]) <= 1e-9 * Math.max(1, Math.abs(ps.sum));
    f2.appendChild(el("td", { colspan: "2" }, say("backprop {dd}", { dd: dd(i) }) + (agree ? "  ✓ " + say("equal") : "  ✗ " + say("differs"))));
    f2.appendChild(el("td", { "class": "gt-num", id: "gt-path-backprop" }, show(S.grads[i])));
    tfoot.appendChild(f1); tfoot.appendChild(f2);
    table.appendChild(tfoot);
    box.appendChild(table);
    if (!list.complete) {
      box.appendChild(el("p", { "class": "gt-muted" }, say("Listing the first {k} of {n} paths; the sum above covers all of them.", { k: PATH_CAP, n: ps.count.toString() })));
    }
  }
  function highlightPath(p) {
    edgeEls.forEach(function (g) { if (g) { g.classList.remove("gt-hover-path"); } });
    if (!p) { return; }
    p.edges.forEach(function (k) { if (edgeEls[k]) { edgeEls[k].classList.add("gt-hover-path"); } });
  }

  /* ---- inputs and params ------------------------------------------------------------------------- */
  function currentValue(i) {
    return Object.prototype.hasOwnProperty.call(S.over, i) ? S.over[i] : model.nodes[i].value;
  }
  function buildInputs() {
    var box = $("gt-inputs"), count = 0, total = 0;
    box.innerHTML = "";
    model.nodes.forEach(function (n, i) {
      if (n.kind !== "input" && n.kind !== "param") { return; }
      total += 1;
      if (count >= MAX_ROWS) { return; }
      count += 1;
      var row = el("div", { "class": "gt-input-row gt-input-" + n.kind, "data-node": n.name });
      var span = Math.max(2, 2 * Math.abs(n.value));
      var label = el("label", { "for": "gt-num-" + i }, n.disp);
      var range = el("input", { type: "range", min: String(n.value - span), max: String(n.value + span), step: "any", value: String(n.value), "aria-label": n.disp, id: "gt-range-" + i });
      var number = el("input", { type: "number", step: "any", value: String(n.value), id: "gt-num-" + i, "data-node": n.name });
      function set(v, from) {
        if (!isFinite(v)) { return; }
        S.over[i] = v;
        if (from !== range) { range.value = String(v); }
        if (from !== number) { number.value = String(+v.toPrecision(6)); }
        recompute();
        S.step = steps.length - 1;  // a live change shows the whole result
        redraw();
      }
      range.addEventListener("input", function () { set(parseFloat(range.value), range); });
      number.addEventListener("input", function () { set(parseFloat(number.value), number); });
      number.addEventListener("change", function () { set(parseFloat(number.value), number); });
      row.appendChild(label); row.appendChild(range); row.appendChild(number);
      row.appendChild(el("span", { "class": "gt-kind" }, n.kind));
      box.appendChild(row);
    });
    if (total > count) { box.appendChild(el("p", { "class": "gt-muted" }, say("The first {k} of {n} inputs and params.", { k: count, n: total }))); }
  }
  function syncInputs() {
    model.nodes.forEach(function (n, i) {
      if (n.kind !== "input" && n.kind !== "param") { return; }
      var v = currentValue(i), number = $("gt-num-" + i), range = $("gt-range-" + i);
      if (number && document.activeElement !== number) { number.value = String(+v.toPrecision(6)); }
      if (range) {
        // Training can carry a param past the slider's ends: widen them instead of clamping.
        if (v < +range.min) { range.min = String(v - 0.25 * Math.abs(v)); }
        if (v > +range.max) { range.max = String(v + 0.25 * Math.abs(v)); }
        range.value = String(v);
      }
    });
  }

  /* ---- stepping ------------------------------------------------------------------------------------ */
  function go(k) {
    S.step = Math.max(0, Math.min(steps.length - 1, k));
    redraw();
    if (S.step === steps.length - 1) { stop(); }
  }
  function stop() {
    if (S.timer) { clearInterval(S.timer); S.timer = null; }
    $("gt-play").textContent = "▶ " + say("play");
  }
  function play() {
    if (S.timer) { stop(); return; }
    if (S.step === steps.length - 1) { go(0); }
    $("gt-play").textContent = "❚❚ " + say("pause");
    S.timer = setInterval(function () { go(S.step + 1); }, 900);
  }
  function keys(ev) {
    var t = ev.target && ev.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") { return; }
    if (ev.shiftKey && ev.key.indexOf("Arrow") === 0) {
      var pr = paneBox(), pd = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[ev.key];
      if (pd) { panBy(pd[0] * pr.width / 6, pd[1] * pr.height / 6); ev.preventDefault(); }
    }
    else if (ev.key === "ArrowRight") { stop(); go(S.step + 1); ev.preventDefault(); }
    else if (ev.key === "ArrowLeft") { stop(); go(S.step - 1); ev.preventDefault(); }
    else if (ev.key === " ") { play(); ev.preventDefault(); }
    else if (ev.key === "r" || ev.key === "R") { stop(); go(0); }
    else if (ev.key === "e" || ev.key === "E") { stop(); go(steps.length - 1); }
    else if (ev.key === "z" || ev.key === "Z") { zoom(); }
    else if (ev.key === "+" || ev.key === "=") { zoomBy(1.25); }
    else if (ev.key === "-" || ev.key === "_") { zoomBy(0.8); }
    else if (ev.key === "0") { zoomFit(); }

    else if (ev.key === "Escape") { selectNode(null); }
  }

  /* ---- training view -------------------------------------------------------------------------------- */
  var T = null;
  // One convention with the diagrams and the training plots: blue + (class 1), orange − (class 0).
  var COLORS = (model.trainable && model.trainable.colors) || { positive: "#2166ac", negative: "#e0701b" };
  function rgbOf(hex) { return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)]; }
  function strokeEdge(g, col, width) {
    Array.prototype.forEach.call(g.querySelectorAll("path:not(.gt-hit)"), function (path) {
      path.style.stroke = col; path.style.strokeWidth = String(width);
    });
    Array.prototype.forEach.call(g.querySelectorAll("polygon"), function (poly) { poly.style.fill = col; poly.style.stroke = col; });
  }
  function paintWeights() {
    var params = [];
    model.nodes.forEach(function (n, i) { if (n.kind === "param" && n.role !== "bias") { params.push(i); } });
    var maxAbs = 1e-12;
    params.forEach(function (p) { maxAbs = Math.max(maxAbs, Math.abs(currentValue(p))); });
    function colour(w) { return w >= 0 ? COLORS.positive : COLORS.negative; }
    var V = currentView();
    if (V.edges) {  // a folded view: each weight is one edge (the neuron level), as in TF Playground
      V.edges.forEach(function (ve, j) {
        if (ve.weight === undefined || !F.els[j]) { return; }
        var w = currentValue(ve.weight);
        strokeEdge(F.els[j], colour(w), 0.8 + 4.5 * Math.abs(w) / maxAbs);
      });
    }
    params.forEach(function (p) {
      var w = currentValue(p);
      m.outEdges[p].forEach(function (k) {
        if (edgeEls[k]) { strokeEdge(edgeEls[k], colour(w), 1 + 5 * Math.abs(w) / maxAbs); }
      });
      var ng = nodeEls[p];
      if (ng) { ng.classList.toggle("gt-w-pos", w >= 0); ng.classList.toggle("gt-w-neg", w < 0); }
    });
  }
  function buildTraining() {
    var d = model.data;
    $("gt-train-card").hidden = false;
    document.body.classList.add("gt-training");
    var box = $("gt-train");
    box.innerHTML = "";
    var params = [];
    model.nodes.forEach(function (n, i) { if (n.kind === "param") { params.push(i); } });
    T = { params: params, order: [], ptr: 0, random: C.rng(0), history: [], steps: 0 };
    for (var r = 0; r < d.rows.length; r++) { T.order.push(r); }
    for (var q = T.order.length - 1; q > 0; q--) {  // one seeded shuffle, then batches in turn
      var j = Math.floor(T.random() * (q + 1)), t = T.order[q];
      T.order[q] = T.order[j]; T.order[j] = t;
    }
    T.initial = params.map(function (p) { return model.nodes[p].value; });
    var controls = el("div", { "class": "gt-train-controls" });
    function field(label, id, value, attrs) {
      var wrapEl = el("label", { "class": "gt-field" }, label + " ");
      var inp = el("input", Object.assign({ type: "number", id: id, value: String(value), step: "any" }, attrs || {}));
      wrapEl.appendChild(inp); controls.appendChild(wrapEl);
      return inp;
    }
    T.lr = field(say("learning rate"), "gt-lr", d.lr || 0.5, { min: "0" });  // d.lr, d.batch: the page's start
    T.batch = field(say("batch"), "gt-batch", Math.min(d.batch || 10, d.rows.length), { min: "1", step: "1" });
    T.speed = field(say("steps/s"), "gt-speed", 1000, { min: "1", step: "1" });
    var buttons = el("div", { "class": "gt-train-buttons" });
    var playBtn = el("button", { type: "button", id: "gt-train-play" }, "▶ " + say("train"));
    var stepBtn = el("button", { type: "button", id: "gt-train-step" }, say("one step"));
    var resetBtn = el("button", { type: "button", id: "gt-train-reset" }, say("reset weights"));
    buttons.appendChild(playBtn); buttons.appendChild(stepBtn); buttons.appendChild(resetBtn);
    var stats = el("div", { "class": "gt-train-stats", id: "gt-train-stats" });
    var lossCanvas = el("canvas", { width: "420", height: "130", id: "gt-loss", "class": "gt-canvas" });
    var mapCanvas = el("canvas", { width: "280", height: "280", id: "gt-boundary", "class": "gt-canvas" });
    var left = el("div", { "class": "gt-train-left" }), right = el("div", { "class": "gt-train-right" });
    left.appendChild(el("p", { "class": "gt-muted" }, say(d.n_total > d.rows.length
      ? "Gradient descent on {rows} of {total} rows of {name}: each step averages the gradients of one batch (in one vectorised pass) and moves every param against it. Edge colour: the weight's sign (blue +, orange −, as in the diagrams); width: its size."
      : "Gradient descent on {rows} rows of {name}: each step averages the gradients of one batch (in one vectorised pass) and moves every param against it. Edge colour: the weight's sign (blue +, orange −, as in the diagrams); width: its size.",
      { rows: d.rows.length, total: d.n_total, name: d.name })));
    left.appendChild(controls); left.appendChild(buttons); left.appendChild(stats);
    left.appendChild(el("div", { "class": "gt-caption" }, say("loss over the whole data set")));
    left.appendChild(lossCanvas);
    right.appendChild(el("div", { "class": "gt-caption" }, d.classes
      ? say("the class of the largest of {k} logits over the plane ({classes} in the points' colours; paler where two logits are close); click a point to trace it in the graph",
        { k: d.classes.length, classes: d.classes.map(function (_, k) { return say("class {c}", { c: k }); }).join(", ") })
      : say("prediction {name} over the plane (blue 1, orange 0); click a point to trace it in the graph", { name: nameOf(d.predict) })));
    right.appendChild(mapCanvas);
    box.appendChild(left); box.appendChild(right);
    playBtn.addEventListener("click", function () {
      if (S.trainTimer) { stopTraining(); return; }
      playBtn.textContent = "❚❚ " + say("pause");
      var now = performance.now();
      T.run = { start: now, steps: T.steps, last: now, drawn: now, owed: 0 };
      S.trainTimer = true;
      S.trainFrame = schedule(trainFrame);
    });
    stepBtn.addEventListener("click", function () { trainOnce(); });
    resetBtn.addEventListener("click", function () {
      stopTraining();
      T.params.forEach(function (p, q) { S.over[p] = T.initial[q]; });
      T.history = []; T.steps = 0; T.ptr = 0;
      afterTraining();
    });
    mapCanvas.addEventListener("click", function (ev) { pickSample(ev, mapCanvas); });
    setupBounds();
    useSample(0);
    afterTraining();
  }
  // A frame of live training: as many steps as the speed asks for (at most 12 ms of them, so the
  // page stays responsive), the page redrawn ten times a second, the rate achieved measured.
  function schedule(f) { return document.visibilityState === "hidden" ? setTimeout(f, 16) : requestAnimationFrame(f); }
  function trainFrame() {
    if (!S.trainTimer) { return; }
    var run = T.run, now = performance.now(), speed = Math.max(1, +T.speed.value || 1000);
    run.owed = Math.min(run.owed + speed * Math.min(0.25, (now - run.last) / 1000), speed * 0.25 + 1);
    run.last = now;
    var until = now + 12, n = 0;
    while (run.owed >= 1 && S.trainTimer) {
      trainOnce(true);
      run.owed -= 1;
      if (((++n) & 15) === 0 && performance.now() > until) { break; }
    }
    if (!S.trainTimer) { return; }
    var after = performance.now();
    T.rate = (T.steps - run.steps) / Math.max(1e-3, (after - run.start) / 1000);
    if (after - run.drawn >= 100) { run.drawn = after; afterTraining(); }
    S.trainFrame = schedule(trainFrame);
  }
  function stopTraining() {
    if (S.trainTimer) {
      S.trainTimer = null;
      if (T && T.run) { afterTraining(); }
    }
    var b = $("gt-train-play");
    if (b) { b.textContent = "▶ " + say("train"); }
  }
  function withoutData() {
    var o = Object.assign({}, S.over);
    model.data.columns.forEach(function (idx) { delete o[idx]; });
    return o;
  }
  function trainOnce(quiet) {
    var d = model.data, B = Math.max(1, Math.min(d.rows.length, Math.round(+T.batch.value) || 1));
    var lr = +T.lr.value;
    if (!isFinite(lr) || lr <= 0) { return; }
    var batch = [];
    for (var q = 0; q < B; q++) { batch.push(T.order[(T.ptr + q) % T.order.length]); }
    T.ptr = (T.ptr + B) % T.order.length;
    var o = withoutData();
    var r = C.trainStep(m, o, d, batch, lr, T.params);
    T.params.forEach(function (p) { S.over[p] = o[p]; });
    T.steps += 1;
    if (!isFinite(r.loss)) { stopTraining(); quiet = false; }
    // The whole data set's loss is measured when the page is redrawn, not after every step.
    if (!quiet) { afterTraining(); }
  }
  function afterTraining() {
    var ev = C.evaluateData(m, withoutData(), model.data);
    var last = T.history[T.history.length - 1];
    if (!last || last[0] !== T.steps) { T.history.push([T.steps, ev.loss]); }
    useSample(S.sample, true);
    var stats = $("gt-train-stats");
    stats.textContent = say("step {k} · loss {loss}", { k: T.steps, loss: show(ev.loss) }) +
      (ev.accuracy === null ? "" : " · " + say("accuracy {a}%", { a: (100 * ev.accuracy).toFixed(1) }));
    stats.setAttribute("data-loss", String(ev.loss));
    stats.setAttribute("data-steps", String(T.steps));
    if (T.rate) {
      stats.textContent += " · " + Math.round(T.rate).toLocaleString("en-US") + " " + say("steps/s");
      stats.setAttribute("data-rate", String(T.rate));
    }
    drawLoss(); drawBoundary();
  }
  function useSample(r, quiet) {
    var d = model.data;
    S.sample = r;
    d.columns.forEach(function (idx, c) { S.over[idx] = d.rows[r][c]; });
    recompute();
    S.step = steps.length - 1;
    syncInputs();
    redraw();
    if (!quiet) { drawBoundary(); }
  }
  function setupBounds() {
    var d = model.data, fx = d.columns.indexOf(d.features[0]), fy = d.columns.indexOf(d.features[1]);
    var xs = d.rows.map(function (r) { return r[fx]; }), ys = fy >= 0 ? d.rows.map(function (r) { return r[fy]; }) : xs.map(function () { return 0; });
    function range(a) {
      var lo = Math.min.apply(null, a), hi = Math.max.apply(null, a), pad = 0.08 * (hi - lo || 1);
      return [lo - pad, hi + pad];
    }
    T.fx = fx; T.fy = fy; T.xr = range(xs); T.yr = range(ys);
  }
  function drawLoss() {
    var c = $("gt-loss"), ctx = c.getContext("2d"), h = T.history;
    ctx.clearRect(0, 0, c.width, c.height);
    ctx.fillStyle = "#f7f8fa"; ctx.fillRect(0, 0, c.width, c.height);
    if (h.length < 1) { return; }
    var losses = h.map(function (p) { return p[1]; }).filter(isFinite);
    var hi = Math.max.apply(null, losses.concat([1e-12])), span = Math.max(1, h[h.length - 1][0]);
    ctx.strokeStyle = "#c92a2a"; ctx.lineWidth = 1.8; ctx.beginPath();
    h.forEach(function (p, i) {
      var x = 6 + (c.width - 12) * p[0] / span;
      var y = c.height - 6 - (c.height - 20) * (isFinite(p[1]) ? p[1] : hi) / hi;
      if (i === 0) { ctx.moveTo(x, y); } else { ctx.lineTo(x, y); }
    });
    ctx.stroke();
    ctx.fillStyle = "#5f6b7a"; ctx.font = "11px system-ui, sans-serif";
    ctx.fillText(show(hi), 6, 12);
    ctx.fillText("0", 6, c.height - 8);
    ctx.textAlign = "right";
    ctx.fillText(say("step {k}", { k: h[h.length - 1][0] }), c.width - 6, 12);
    ctx.textAlign = "left";
  }
  function drawBoundary() {
    var c = $("gt-boundary");
    if (!c || !T) { return; }
    var ctx = c.getContext("2d"), d = model.data, N = 50, W = c.width, H = c.height;
    var o = withoutData(), img = ctx.createImageData(W, H);
    var cell = [], xs = new Float64Array(N * N), ys = new Float64Array(N * N);
    for (var gy = 0; gy < N; gy++) {
      for (var gx = 0; gx < N; gx++) {
        xs[gy * N + gx] = T.xr[0] + (gx + 0.5) / N * (T.xr[1] - T.xr[0]);
        ys[gy * N + gx] = T.yr[1] - (gy + 0.5) / N * (T.yr[1] - T.yr[0]);
      }
    }
    // The whole grid in one vectorised pass (2,500 points).
    var keys = d.features.length > 1 ? [d.features[0], d.features[1]] : [d.features[0]];
    var read = d.classes ? d.classes : [d.predict];
    var got = C.evaluatePoints(m, o, keys, keys.length > 1 ? [xs, ys] : [xs], read), vals = [];
    for (var q0 = 0; q0 < N * N; q0++) {
      if (d.classes) {
        d.classes.forEach(function (cls, k) { vals[cls] = got[k][q0]; });
        var b = C.bestClass(vals, d.classes);
        cell.push(isFinite(b.lead) ? b : { k: b.k, lead: 0 });
      } else {
        var p = got[0][q0];
        cell.push(isFinite(p) ? Math.max(0, Math.min(1, p)) : 0.5);
      }
    }
    var palette = (d.class_colors || []).map(function (hex) {
      return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
    });
    for (var py = 0; py < H; py++) {
      for (var px = 0; px < W; px++) {
        var t = cell[Math.floor(py * N / H) * N + Math.floor(px * N / W)], a, rgb;
        if (d.classes) {  // the class's colour, paler where the two largest logits are close
          a = Math.min(1, t.lead / 2); rgb = palette[t.k];
        } else {  // blue (1) ↔ white (0.5) ↔ orange (0), like TensorFlow Playground and the plots
          a = Math.abs(t - 0.5) * 2; rgb = t >= 0.5 ? rgbOf(COLORS.positive) : rgbOf(COLORS.negative);
        }
        var q = 4 * (py * W + px);
        img.data[q] = Math.round(255 + (rgb[0] - 255) * a * 0.6);
        img.data[q + 1] = Math.round(255 + (rgb[1] - 255) * a * 0.6);
        img.data[q + 2] = Math.round(255 + (rgb[2] - 255) * a * 0.6);
        img.data[q + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    var yCol = d.columns.indexOf(d.target);
    d.rows.forEach(function (r, i) {
      var px = (r[T.fx] - T.xr[0]) / (T.xr[1] - T.xr[0]) * W;
      var py = T.fy >= 0 ? (T.yr[1] - r[T.fy]) / (T.yr[1] - T.yr[0]) * H : H / 2;
      ctx.beginPath(); ctx.arc(px, py, i === S.sample ? 5 : 3, 0, 2 * Math.PI);
      ctx.fillStyle = yCol < 0 ? "#666" : d.classes ? (d.class_colors[r[yCol]] || "#666")
        : (r[yCol] > 0.5 ? COLORS.positive : COLORS.negative);
      ctx.fill();
      ctx.lineWidth = i === S.sample ? 2 : 0.8; ctx.strokeStyle = i === S.sample ? "#000" : "#fff"; ctx.stroke();
    });
  }
  function pickSample(ev, c) {
    var rect = c.getBoundingClientRect(), d = model.data;
    var px = (ev.clientX - rect.left) * c.width / rect.width, py = (ev.clientY - rect.top) * c.height / rect.height;
    var best = 0, bd = Infinity;
    d.rows.forEach(function (r, i) {
      var x = (r[T.fx] - T.xr[0]) / (T.xr[1] - T.xr[0]) * c.width;
      var y = T.fy >= 0 ? (T.yr[1] - r[T.fy]) / (T.yr[1] - T.yr[0]) * c.height : c.height / 2;
      var dist = (x - px) * (x - px) + (y - py) * (y - py);
      if (dist < bd) { bd = dist; best = i; }
    });
    useSample(best);
  }

  /* ---- your own data: a CSV dropped onto the page or picked --------------------------------------- */
  // Checked as the command line checks it (graphtrace.data.read_csv, then the columns against the
  // script's inputs), with the same messages; on success the training view trains on it.
  function loadCsv(text, name) {
    var box = $("gt-data-error");
    $("gt-train-card").hidden = false;
    var d;
    try {
      if (!model.trainable) { throw Object.assign(new Error(say("{title} declares no param: there is nothing to train", { title: model.title })), { graphtrace: true }); }
      d = C.dataFromCsv(text, name, model.trainable, model.ui);
    } catch (err) {
      if (!err.graphtrace) { throw err; }
      box.textContent = err.message;
      box.hidden = false;
      document.body.setAttribute("data-csv-error", "true");
      return false;
    }
    box.hidden = true;
    document.body.removeAttribute("data-csv-error");
    stopTraining();
    if (model.data) {  // the old data's values leave the inputs; the trained params stay
      model.data.columns.forEach(function (idx) { delete S.over[idx]; });
      d.lr = model.data.lr; d.batch = model.data.batch;
    }
    model.data = d;
    S.sample = 0;
    buildTraining();
    document.body.setAttribute("data-csv", name);
    return true;
  }
  function readFile(file) {
    if (!file) { return; }
    var reader = new FileReader();
    reader.onload = function () { loadCsv(String(reader.result), file.name); };
    reader.readAsText(file);
  }
  function setupDrop() {
    if (!model.trainable && !model.data) { return; }
    $("gt-train-card").hidden = false;
    $("gt-csv").addEventListener("change", function (ev) { readFile(ev.target.files && ev.target.files[0]); ev.target.value = ""; });
    function hasFiles(ev) { return ev.dataTransfer && Array.prototype.indexOf.call(ev.dataTransfer.types || [], "Files") >= 0; }
    document.addEventListener("dragover", function (ev) {
      if (!hasFiles(ev)) { return; }
      ev.preventDefault();
      document.body.classList.add("gt-drop");
    });
    document.addEventListener("dragleave", function (ev) { if (!ev.relatedTarget) { document.body.classList.remove("gt-drop"); } });
    document.addEventListener("drop", function (ev) {
      if (!ev.dataTransfer || !ev.dataTransfer.files || !ev.dataTransfer.files.length) { return; }
      ev.preventDefault();
      document.body.classList.remove("gt-drop");
      readFile(ev.dataTransfer.files[0]);
    });
  }

  /* ---- start ------------------------------------------------------------------------------------------ */
  function start() {
    recompute();
    var first = document.querySelector("#gt-svg svg");
    if (first) { F.cache[0] = first.cloneNode(true); }  // view 0 as drawn, for switching back to it
    setupSvg();
    buildLevels();
    buildInputs();
    $("gt-next").addEventListener("click", function () { stop(); go(S.step + 1); });
    $("gt-prev").addEventListener("click", function () { stop(); go(S.step - 1); });
    $("gt-play").addEventListener("click", play);
    $("gt-reset").addEventListener("click", function () { stop(); go(0); });
    $("gt-end").addEventListener("click", function () { stop(); go(steps.length - 1); });
    $("gt-zoom").addEventListener("click", zoom);
    $("gt-restore").addEventListener("click", function () {
      S.over = {};
      if (model.data) { useSample(S.sample); }
      recompute(); syncInputs(); redraw();
    });
    document.addEventListener("keydown", keys);
    redraw();
    setupDrop();
    if (model.data) { buildTraining(); }
    if (model.wrt !== null && model.wrt !== undefined) { S.step = steps.length - 1; selectNode(model.wrt); redraw(); }
    document.body.setAttribute("data-ready", "true");
    window.graphtraceExplorer = { model: model, steps: steps, state: S, go: go, select: selectNode,
      trainSteps: function (n) { for (var q = 0; q < (n || 1); q++) { trainOnce(q < (n || 1) - 1); } },
      view: function (level) { (model.views || []).forEach(function (v, k) { if (v.level === level) { switchView(k, null); } }); },
      zoom: function () { return Z.vb ? scaleNow() / PT : 1; }, loadCsv: loadCsv };
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}

/* ---- the model: inline JSON, or (a big network's page) gzip in base64 ------------------------ */
(function () {
  "use strict";
  if (typeof document === "undefined") { return; }
  function fail(text) {
    var box = document.createElement("p");
    box.className = "gt-data-error";
    box.setAttribute("role", "alert");
    box.textContent = text;
    document.body.insertBefore(box, document.body.firstChild);
  }
  var plain = document.getElementById("gt-model");
  if (plain) { graphtracePage(JSON.parse(plain.textContent)); return; }
  var packed = document.getElementById("gt-model-gz");
  if (!packed) { fail("graphtrace explorer: this page holds no model"); return; }
  if (typeof DecompressionStream === "undefined") {  // the words come with the page, in its language
    fail(packed.getAttribute("data-old-browser") || "DecompressionStream");
    return;
  }
  var raw = atob(packed.textContent.trim());
  var bytes = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  new Response(stream).text().then(function (text) { graphtracePage(JSON.parse(text)); },
    function (err) { fail((packed.getAttribute("data-damaged") || "") + " (" + err + ")"); });
})();
