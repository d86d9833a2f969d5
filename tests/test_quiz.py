"""`graphtrace quiz` and `graphtrace grade`: worksheets, answer keys, grading and its diagnosis.

The key's numbers are checked against independent runs of `grad --json` / `paths --json` with each
student's values (--set), and the diagnosis against answers made wrong on purpose here.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import SAMPLES, assert_clean_error, run_main

NEURON = SAMPLES / "neuron.gt"
PDFINFO = shutil.which("pdfinfo")


@pytest.fixture(scope="module")
def neuron_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("quiz")
    code, _, err = run_main(["quiz", str(NEURON), "--students", "3", "--seed", "5", "--blank", "1",
                             "-o", str(folder / "sheet.html"), "--key", str(folder / "key.json")])
    assert code == 0, err
    return folder / "key.json"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def grade(key: Path, answers: Path, *extra: str) -> tuple[int, str, str]:
    return run_main(["grade", str(key), str(answers), *extra])


def test_the_key_graded_against_itself_scores_100(neuron_key: Path) -> None:
    code, out, err = grade(neuron_key, neuron_key)
    assert code == 0, err
    lines = out.strip().splitlines()
    n = len(load(neuron_key)["questions"])
    assert lines == [f"s0{i}: {n}/{n} (100.0 %)" for i in (1, 2, 3)]


def test_the_keys_numbers_are_grads_and_paths_of_each_students_values(neuron_key: Path) -> None:
    key = load(neuron_key)
    assert [s["student"] for s in key["students"]] == ["s01", "s02", "s03"]
    assert len({json.dumps(s["values"], sort_keys=True) for s in key["students"]}) == 3  # three variants
    for s in key["students"]:
        sets = [a for k, v in s["values"].items() for a in ("--set", f"{k}={v!r}")]
        names = sorted({q["node"] for q in key["questions"] if q["kind"] in ("grad", "value")})
        code, out, err = run_main(["grad", str(NEURON), "--json", *sets, *[a for n in names for a in ("--wrt", n)]])
        assert code == 0, err
        doc = json.loads(out)
        for q in key["questions"]:
            want = s["answers"][str(q["id"])]
            if q["kind"] == "grad":
                assert want == pytest.approx(doc["gradients"][q["node"]]["backprop"], rel=1e-12, abs=1e-15), q
            elif q["kind"] == "value" and q["node"] in doc["values"]:
                assert want == pytest.approx(doc["values"][q["node"]], rel=1e-12), q
            elif q["kind"] == "value":  # an unnamed operation: its value as the output of `grad --output`
                code, out, err = run_main(["grad", str(NEURON), "--json", "--output", q["node"], *sets])
                assert code == 0, err
                assert want == pytest.approx(json.loads(out)["value"], rel=1e-12), q
            elif q["kind"] == "path":
                code, out, err = run_main(["paths", str(NEURON), "--json", "--wrt", q["node"], "--top", "50", *sets])
                products = [p["product"] for p in json.loads(out)["paths"] if p["nodes"] == q["path"]]
                assert any(want == pytest.approx(p, rel=1e-12, abs=1e-15) for p in products), q


def _with(key: dict, student: str, changes: dict[str, float]) -> dict:
    entry = next(s for s in key["students"] if s["student"] == student)
    answers = dict(entry["answers"])
    answers.update(changes)
    return {"format": "graphtrace-quiz-answers/1", "students": [{"student": student, "answers": answers}]}


def test_a_missed_path_is_marked_wrong_and_named(neuron_key: Path, tmp_path: Path) -> None:
    key = load(neuron_key)
    q = next(q for q in key["questions"] if q["kind"] == "grad" and q["node"] == "α")
    s = key["students"][1]
    # ∂L/∂α's two paths, from `paths --json` with this student's values: leave the first one out
    sets = [a for k, v in s["values"].items() for a in ("--set", f"{k}={v!r}")]
    code, out, err = run_main(["paths", str(NEURON), "--json", "--wrt", "α", *sets])
    paths = [p for p in json.loads(out)["paths"] if p["product"] != 0]
    assert paths
    missed = paths[0]
    total = json.loads(out)["total"]
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(_with(key, s["student"], {str(q["id"]): total - missed["product"]})), encoding="utf-8")
    code, out, err = grade(neuron_key, answers)
    assert code == 0, err
    n = len(key["questions"])
    assert out.splitlines()[0] == f"{s['student']}: {n - 1}/{n} ({100 * (n - 1) / n:.1f} %)"
    assert "missed the path α → α·x1 → s → z → log(z)" in out, out
    code, out, err = grade(neuron_key, answers, "--json")
    mark = next(m for m in json.loads(out)["students"][0]["marks"] if m["question"] == q["id"])
    assert mark["right"] is False and mark["diagnosis"].startswith("missed the path α")


def test_a_flipped_sign_and_a_wrong_local_sign_are_named(neuron_key: Path, tmp_path: Path) -> None:
    key = load(neuron_key)
    s = key["students"][0]
    q = next(q for q in key["questions"] if q["kind"] == "grad" and q["node"] == "s")
    right = s["answers"][str(q["id"])]
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(_with(key, "s01", {str(q["id"]): -right})), encoding="utf-8")
    out = grade(neuron_key, answers)[1]
    assert "the sign is flipped" in out
    # ∂L/∂s = ∂L/∂z · σ′(s): with σ′ taken with the wrong sign, the answer is −right as well, so the
    # diagnosis for a local's sign is tested on z, which feeds two edges (only one path carries all)
    q = next(q for q in key["questions"] if q["kind"] == "grad" and q["node"] == "x1")
    right = s["answers"][str(q["id"])]
    answers.write_text(json.dumps(_with(key, "s01", {str(q["id"]): right * 1.5})), encoding="utf-8")
    out = grade(neuron_key, answers)[1]
    assert re.search(r"#\d+ the gradient ∂L/∂x1: [-\d.e]+, the key says [-\d.e]+$", out, re.M), out  # not decidable


def test_csv_answers(neuron_key: Path, tmp_path: Path) -> None:
    key = load(neuron_key)
    ids = [str(q["id"]) for q in key["questions"]]
    path = tmp_path / "answers.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", *ids])
        for s in key["students"]:
            row = [s["student"]] + [f"{s['answers'][i]:.6g}" for i in ids]
            if s["student"] == "s03":
                row[1] = ""  # no answer to question 1
            w.writerow(row)
    code, out, err = grade(neuron_key, path)
    assert code == 0, err
    n = len(ids)
    assert out.splitlines()[0] == f"s01: {n}/{n} (100.0 %)"
    assert f"s03: {n - 1}/{n}" in out and "no answer" in out


@pytest.mark.parametrize("content, name, where", [
    ("student,1\ns99,1\n", "a.csv", "s99"),
    ("name,1\ns01,1\n", "a.csv", "'student'"),
    ("student,1\ns01,abc\n", "a.csv", "abc"),
    ("student,999\ns01,1\n", "a.csv", "999"),
    ("{", "a.json", "not JSON"),
    ("x", "a.txt", ".json or .csv"),
])
def test_bad_answers_exit_2(neuron_key: Path, tmp_path: Path, content: str, name: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert_clean_error(*grade(neuron_key, path), where=where)


def test_a_bad_key_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "k.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    assert_clean_error(*run_main(["grade", str(bad), str(bad)]), where="not an answer key")


@pytest.mark.parametrize("args, where", [
    (["--ask", "colours"], "colours"),
    (["--blank", "0"], "--blank"),
    (["-o", "sheet.txt"], ".html, .md, .pdf or .json"),
    (["--key", "key.txt"], ".json"),
    (["--random", "--ops", "frobnicate"], "frobnicate"),
])
def test_bad_quiz_options_exit_2_and_write_nothing(tmp_path: Path, monkeypatch, args: list[str], where: str) -> None:
    monkeypatch.chdir(tmp_path)
    source = [] if "--random" in args else [str(NEURON)]
    out = [] if "-o" in args else ["-o", "sheet.md"]
    assert_clean_error(*run_main(["quiz", *source, *out, *args]), where=where)
    assert list(tmp_path.iterdir()) == []


def test_every_sheet_format(tmp_path: Path) -> None:
    for ext in ("html", "md", "json", "pdf"):
        code, _, err = run_main(["quiz", str(NEURON), "--students", "2", "--seed", "1", "-o", str(tmp_path / f"s.{ext}")])
        assert code == 0, err
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    assert page.count('<section class="sheet">') == 2 and page.count("<svg") == 2
    sheet = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert sheet["format"] == "graphtrace-quiz-sheet/1" and "answers" not in json.dumps(sheet)
    n = len(sheet["questions"])
    assert all(f"[{q['id']}]" in page for q in sheet["questions"])  # every blank numbered in the drawing or table
    md = (tmp_path / "s.md").read_text(encoding="utf-8")
    assert md.count("## s0") == 2 and md.count("\n| ") >= 2 * (n + 1)
    if PDFINFO:
        info = subprocess.run([PDFINFO, str(tmp_path / "s.pdf")], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+2$", info, re.M)


def test_same_seed_same_quiz_and_random_expressions(tmp_path: Path) -> None:
    for name in ("a", "b"):
        code, _, err = run_main(["quiz", "--random", "--ops", "add,mul,sigmoid", "--depth", "3", "--seed", "4",
                                 "--students", "4", "-o", str(tmp_path / f"{name}.md"), "--key", str(tmp_path / f"{name}.json")])
        assert code == 0, err
    assert (tmp_path / "a.md").read_bytes() == (tmp_path / "b.md").read_bytes()
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    key = load(tmp_path / "a.json")
    assert "L = " in key["script"] and set(re.findall(r"\b(sigmoid|tanh|exp)\(", key["script"])) <= {"sigmoid"}
    code, out, err = grade(tmp_path / "a.json", tmp_path / "a.json")
    assert code == 0 and out.count("(100.0 %)") == 4


def test_a_class_of_30(tmp_path: Path) -> None:
    code, _, err = run_main(["quiz", str(NEURON), "--students", "30", "--seed", "7", "-o", str(tmp_path / "c.html"),
                             "--key", str(tmp_path / "k.json")])
    assert code == 0, err
    key = load(tmp_path / "k.json")
    assert len(key["students"]) == 30 and key["students"][-1]["student"] == "s30"
    assert key["students"][0]["values"]["α"] == 0.5  # the first variant keeps the script's values
    assert all(s["values"]["y"] == 1.0 for s in key["students"])  # a 0/1 label stays a label
