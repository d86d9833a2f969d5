"""The explorer page in a real browser: headless Chromium (Debian's package) driven by Playwright.

Skips where /usr/bin/chromium or the playwright package is absent; never downloads a browser.
Screenshots go to a temporary folder, or to the folder named by GRAPHTRACE_SCREENSHOTS (the
README's images: ``GRAPHTRACE_SCREENSHOTS=docs/img pytest tests/test_browser.py``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from helpers import ROOT, SAMPLES, run_main

import graphtrace
from graphtrace import explorer
from graphtrace.report import fmt

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("GRAPHTRACE_SCREENSHOTS")
    folder = (ROOT / where) if where else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Page:
    """A loaded explorer page that refuses every request outside file:// and records JS errors."""

    def __init__(self, browser, html: Path, *, width: int = 1440, height: int = 900):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.route("**/*", self._route)
        self.page.goto(html.as_uri())
        self.page.wait_for_selector("body[data-ready=true]", timeout=10_000)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def js(self, expr: str):
        return self.page.evaluate(expr)

    def results(self) -> dict[str, dict]:
        """The results table: per named node, the value and gradient the page shows."""
        rows = self.js("""Array.from(document.querySelectorAll('#gt-results tbody tr')).map(function (tr) {
            var v = tr.querySelector('.gt-value'), g = tr.querySelector('.gt-grad');
            return [tr.dataset.node, v.dataset.value || null, v.textContent, g.dataset.grad || null,
                    g.dataset.final === 'true', g.textContent];
        })""")
        return {r[0]: {"value": r[1], "value_text": r[2], "grad": r[3], "final": r[4], "grad_text": r[5]}
                for r in rows}

    def step(self) -> int:
        return int(self.page.get_attribute("body", "data-step"))

    def finish(self) -> None:
        assert self.errors == [], self.errors
        assert self.requests == [], f"the page asked the network for {self.requests}"
        self.page.close()


def grad_json(path: Path, *extra: str) -> dict:
    g = graphtrace.load(path)
    args = ["grad", str(path), "--json", *extra]
    for name in g.names:
        args += ["--wrt", str(name)]
    code, out, err = run_main(args)
    assert code == 0, err
    return json.loads(out)


def shown(x: float) -> str:
    return fmt(x).replace("-", "−", 1) if fmt(x).startswith("-") else fmt(x)


@pytest.fixture(scope="module")
def neuron_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pages") / "neuron.html"
    explorer.write_html(graphtrace.load(SAMPLES / "neuron.gt"), path)
    return path


def test_step_through_forward_and_backward_shows_the_engine_values(browser, neuron_html: Path, shots: Path) -> None:
    expected = grad_json(SAMPLES / "neuron.gt")
    g = graphtrace.load(SAMPLES / "neuron.gt")
    order = [str(v) for v in g.order]
    p = Page(browser, neuron_html)
    n_steps = p.js("graphtraceExplorer.steps.length")
    n_ops = sum(1 for _, d in g.nx.nodes(data=True) if d["kind"] == "op")
    n_back = sum(1 for u, _v, _k in g.nx.edges(keys=True) if g.nx.nodes[u]["kind"] != "const")
    assert n_steps == 1 + n_ops + 1 + n_back + 1
    assert p.step() == 0
    fanout_step = None
    for k in range(1, n_steps):
        p.page.click("#gt-next")
        assert p.step() == k
        step = p.js(f"graphtraceExplorer.steps[{k}]")
        rows = p.results()
        phase = p.page.get_attribute("body", "data-phase")
        assert phase == step["type"]
        if phase == "forward":
            name = order[step["node"]]
            fwd_value = float(g.forward().values[name])
            assert close(float(p.page.get_attribute(f"#n{step['node']}", "data-value")), fwd_value)
            if name in rows:
                assert close(float(rows[name]["value"]), expected["values"][name]), (k, name)
                assert rows[name]["value_text"] == shown(expected["values"][name])
            later = [order[i] for i in range(step["node"] + 1, len(order)) if order[i] in rows]
            assert all(rows[n]["value"] is None and rows[n]["value_text"] == "?" for n in later), later
            assert p.js("document.getElementById('gt-explain').textContent").count("=") >= 2
        if phase == "backward":
            for name, row in rows.items():
                if row["final"]:
                    want = expected["gradients"][name]["backprop"]
                    assert close(float(row["grad"]), want), (k, name, row, want)
            if p.js("!document.getElementById('gt-callout').hidden"):
                fanout_step = k  # the last one, where the most of the backward pass is drawn
                callout = p.js("document.getElementById('gt-callout').textContent")
                assert "+" in callout and "=" in callout, callout
    rows = p.results()
    for name in expected["gradients"]:
        assert close(float(rows[name]["grad"]), expected["gradients"][name]["backprop"]), name
        assert rows[name]["final"] and rows[name]["grad_text"] == shown(expected["gradients"][name]["backprop"])
    assert p.page.is_disabled("#gt-next")
    assert fanout_step is not None, "no running sum shown at a fan-out node"
    p.js(f"graphtraceExplorer.go({fanout_step})")
    p.page.screenshot(path=str(shots / "explorer_neuron_backward.png"), full_page=True)
    p.finish()


def test_keys_step_play_and_reset(browser, neuron_html: Path) -> None:
    p = Page(browser, neuron_html)
    p.page.keyboard.press("ArrowRight")
    p.page.keyboard.press("ArrowRight")
    assert p.step() == 2
    p.page.keyboard.press("ArrowLeft")
    assert p.step() == 1
    p.page.keyboard.press("r")
    assert p.step() == 0
    p.page.keyboard.press(" ")
    p.page.wait_for_function("document.body.dataset.step >= 2", timeout=5_000)
    p.page.keyboard.press(" ")
    stopped = p.step()
    p.page.wait_for_timeout(1_200)
    assert p.step() == stopped, "space did not pause"
    # z: natural size (1:1), then back to fitting the pane
    fit = p.js("graphtraceExplorer.zoom()")
    p.page.keyboard.press("z")
    assert abs(p.js("graphtraceExplorer.zoom()") - 1) < 1e-6
    p.page.keyboard.press("z")
    assert abs(p.js("graphtraceExplorer.zoom()") - fit) < 1e-6
    p.finish()


def test_clicking_a_param_lists_its_paths(browser, neuron_html: Path) -> None:
    expected = grad_json(SAMPLES / "neuron.gt")
    g = graphtrace.load(SAMPLES / "neuron.gt")
    alpha = [str(v) for v in g.order].index("α")
    p = Page(browser, neuron_html)
    p.page.click(f"#n{alpha}")
    box = p.page.locator("#gt-paths")
    assert box.get_attribute("data-wrt") == "α"
    assert box.get_attribute("data-count") == "2" == str(expected["gradients"]["α"]["n_paths"])
    products = [float(x) for x in p.js("Array.from(document.querySelectorAll('#gt-path-table tbody tr')).map(function (r) { return r.dataset.product; })")]
    assert len(products) == 2
    total = float(box.get_attribute("data-sum"))
    assert close(sum(products), total)
    assert close(total, expected["gradients"]["α"]["backprop"])
    assert close(float(box.get_attribute("data-backprop")), expected["gradients"]["α"]["backprop"])
    assert "equal" in p.js("document.querySelector('.gt-bp-row').textContent")
    # the paths are highlighted on the graph, the rest dimmed
    assert p.js(f"document.getElementById('n{alpha}').classList.contains('gt-selected')")
    assert p.js("document.querySelectorAll('g.edge.gt-on-path').length") >= 7
    beta = [str(v) for v in g.order].index("β")
    assert p.js(f"document.getElementById('n{beta}').classList.contains('gt-off-path')")
    p.finish()


def test_hovering_an_edge_shows_its_local_derivative(browser, neuron_html: Path) -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    order = [str(v) for v in g.order]
    s, z = order.index("s"), order.index("z")
    p = Page(browser, neuron_html)
    p.page.dispatch_event(f"#e{s}_{z}_0", "mousemove")
    tip = p.page.locator("#gt-tooltip")
    assert tip.is_visible()
    text = tip.text_content()
    assert "∂z/∂s" in text and "σ(s)·(1−σ(s))" in text
    local = float(g.forward().locals[("s", "z", 0)])
    assert close(float(p.js("document.querySelector('#gt-tooltip .gt-tip-value').dataset.local")), local)
    assert shown(local) in text
    p.finish()


def test_changing_a_value_recomputes_forward_and_backward(browser, neuron_html: Path) -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    alpha = [str(v) for v in g.order].index("α")
    beta = [str(v) for v in g.order].index("β")
    p = Page(browser, neuron_html)
    p.page.fill(f"#gt-num-{alpha}", "1.5")
    expected = grad_json(SAMPLES / "neuron.gt", "--set", "α=1.5")
    rows = p.results()
    for name in expected["gradients"]:
        assert close(float(rows[name]["grad"]), expected["gradients"][name]["backprop"]), name
    assert close(float(rows["L"]["value"]), expected["value"])
    # the slider: β moved, α stays at 1.5
    p.js(f"""(function () {{ var r = document.getElementById('gt-range-{beta}');
        r.value = '0.25'; r.dispatchEvent(new Event('input')); }})()""")
    beta_value = float(p.js(f"document.getElementById('gt-range-{beta}').value"))
    expected = grad_json(SAMPLES / "neuron.gt", "--set", "α=1.5", "--set", f"β={beta_value!r}")
    rows = p.results()
    assert close(float(rows["β"]["value"]), beta_value)
    for name in expected["gradients"]:
        assert close(float(rows[name]["grad"]), expected["gradients"][name]["backprop"]), name
    assert p.page.get_attribute(f"#gt-num-{beta}", "data-node") == "β"
    p.finish()


def _triangle_graph() -> tuple[graphtrace.Graph, str]:
    path = SAMPLES / "triangle.gt"
    if path.exists():
        g = graphtrace.load(path)
    else:
        from graphtrace.network import mlp

        g = mlp([2, 3, 1], seed=0)
    first = [str(v) for v in g.params if g.nx.nodes[v].get("layer", 1) == 1 and re.match(r"w", str(v))]
    # A weight whose gradient is not 0 at the sample point (x1 = 0 zeroes the w1_1_* paths).
    grads = g.backprop()
    moving = [w for w in first if abs(float(grads[w])) > 0]
    return g, (moving or first or [str(v) for v in g.params])[0]


def test_triangle_paths_of_a_first_layer_weight(browser, tmp_path: Path, shots: Path) -> None:
    g, weight = _triangle_graph()
    html = tmp_path / "triangle.html"
    explorer.write_html(g, html)
    p = Page(browser, html, width=1700, height=1000)
    index = [str(v) for v in g.order].index(weight)
    p.page.click(f"#n{index}")
    box = p.page.locator("#gt-paths")
    assert box.get_attribute("data-wrt") == weight
    assert int(box.get_attribute("data-count")) == g.count_paths(weight)
    assert close(float(box.get_attribute("data-sum")), float(g.backprop()[weight]))
    assert close(float(box.get_attribute("data-sum")), float(g.sum_over_paths(weight)))
    p.page.keyboard.press("0")  # the whole drawing, the paths through it
    p.page.screenshot(path=str(shots / "explorer_triangle_paths.png"), full_page=False)
    p.finish()


def test_training_view_lowers_the_loss(browser, tmp_path: Path, shots: Path) -> None:
    from graphtrace.data import make_dataset
    from graphtrace.network import mlp

    html = tmp_path / "train.html"
    explorer.write_html(mlp([2, 3, 1], seed=0), html, data=make_dataset("triangle", 200, seed=0))
    p = Page(browser, html, width=1500, height=1000)
    stats = p.page.locator("#gt-train-stats")
    before = float(stats.get_attribute("data-loss"))
    p.page.click("#gt-train-step")
    assert stats.get_attribute("data-steps") == "1"
    p.js("for (var i = 0; i < 50; i++) { graphtraceExplorer.trainSteps(50); }")  # 50 points on the curve
    after = float(stats.get_attribute("data-loss"))
    assert after < 0.5 * before, (before, after)
    assert "accuracy" in stats.text_content()
    # a training page opens one node per neuron: each weight an edge coloured by its sign (blue +,
    # orange −: the diagrams' and the plots' convention) and as wide as its size
    assert p.js("document.body.dataset.level") == "neuron"
    colours = p.js("""Array.from(document.querySelectorAll('g.edge[data-weight] path:not(.gt-hit)'))
        .map(function (e) { return e.style.stroke; })""")
    assert len(colours) == 9 and set(colours) <= {"rgb(33, 102, 172)", "rgb(224, 112, 27)"}, colours
    assert len(set(colours)) == 2
    p.page.click("#gt-train-play")
    p.page.wait_for_function("+document.getElementById('gt-train-stats').dataset.steps > 2502", timeout=5_000)
    p.page.click("#gt-train-play")
    p.page.screenshot(path=str(shots / "explorer_training.png"), full_page=False)
    p.finish()


def test_training_view_with_three_classes(browser, tmp_path: Path, shots: Path) -> None:
    """Issue 13: the explorer trains a softmax net over K classes and maps the largest logit's class."""
    from graphtrace.data import make_dataset
    from graphtrace.network import mlp

    html = tmp_path / "train3.html"
    data = make_dataset("blobs", 90, seed=0, classes=3)
    explorer.write_html(mlp([2, 4, 3], loss="ce", seed=0), html, data=data)
    p = Page(browser, html, width=1500, height=1000)
    stats = p.page.locator("#gt-train-stats")
    before = float(stats.get_attribute("data-loss"))
    p.js("for (var i = 0; i < 20; i++) { graphtraceExplorer.trainSteps(50); }")
    after = float(stats.get_attribute("data-loss"))
    assert after < 0.5 * before, (before, after)
    accuracy = float(re.search(r"accuracy ([\d.]+)%", stats.text_content()).group(1))
    assert accuracy >= 90.0, stats.text_content()
    assert "largest of 3 logits" in p.page.locator("#gt-train").text_content()
    # the map is painted in the three class colours
    colours = p.js("""(function () { var c = document.getElementById('gt-boundary'), x = c.getContext('2d');
        var d = x.getImageData(0, 0, c.width, c.height).data, seen = {};
        for (var i = 0; i < d.length; i += 4 * 97) { seen[(d[i] > d[i + 2]) + ',' + (d[i + 1] > d[i]) + ',' + (d[i + 2] > d[i])] = 1; }
        return Object.keys(seen).length; })()""")
    assert colours >= 3
    p.page.screenshot(path=str(shots / "explorer_training_classes.png"), full_page=False)
    p.finish()


# ---- issue 15: the explorer on real nets ------------------------------------------------------
@pytest.fixture(scope="module")
def triangle_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pages") / "triangle.html"
    explorer.write_html(graphtrace.load(SAMPLES / "triangle.gt"), path)
    return path


def _view_box(p: Page) -> list[float]:
    return [float(v) for v in p.page.get_attribute("#gt-svg svg", "viewBox").split()]


def test_pan_and_zoom_with_wheel_drag_buttons_and_keys(browser, triangle_html: Path) -> None:
    p = Page(browser, triangle_html)
    start = p.js("graphtraceExplorer.zoom()")
    assert 0.5 <= start <= 1.6  # opens legible: 9-point text at least 60 % of its natural 12 px
    box = p.page.locator("#gt-svg svg").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # buttons
    p.page.click("#gt-zoom-in")
    assert abs(p.js("graphtraceExplorer.zoom()") / start - 1.25) < 1e-6
    p.page.click("#gt-zoom-out")
    assert abs(p.js("graphtraceExplorer.zoom()") - start) < 1e-6
    p.page.click("#gt-fit")
    fit = p.js("graphtraceExplorer.zoom()")
    vb = _view_box(p)
    assert fit < start and vb[2] > 0
    # the wheel zooms about the pointer: the point under it stays put
    p.page.mouse.move(cx + 100, cy)
    before = _view_box(p)
    p.page.mouse.wheel(0, -300)
    p.page.wait_for_function(f"graphtraceExplorer.zoom() > {fit * 1.05}")
    after = _view_box(p)
    fx = (cx + 100 - box["x"]) / box["width"]
    assert abs((before[0] + fx * before[2]) - (after[0] + fx * after[2])) < 0.5
    # a drag pans by as many pixels as the mouse moved, and selects nothing
    zoom = p.js("graphtraceExplorer.zoom()") * 4 / 3
    before = _view_box(p)
    p.page.mouse.move(cx, cy)
    p.page.mouse.down()
    p.page.mouse.move(cx - 120, cy - 40, steps=6)
    p.page.mouse.up()
    after = _view_box(p)
    assert abs((after[0] - before[0]) - 120 / zoom) < 1 and abs((after[1] - before[1]) - 40 / zoom) < 1
    assert p.js("graphtraceExplorer.state.selected") is None
    # keys: + − 0, shift+arrows pan (arrows alone still step)
    p.page.keyboard.press("0")
    assert abs(p.js("graphtraceExplorer.zoom()") - fit) < 1e-6
    p.page.keyboard.press("+")
    assert abs(p.js("graphtraceExplorer.zoom()") / fit - 1.25) < 1e-6
    p.page.keyboard.press("-")
    assert abs(p.js("graphtraceExplorer.zoom()") - fit) < 1e-6
    step, before = p.step(), _view_box(p)
    p.page.keyboard.press("Shift+ArrowLeft")
    assert _view_box(p)[0] < before[0] and p.step() == step
    p.finish()


def test_fold_and_unfold_neurons_in_the_page(browser, triangle_html: Path, shots: Path) -> None:
    p = Page(browser, triangle_html, width=1500, height=1000)
    order = [str(v) for v in graphtrace.load(SAMPLES / "triangle.gt").order]
    assert p.js("document.body.dataset.level") == "scalar"
    assert p.js("document.querySelectorAll('#gt-svg g.node').length") == 46
    # fold: one node per neuron (the weights on the edges), then one per layer
    p.page.click("#gt-level-neuron")
    assert p.js("document.body.dataset.level") == "neuron"
    assert p.js("document.querySelectorAll('#gt-svg g.node.gt-folded').length") == 7
    assert p.js("document.querySelectorAll('#gt-svg g.edge[data-weight]').length") == 9
    h12 = order.index("h1_2")
    assert p.page.get_attribute(f"#n{h12}", "data-members") == "8"
    # the step-through goes on: the folded neuron holding the current op is the current one
    steps = p.js("graphtraceExplorer.steps")
    k = next(i for i, s in enumerate(steps) if s["type"] == "forward" and order[s["node"]] == "z1_2")
    p.js(f"graphtraceExplorer.go({k})")
    assert p.js(f"document.getElementById('n{h12}').classList.contains('gt-current')")
    # clicking a weight edge lists that weight's paths
    p.js("graphtraceExplorer.go(graphtraceExplorer.steps.length - 1)")
    p.page.click("g.edge[data-weight='w1_2_1']", force=True)
    assert p.page.get_attribute("#gt-paths", "data-wrt") == "w1_2_1"
    assert p.js("document.querySelector(\"g.edge[data-weight='w1_2_1']\").classList.contains('gt-on-path')")
    p.page.mouse.move(5, 5)  # no tooltip in the picture
    p.page.screenshot(path=str(shots / "explorer_triangle_neurons.png"), full_page=False)
    p.page.click("#gt-level-layer")
    assert p.js("document.querySelectorAll('#gt-svg g.node.gt-folded').length") == 4
    # unfold: double-click a folded node to see what it holds, zoomed onto it
    p.page.click("#gt-level-neuron")
    p.page.dblclick(f"#n{h12}")
    assert p.js("document.body.dataset.level") == "scalar"
    assert p.js("graphtraceExplorer.zoom()") >= 1 - 1e-9
    inside = p.js(f"""(function () {{ var v = document.querySelector('#gt-svg svg').getBoundingClientRect();
        var r = document.getElementById('n{h12}').getBoundingClientRect();
        return r.left >= v.left && r.right <= v.right && r.top >= v.top && r.bottom <= v.bottom; }})()""")
    assert inside, "the unfolded neuron is in view"
    # and fold again from the finest view
    p.page.dispatch_event(f"#n{order.index('mul_3')}", "dblclick")
    assert p.js("document.body.dataset.level") == "neuron"
    # the numbers on a folded view follow the values: a new weight shows on its edge
    p.page.fill(f"#gt-num-{order.index('w1_2_1')}", "-1.5")
    label = p.js("document.querySelector('g.edge[data-weight=w1_2_1]').textContent")
    assert "−1.5" in label, label
    p.finish()


def test_callouts_never_cover_the_node_they_explain(browser, neuron_html: Path) -> None:
    p = Page(browser, neuron_html)
    n_steps = p.js("graphtraceExplorer.steps.length")
    checked = 0
    for zoom in ("fit", "in", "pan"):
        p.page.keyboard.press("0")
        if zoom in ("in", "pan"):
            for _ in range(4):
                p.page.keyboard.press("+")
        if zoom == "pan":
            for _ in range(3):
                p.page.keyboard.press("Shift+ArrowUp")
        for k in range(n_steps):
            p.js(f"graphtraceExplorer.go({k})")
            if not p.js("!document.getElementById('gt-callout').hidden"):
                continue
            name = p.page.get_attribute("#gt-callout", "data-node")
            overlap = p.js(f"""(function () {{
                var c = document.getElementById('gt-callout').getBoundingClientRect();
                var n = document.querySelector('#gt-svg g.node[data-node="{name}"]').getBoundingClientRect();
                return c.left < n.right && c.right > n.left && c.top < n.bottom && c.bottom > n.top; }})()""")
            assert not overlap, (zoom, k, name, p.page.get_attribute("#gt-callout", "data-side"))
            checked += 1
    assert checked >= 3
    p.finish()


def test_number_fields_show_the_whole_value(browser, tmp_path: Path) -> None:
    from graphtrace.data import make_dataset
    from graphtrace.network import mlp

    html = tmp_path / "fields.html"
    explorer.write_html(mlp([2, 3, 1], seed=0), html, data=make_dataset("triangle", 100, seed=0))
    p = Page(browser, html, width=1500, height=1000)
    p.js("graphtraceExplorer.trainSteps(300)")
    p.page.fill("#gt-speed", "100000")
    order = [str(v) for v in mlp([2, 3, 1], seed=0).order]
    p.page.fill(f"#gt-num-{order.index('w1_1_1')}", "-0.000123456789")
    p.page.fill(f"#gt-num-{order.index('b1_2')}", "-12345.6789")
    clipped = p.js("""Array.from(document.querySelectorAll('input[type=number]')).filter(function (i) {
        return i.scrollWidth > i.clientWidth + 1; }).map(function (i) { return i.id + '=' + i.value; })""")
    assert clipped == [], clipped
    p.finish()


def test_drop_or_pick_a_csv_to_train_on(browser, tmp_path: Path) -> None:
    from graphtrace.data import read_csv
    from graphtrace.errors import DataError

    html = tmp_path / "mine.html"
    explorer.write_html(graphtrace.load(SAMPLES / "symmetry_random.gt"), html)
    p = Page(browser, html, width=1500, height=1000)
    assert p.page.is_visible("#gt-train-card") and "Drop a CSV" in p.page.text_content("#gt-train")

    def drop(text: str, name: str) -> None:
        dt = p.page.evaluate_handle("""([t, n]) => { const dt = new DataTransfer();
            dt.items.add(new File([t], n, {type: 'text/csv'})); return dt; }""", [text, name])
        p.page.dispatch_event("body", "drop", {"dataTransfer": dt})

    bad = "x1,x2,y\n0.5,1,1\n2,oops,0\n"
    drop(bad, "mine.csv")
    p.page.wait_for_selector("#gt-data-error:not([hidden])")
    with pytest.raises(DataError) as cli:
        read_csv(text=bad, name="mine.csv")
    assert p.page.text_content("#gt-data-error") == str(cli.value)  # the command line's own words
    drop("x1,x3,y\n1,2,0\n", "other.csv")
    p.page.wait_for_function("document.getElementById('gt-data-error').textContent.indexOf('x3') >= 0")
    assert "column 'x3' is not an input of symmetry_random.gt" in p.page.text_content("#gt-data-error")
    # a good file, dropped: the training view trains on it
    drop((SAMPLES / "triangle.csv").read_text(encoding="utf-8"), "triangle.csv")
    p.page.wait_for_selector("body[data-csv='triangle.csv']")
    assert p.page.is_hidden("#gt-data-error")
    stats = p.page.locator("#gt-train-stats")
    before = float(stats.get_attribute("data-loss"))
    p.js("graphtraceExplorer.trainSteps(2000)")
    assert float(stats.get_attribute("data-loss")) < 0.5 * before
    # or picked with the file button
    p.page.set_input_files("#gt-csv", files=[{"name": "picked.csv", "mimeType": "text/csv",
                                             "buffer": (SAMPLES / "triangle.csv").read_bytes()}])
    p.page.wait_for_selector("body[data-csv='picked.csv']")
    assert "picked.csv" in p.page.text_content("#gt-train")
    p.finish()


def test_a_bad_csv_dropped_on_a_russian_page_is_told_in_russian(browser, tmp_path: Path) -> None:
    from graphtrace.data import read_csv
    from graphtrace.errors import DataError
    from graphtrace.i18n import use_language

    html = tmp_path / "mine.html"
    with use_language("ru"):
        explorer.write_html(graphtrace.load(SAMPLES / "symmetry_random.gt"), html)
    p = Page(browser, html, width=1500, height=1000)
    bad = "x1,x2,y\n0.5,1,1\n2,oops,0\n"
    dt = p.page.evaluate_handle("""([t, n]) => { const dt = new DataTransfer();
        dt.items.add(new File([t], n, {type: 'text/csv'})); return dt; }""", [bad, "mine.csv"])
    p.page.dispatch_event("body", "drop", {"dataTransfer": dt})
    p.page.wait_for_selector("#gt-data-error:not([hidden])")
    with use_language("ru"), pytest.raises(DataError) as cli:
        read_csv(text=bad, name="mine.csv")
    shown = p.page.text_content("#gt-data-error")
    assert shown == str(cli.value)  # the command line's own Russian words
    assert shown.startswith("mine.csv:3: столбец x2: 'oops' не является числом\n    2,oops,0\n")
    assert shown.endswith("ячейки должны быть простыми десятичными числами, например 3, -0.25 или 1.5e-3")
    p.finish()


def test_live_training_speed(browser, tmp_path: Path) -> None:
    """The 2-3-1 triangle net trains in the page vectorised over the batch; the speed is measured
    and printed (an assertion on time would fail on a busy machine, not on slow code)."""
    from graphtrace.data import make_dataset
    from graphtrace.network import mlp

    html = tmp_path / "speed.html"
    explorer.write_html(mlp([2, 3, 1], seed=0), html, data=make_dataset("triangle", 200, seed=0))
    p = Page(browser, html, width=1500, height=1000)
    p.js("graphtraceExplorer.trainSteps(2000)")  # warm the JIT
    raw = p.js("""(function () { var t = performance.now(); graphtraceExplorer.trainSteps(20000);
        return 20000 / ((performance.now() - t) / 1000); })()""")
    p.page.fill("#gt-speed", "1000000")
    p.page.click("#gt-train-play")
    p.page.wait_for_timeout(2500)
    p.page.click("#gt-train-play")
    live = float(p.page.get_attribute("#gt-train-stats", "data-rate"))
    print(f"\nexplorer training, 2-3-1 triangle net, batch 10: {raw:,.0f} steps/s computed, "
          f"{live:,.0f} steps/s live (with the page redrawn 10 times a second)")
    assert raw > 0 and live > 0
    assert "steps/s" in p.page.text_content("#gt-train-stats")
    p.finish()


def test_a_packed_page_opens_as_the_plain_one(browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big network's page carries its model gzip-compressed: the browser unpacks it and the
    page is the same page (its steps, its results table)."""
    g = graphtrace.load(SAMPLES / "triangle.gt")
    plain_path, packed_path = tmp_path / "plain.html", tmp_path / "packed.html"
    explorer.write_html(g, plain_path)
    monkeypatch.setattr(explorer, "PACK_OVER", 1_000)
    explorer.write_html(g, packed_path)
    assert 'id="gt-model-gz"' in packed_path.read_text(encoding="utf-8")
    plain, packed = Page(browser, plain_path), Page(browser, packed_path)
    try:
        count = "window.graphtraceExplorer.steps.length"
        assert packed.js(count) == plain.js(count) > 10
        assert packed.results() == plain.results()
        packed.js("window.graphtraceExplorer.go(window.graphtraceExplorer.steps.length - 1)")
        assert not packed.errors and not packed.requests
    finally:
        plain.page.close()
        packed.page.close()
