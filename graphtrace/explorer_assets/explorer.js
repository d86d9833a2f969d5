/* graphtrace explorer: step through forward and backward passes, list paths, edit values, train.
 *
 * Two parts. GraphtraceCore is pure maths (forward, backward, path sums, number formatting, steps,
 * training) over an op table that it is given: the page inlines that table, generated from the op
 * registry, as the global GRAPHTRACE_OPS just before this file, so no op's maths is written here.
 * Each entry is { f, d }: f(a, b) gives the op's value and d holds one partial(o, a, b) per
 * operand, taking the output first. The core runs under node too: there require() gives its
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
      locals[k] = OPS[head.op].d[e.slot].apply(null, [values[e.head]].concat(hargs));
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
   * The step-through script (structure only, values are read when a step is shown): a start step,
   * one step per operation in topological order, the seed ∂L/∂L = 1, one step per edge of the
   * backward sweep (heads in reverse topological order, operands by slot; constants skipped), done.
   */
  function buildSteps(m) {
    var steps = [{ type: "start" }], out = m.output, nodes = m.nodes;
    var toOut = new Array(m.n).fill(false);
    toOut[out] = true;
    for (var u = out; u >= 0; u--) {
      if (!toOut[u]) { continue; }
      m.inEdges[u].forEach(function (k) { toOut[m.edges[k].tail] = true; });
    }
    for (var i = 0; i < m.n; i++) {
      if (nodes[i].kind === "op") { steps.push({ type: "forward", node: i }); }
    }
    steps.push({ type: "seed", node: out });
    for (var v = out; v >= 0; v--) {
      if (!toOut[v] || nodes[v].kind !== "op") { continue; }
      m.inEdges[v].forEach(function (k) {
        if (nodes[m.edges[k].tail].kind !== "const") { steps.push({ type: "backward", edge: k, node: m.edges[k].tail }); }
      });
    }
    steps.push({ type: "done" });
    return steps;
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
   * One gradient-descent step on the rows `batch` (indices into data.rows): the mean loss over the
   * batch and the mean gradient of every param, then param -= lr·gradient (written into `over`).
   */
  function trainStep(m, over, data, batch, lr, params) {
    var gsum = params.map(function () { return 0; }), loss = 0;
    batch.forEach(function (r) {
      var o = Object.assign({}, over), row = data.rows[r];
      data.columns.forEach(function (idx, c) { o[idx] = row[c]; });
      var fw = forwardPass(m, o), g = backwardPass(m, fw);
      loss += fw.values[m.output];
      params.forEach(function (p, q) { gsum[q] += g[p]; });
    });
    var grads = gsum.map(function (s) { return s / batch.length; });
    params.forEach(function (p, q) {
      var v = Object.prototype.hasOwnProperty.call(over, p) ? over[p] : m.nodes[p].value;
      over[p] = v - lr * grads[q];
    });
    return { loss: loss / batch.length, grads: grads };
  }

  /** Mean loss and accuracy (prediction ≥ 0.5 against 0/1 labels) over all rows. */
  function evaluateData(m, over, data) {
    var loss = 0, right = 0, labelled = 0, yCol = data.columns.indexOf(data.target);
    data.rows.forEach(function (row) {
      var o = Object.assign({}, over);
      data.columns.forEach(function (idx, c) { o[idx] = row[c]; });
      var fw = forwardPass(m, o);
      loss += fw.values[m.output];
      if (yCol >= 0) {
        labelled += 1;
        if ((fw.values[data.predict] >= 0.5 ? 1 : 0) === (row[yCol] > 0.5 ? 1 : 0)) { right += 1; }
      }
    });
    return { loss: loss / data.rows.length, accuracy: labelled ? right / labelled : null };
  }

  return { OPS: OPS, compile: compile, forwardPass: forwardPass, backwardPass: backwardPass,
    onPathNodes: onPathNodes, pathSum: pathSum, enumeratePaths: enumeratePaths,
    formatNumber: formatNumber, buildSteps: buildSteps, stateAt: stateAt, rng: rng,
    trainStep: trainStep, evaluateData: evaluateData };
});

/* ---- the page ------------------------------------------------------------------------------ */
(function () {
  "use strict";
  if (typeof document === "undefined") { return; }
  var C = window.GraphtraceCore;
  var SVGNS = "http://www.w3.org/2000/svg";
  var PATH_CAP = 200;
  var MAX_ROWS = 120;  // rows of the values and results tables for big networks

  var model = JSON.parse(document.getElementById("gt-model").textContent);
  var m = C.compile(model);
  var steps = C.buildSteps(m);
  var S = { over: {}, fw: null, grads: null, step: 0, timer: null, selected: null, trainTimer: null,
    sample: 0, history: [], trained: 0 };
  var nodeEls = [], edgeEls = [], nodeTags = [], edgeTags = [];
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
  function dd(i) { return "∂" + atomOf(model.output) + "/∂" + atomOf(i); }
  function num(x) { var s = show(x); return x < 0 ? "(" + s + ")" : s; }
  function infix(op, args) {
    return model.ops[op].infix.replace(/\{(\d)\}/g, function (_, k) { return args[+k]; });
  }

  /* ---- tagging the SVG's texts --------------------------------------------------------- */
  function variants(s) {
    var out = [s];
    if (s.charAt(0) === "-") { out.push("\u2212" + s.slice(1)); }
    return out;
  }
  function isNumChar(c) { return /[0-9.eE]/.test(c); }
  // Find `s` in `text` as a whole number (not inside a longer one); prefer it after "=".
  function findNumber(text, s) {
    var best = -1, bestScore = -1, from = 0;
    for (;;) {
      var i = text.indexOf(s, from);
      if (i < 0) { break; }
      from = i + 1;
      var before = text.charAt(i - 1), after = text.charAt(i + s.length);
      if ((before && (isNumChar(before) || before === "-" || before === "\u2212")) || (after && isNumChar(after))) { continue; }
      var score = /=\s*$/.test(text.slice(0, i)) ? 2 : (i === 0 ? 1 : 0);
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
      for (var t = 0; t < texts.length && !found[nd.role]; t++) {
        var ps = pieces[t];
        for (var p = 0; p < ps.length && !found[nd.role]; p++) {
          if (typeof ps[p] !== "string") { continue; }
          for (var q = 0; q < vs.length; q++) {
            var i = findNumber(ps[p], vs[q]);
            if (i >= 0) {
              var slot = { role: nd.role, minus: vs[q] !== nd.str };
              ps.splice(p, 1, ps[p].slice(0, i), slot, ps[p].slice(i + vs[q].length));
              found[nd.role] = true;
              break;
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
    if (vb && vb.width > 2.2 * vb.height) { document.body.classList.add("gt-wide"); }
    S.size = [svg.getAttribute("width"), svg.getAttribute("height")];
    svg.removeAttribute("width"); svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    // A small graph is enlarged to fit the pane, but no more than 1.6× (Graphviz sizes are in pt).
    if (parseFloat(S.size[0])) { svg.style.maxWidth = (parseFloat(S.size[0]) * 4 / 3 * 1.6) + "px"; }
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
      g.addEventListener("click", function (ev) { ev.stopPropagation(); selectNode(S.selected === i ? null : i); });
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
    svg.addEventListener("click", function () { selectNode(null); });
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
        text += p.minus ? s.replace(/^-/, "\u2212") : s;
      });
      t.el.textContent = text;
      // A grad or local label that is not known yet disappears; a value shows "?" meanwhile.
      var hasValue = t.pieces.some(function (p) { return typeof p !== "string" && p.role === "v"; });
      t.el.style.visibility = hiddenOnly && !hasValue ? "hidden" : "";
    });
  }

  /* ---- tooltip --------------------------------------------------------------------------- */
  function showTip(k, ev) {
    var e = model.edges[k], tip = $("gt-tooltip");
    var local = S.fw ? S.fw.locals[k] : e.local;
    tip.innerHTML = "";
    tip.appendChild(el("div", { "class": "gt-tip-title" }, "∂" + atomOf(e.head) + "/∂" + atomOf(e.tail)));
    tip.appendChild(el("div", { "class": "gt-tip-formula" }, "= " + e.symbolic));
    tip.appendChild(el("div", { "class": "gt-tip-value", "data-local": String(local) }, "= " + show(local)));
    tip.appendChild(el("div", { "class": "gt-muted" }, "local derivative of " + model.nodes[e.head].op + ", operand " + (e.slot + 1)));
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
    box.appendChild(el("span", { "class": "gt-lineno" }, "line " + n.line + "  "));
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
    var box = $("gt-explain"), s = steps[S.step], v = S.fw.values;
    box.innerHTML = "";
    var phase = $("gt-phase");
    if (s.type === "start") {
      phase.textContent = "Forward pass";
      addLine(box, "Inputs and params are given; every other value is computed from them, one node at a time, in topological order.", "gt-text");
      var leaves = model.nodes.filter(function (n) { return n.kind === "input" || n.kind === "param"; });
      leaves.forEach(function (n) { addLine(box, n.disp + " = " + show(v[n.index])); });
      addLine(box, "Press → (or ▶ play) to compute the first node.", "gt-hint");
    } else if (s.type === "forward") {
      var n = model.nodes[s.node];
      phase.textContent = "Forward pass · node " + n.disp;
      var names = n.args.map(function (j) { return atomOf(j); });
      var vals = n.args.map(function (j) { return num(v[j]); });
      var parts = [n.disp];
      if (n.named) { parts.push(infix(n.op, names)); }
      parts.push(infix(n.op, vals));
      parts.push(show(v[s.node]));
      addLine(box, parts.join(" = "));
      addLine(box, "The " + n.op + " node reads its operands' values (already computed: they come earlier in the order) and computes its own.", "gt-text");
      var src = sourceLine(s.node);
      if (src) { box.appendChild(src); }
    } else if (s.type === "seed") {
      phase.textContent = "Backward pass · start";
      addLine(box, dd(model.output) + " = 1");
      addLine(box, "The backward pass starts at the output: its derivative with respect to itself is 1. Then every edge is walked backwards, from the output towards the inputs, multiplying by the edge's local derivative.", "gt-text");
    } else if (s.type === "backward") {
      var e = model.edges[s.edge], k = s.edge;
      var gh = st.grad[e.head], loc = S.fw.locals[k], c = gh * loc;
      phase.textContent = "Backward pass · edge " + nameOf(e.tail) + " → " + nameOf(e.head);
      addLine(box, dd(e.tail) + " += " + dd(e.head) + " · ∂" + atomOf(e.head) + "/∂" + atomOf(e.tail));
      addLine(box, "= " + num(gh) + " · " + e.symbolic);
      addLine(box, "= " + num(gh) + " · " + num(loc) + " = " + show(c));
      var ps = st.parts[e.tail];
      if (ps.length > 1) {
        var fan = el("div", { "class": "gt-fanout" });
        fan.appendChild(el("div", { "class": "gt-fanout-title" }, "Paths meet at " + nameOf(e.tail) + " (it feeds " + m.outEdges[e.tail].length + " edges): the contributions add up"));
        fan.appendChild(el("div", { "class": "gt-formula" }, dd(e.tail) + " = " + ps.map(num).join(" + ") + " = " + show(st.grad[e.tail])));
        box.appendChild(fan);
      }
      addLine(box, st.final[e.tail] ? dd(e.tail) + " is now final: every edge leaving " + nameOf(e.tail) + " has been used." :
        dd(e.tail) + " is not final yet: more edges leave " + nameOf(e.tail) + ".", "gt-text");
    } else {
      phase.textContent = "Done";
      var params = model.nodes.filter(function (n) { return n.kind === "param"; });
      var what = params.length ? "params" : "inputs";
      if (!params.length) { params = model.nodes.filter(function (n) { return n.kind === "input"; }); }
      addLine(box, "Forward and backward passes complete. The gradients of the " + what + ":", "gt-text");
      params.slice(0, 6).forEach(function (n) { addLine(box, dd(n.index) + " = " + show(S.grads[n.index])); });
      if (params.length > 6) { addLine(box, "… and " + (params.length - 6) + " more in the results table.", "gt-hint"); }
      addLine(box, "Click any node to see every path from it to the output: the sum of the paths' products equals backprop's value.", "gt-hint");
    }
    if (S.fw.bad !== null) {
      addLine(box, "Warning: " + nameOf(S.fw.bad) + " is not a finite number with these values (outside the domain of " + model.nodes[S.fw.bad].op + ").", "gt-warning");
    }
  }

  /* ---- drawing the state ------------------------------------------------------------------------ */
  function redraw() {
    var s = steps[S.step], st = C.stateAt(m, steps, S.fw, S.step), last = steps.length - 1;
    document.body.setAttribute("data-phase", s.type);
    document.body.setAttribute("data-step", String(S.step));
    $("gt-counter").textContent = "step " + S.step + " / " + last;
    $("gt-prev").disabled = S.step === 0;
    $("gt-next").disabled = S.step === last;
    var current = s.type === "backward" ? model.edges[s.edge].tail : s.node;
    var callout = null;
    model.nodes.forEach(function (n, i) {
      var g = nodeEls[i];
      var known = st.known[i], gr = st.grad[i];
      if (gr !== null && st.parts[i].length > 1 && s.type === "backward" && current === i) {
        callout = { node: i, text: dd(i) + " = " + st.parts[i].map(num).join(" + ") + " = " + show(gr) };
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
    placeCallout(callout);
    explain(st);
    renderResults(st);
    if (S.selected !== null) { renderPaths(); }
    if (model.data) { paintWeights(); }
  }

  // At a fan-out node the running sum floats under the node: this is where the paths meet.
  function placeCallout(c) {
    var box = $("gt-callout");
    if (!c || !nodeEls[c.node]) { box.hidden = true; box.removeAttribute("data-node"); return; }
    var r = nodeEls[c.node].getBoundingClientRect();
    var pane = document.querySelector(".gt-graph-pane").getBoundingClientRect();
    box.textContent = c.text;
    box.setAttribute("data-node", model.nodes[c.node].name);
    box.hidden = false;
    box.style.left = (r.left - pane.left + r.width / 2) + "px";
    box.style.top = (r.bottom - pane.top + 8) + "px";
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
      $("gt-paths").appendChild(el("p", { "class": "gt-muted" }, "Click a node to list every path from it to the output."));
      nodeEls.forEach(function (g) { if (g) { g.classList.remove("gt-on-path", "gt-off-path", "gt-selected"); } });
      edgeEls.forEach(function (g) { if (g) { g.classList.remove("gt-on-path", "gt-off-path"); } });
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
    var list = C.enumeratePaths(m, S.fw, i, PATH_CAP);
    var paths = list.paths.slice();
    if (list.complete) { paths.sort(function (a, b) { return Math.abs(b.product) - Math.abs(a.product); }); }
    box.innerHTML = "";
    box.setAttribute("data-wrt", model.nodes[i].name);
    box.setAttribute("data-count", ps.count.toString());
    box.setAttribute("data-sum", String(ps.sum));
    box.setAttribute("data-backprop", String(S.grads[i]));
    var head = el("div", { "class": "gt-paths-head" });
    head.appendChild(el("div", { "class": "gt-formula" }, dd(i) + " = sum over " + ps.count.toString() + " path" + (ps.count === BigInt(1) ? "" : "s")));
    box.appendChild(head);
    if (ps.count === BigInt(0)) {
      box.appendChild(el("p", { "class": "gt-muted" }, "The output does not depend on " + nameOf(i) + ": no paths, gradient 0."));
      return;
    }
    var table = el("table", { "class": "gt-path-table", id: "gt-path-table" });
    var thead = el("thead"), hr = el("tr");
    ["#", "path", "factors (local derivatives)", "product"].forEach(function (h) { hr.appendChild(el("th", null, h)); });
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
    f1.appendChild(el("td", { colspan: "2" }, "sum over all " + ps.count.toString() + " paths (forward DP)"));
    f1.appendChild(el("td", { "class": "gt-num", id: "gt-path-sum" }, show(ps.sum)));
    var f2 = el("tr", { "class": "gt-bp-row" });
    f2.appendChild(el("td"));
    var agree = Math.abs(ps.sum - S.grads[i]) <= 1e-9 * Math.max(1, Math.abs(ps.sum));
    f2.appendChild(el("td", { colspan: "2" }, "backprop " + dd(i) + (agree ? "  ✓ equal" : "  ✗ differs")));
    f2.appendChild(el("td", { "class": "gt-num", id: "gt-path-backprop" }, show(S.grads[i])));
    tfoot.appendChild(f1); tfoot.appendChild(f2);
    table.appendChild(tfoot);
    box.appendChild(table);
    if (!list.complete) {
      box.appendChild(el("p", { "class": "gt-muted" }, "Listing the first " + PATH_CAP + " of " + ps.count.toString() + " paths; the sum above covers all of them."));
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
    if (total > count) { box.appendChild(el("p", { "class": "gt-muted" }, "The first " + count + " of " + total + " inputs and params.")); }
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
    $("gt-play").textContent = "▶ play";
  }
  function play() {
    if (S.timer) { stop(); return; }
    if (S.step === steps.length - 1) { go(0); }
    $("gt-play").textContent = "❚❚ pause";
    S.timer = setInterval(function () { go(S.step + 1); }, 900);
  }
  // Fit the drawing to the pane, or show it at its natural size (scrolling) for big graphs.
  function zoom() {
    var svg = document.querySelector("#gt-svg svg");
    if (!svg || !S.size) { return; }
    var full = !document.body.classList.contains("gt-full");
    document.body.classList.toggle("gt-full", full);
    if (full) {
      svg.setAttribute("width", String(parseFloat(S.size[0]) * 1.5) + "pt");
      svg.setAttribute("height", String(parseFloat(S.size[1]) * 1.5) + "pt");
    } else {
      svg.removeAttribute("width"); svg.removeAttribute("height");
    }
    $("gt-zoom").textContent = full ? "fit" : "full size";
    redraw();
  }
  function keys(ev) {
    var t = ev.target && ev.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") { return; }
    if (ev.key === "ArrowRight") { stop(); go(S.step + 1); ev.preventDefault(); }
    else if (ev.key === "ArrowLeft") { stop(); go(S.step - 1); ev.preventDefault(); }
    else if (ev.key === " ") { play(); ev.preventDefault(); }
    else if (ev.key === "r" || ev.key === "R") { stop(); go(0); }
    else if (ev.key === "e" || ev.key === "E") { stop(); go(steps.length - 1); }
    else if (ev.key === "z" || ev.key === "Z") { zoom(); }
    else if (ev.key === "Escape") { selectNode(null); }
  }

  /* ---- training view -------------------------------------------------------------------------------- */
  var T = null;
  function paintWeights() {
    var params = [];
    model.nodes.forEach(function (n, i) { if (n.kind === "param" && n.role !== "bias") { params.push(i); } });
    var maxAbs = 1e-12;
    params.forEach(function (p) { maxAbs = Math.max(maxAbs, Math.abs(currentValue(p))); });
    params.forEach(function (p) {
      var w = currentValue(p);
      m.outEdges[p].forEach(function (k) {
        var g = edgeEls[k];
        if (!g) { return; }
        var col = w >= 0 ? "#2166ac" : "#e0701b", width = 1 + 5 * Math.abs(w) / maxAbs;
        Array.prototype.forEach.call(g.querySelectorAll("path:not(.gt-hit)"), function (path) {
          path.style.stroke = col; path.style.strokeWidth = String(width);
        });
        Array.prototype.forEach.call(g.querySelectorAll("polygon"), function (poly) { poly.style.fill = col; poly.style.stroke = col; });
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
    T.lr = field("learning rate", "gt-lr", 0.5, { min: "0" });
    T.batch = field("batch", "gt-batch", Math.min(10, d.rows.length), { min: "1", step: "1" });
    T.speed = field("steps/s", "gt-speed", 50, { min: "1", step: "1" });
    var buttons = el("div", { "class": "gt-train-buttons" });
    var playBtn = el("button", { type: "button", id: "gt-train-play" }, "▶ train");
    var stepBtn = el("button", { type: "button", id: "gt-train-step" }, "one step");
    var resetBtn = el("button", { type: "button", id: "gt-train-reset" }, "reset weights");
    buttons.appendChild(playBtn); buttons.appendChild(stepBtn); buttons.appendChild(resetBtn);
    var stats = el("div", { "class": "gt-train-stats", id: "gt-train-stats" });
    var lossCanvas = el("canvas", { width: "420", height: "130", id: "gt-loss", "class": "gt-canvas" });
    var mapCanvas = el("canvas", { width: "280", height: "280", id: "gt-boundary", "class": "gt-canvas" });
    var left = el("div", { "class": "gt-train-left" }), right = el("div", { "class": "gt-train-right" });
    left.appendChild(el("p", { "class": "gt-muted" }, "Gradient descent on " + d.rows.length + (d.n_total > d.rows.length ? " of " + d.n_total : "") +
      " rows of " + d.name + ": each step averages the gradients of one batch and moves every param against it. Edge colour: the weight's sign (blue +, orange −); width: its size."));
    left.appendChild(controls); left.appendChild(buttons); left.appendChild(stats);
    left.appendChild(el("div", { "class": "gt-caption" }, "loss over the whole data set"));
    left.appendChild(lossCanvas);
    right.appendChild(el("div", { "class": "gt-caption" }, "prediction " + nameOf(d.predict) + " over the plane (blue 1, orange 0); click a point to trace it in the graph"));
    right.appendChild(mapCanvas);
    box.appendChild(left); box.appendChild(right);
    playBtn.addEventListener("click", function () {
      if (S.trainTimer) { stopTraining(); return; }
      playBtn.textContent = "❚❚ pause";
      var owed = 0;
      // 20 ticks a second; fast speeds run several steps per tick and draw once.
      S.trainTimer = setInterval(function () {
        owed += Math.max(1, +T.speed.value || 50) / 20;
        var n = Math.floor(owed);
        owed -= n;
        for (var q = 0; q < n && S.trainTimer; q++) { trainOnce(q < n - 1); }
      }, 50);
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
  function stopTraining() {
    if (S.trainTimer) { clearInterval(S.trainTimer); S.trainTimer = null; }
    var b = $("gt-train-play");
    if (b) { b.textContent = "▶ train"; }
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
    stats.textContent = "step " + T.steps + " · loss " + show(ev.loss) + (ev.accuracy === null ? "" : " · accuracy " + (100 * ev.accuracy).toFixed(1) + "%");
    stats.setAttribute("data-loss", String(ev.loss));
    stats.setAttribute("data-steps", String(T.steps));
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
    ctx.fillText("step " + h[h.length - 1][0], c.width - 6, 12);
    ctx.textAlign = "left";
  }
  function drawBoundary() {
    var c = $("gt-boundary");
    if (!c || !T) { return; }
    var ctx = c.getContext("2d"), d = model.data, N = 50, W = c.width, H = c.height;
    var o = withoutData(), img = ctx.createImageData(W, H);
    var cell = [];
    for (var gy = 0; gy < N; gy++) {
      for (var gx = 0; gx < N; gx++) {
        var x = T.xr[0] + (gx + 0.5) / N * (T.xr[1] - T.xr[0]);
        var y = T.yr[1] - (gy + 0.5) / N * (T.yr[1] - T.yr[0]);
        o[d.features[0]] = x;
        if (d.features.length > 1) { o[d.features[1]] = y; }
        var p = C.forwardPass(m, o).values[d.predict];
        cell.push(isFinite(p) ? Math.max(0, Math.min(1, p)) : 0.5);
      }
    }
    for (var py = 0; py < H; py++) {
      for (var px = 0; px < W; px++) {
        var t = cell[Math.floor(py * N / H) * N + Math.floor(px * N / W)];
        // blue (1) ↔ white (0.5) ↔ orange (0), like TensorFlow Playground
        var a = Math.abs(t - 0.5) * 2, rgb = t >= 0.5 ? [33, 102, 172] : [224, 112, 27];
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
      ctx.fillStyle = yCol < 0 ? "#666" : (r[yCol] > 0.5 ? "#2166ac" : "#e0701b");
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

  /* ---- start ------------------------------------------------------------------------------------------ */
  function start() {
    recompute();
    setupSvg();
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
    if (model.data) { buildTraining(); }
    if (model.wrt !== null && model.wrt !== undefined) { S.step = steps.length - 1; selectNode(model.wrt); redraw(); }
    document.body.setAttribute("data-ready", "true");
    window.graphtraceExplorer = { model: model, steps: steps, state: S, go: go, select: selectNode, trainSteps: function (n) { for (var q = 0; q < (n || 1); q++) { trainOnce(q < (n || 1) - 1); } } };
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
