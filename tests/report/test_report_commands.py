"""``--report FILE`` on compare, diagnose and ablate: the page shows what the command computed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Repo, make_repo
from tests.report.conftest import TRAIN, branch, config, parse


def _divs(page, cls: str) -> list[dict]:  # noqa: ANN001
    return [a for tag, a in page.tags if tag == "div" and cls in (a.get("class") or "").split()]


def test_compare_and_diagnose_write_the_report_of_what_they_computed(repo: Repo, tmp_path: Path) -> None:
    branch(repo, "feat/diverge", 0.0, diverge=True)
    repo.tw("run", "--ref", "main")
    repo.tw("run", "--ref", "feat/diverge")

    out = repo.tw_json("compare", "main", "feat/diverge", "--metric", "train_loss", "--metric", "val_acc",
                       "--report", str(tmp_path / "compare.html"))
    assert out["report"]["path"] == str((tmp_path / "compare.html").resolve()) and out["correction"] == "holm"
    page = parse(tmp_path / "compare.html")
    cards = _divs(page, "verdict-card")
    assert [c["data-verdict"] for c in cards] == [d["verdict"] for d in out["decisions"]]
    for d in out["decisions"]:
        assert d["sentence"] in page.body_text  # the Holm-adjusted sentences, as compare printed them
    assert "Holm" in page.body_text

    diag = repo.tw_json("diagnose", "feat/diverge", "--report", str(tmp_path / "diag.html"))
    codes = [f["code"] for f in diag["diagnosis"]["findings"]]
    assert "loss-divergence" in codes
    page = parse(tmp_path / "diag.html")
    assert [a["data-code"] for a in _divs(page, "finding")] == codes
    assert not _divs(page, "verdict-card")  # one experiment: nothing to compare
    # the divergence finding draws the training loss of the seeds it was seen in, its steps marked
    figs = [f for f in page.figures().values() if f["layout"]["meta"]["kind"] == "evidence"]
    div = next(f for f in figs if f["layout"]["title"]["text"].startswith("loss-divergence"))
    assert div["layout"]["meta"]["series"] == "train_loss"
    finding = next(f for f in diag["diagnosis"]["findings"] if f["code"] == "loss-divergence")
    marked = {float(s) for d in finding["details"] for s in d["steps"]}
    lines = {shape["x0"] for shape in div["layout"]["shapes"] if shape["type"] == "line"}
    assert marked and marked <= lines
    coloured = {t["meta"]["seed"] for t in div["data"] if t.get("meta", {}).get("role") == "seed"
                and "not affected" not in t["name"]}
    assert coloured == {d["seed"] for d in finding["details"]} == {0, 1}

    text = repo.tw("diagnose", "feat/diverge", "--report", str(tmp_path / "d2.html")).stdout
    assert "report:" in text and (tmp_path / "d2.html").exists()


ABLATE_TRAIN = """
import glob, json, os, random
import trialwise as tw
tw.init()
seed = int(os.environ["TRIALWISE_SEED"])
effect = sum(json.load(open(p))["effect"] for p in sorted(glob.glob("changes/*.json")))
noise = random.Random(seed * 7919 + 1).gauss(0, 0.005)
for step in range(5):
    tw.log({"val_acc": 0.5 + step * 0.05 + effect + noise}, step=step)
tw.summary(val_acc=0.8 + effect + noise)
"""


def test_ablate_report_has_the_effect_tables_and_flags_the_shadowed_change(tmp_path: Path) -> None:
    import sys

    repo = make_repo(tmp_path / "repo", f'command = "{sys.executable} train.py"\nseeds = 3\n[metric]\nname = "val_acc"\n'
                     'summary = "summary"\n', {"train.py": ABLATE_TRAIN})
    for name, effect in (("a", -0.01), ("b", 0.04)):
        repo.git("checkout", "--quiet", "-b", f"feat/{name}", "main")
        repo.write(f"changes/{name}.json", json.dumps({"effect": effect}))
        repo.commit(name)
        repo.git("checkout", "--quiet", "main")
    out = repo.tw_json("ablate", "--base", "main", "feat/a", "feat/b", "--report", str(tmp_path / "ab.html"))
    assert [f["change"] for f in out["shadowing"]["flags"]] == ["feat/a"]
    page = parse(tmp_path / "ab.html")
    text = page.body_text
    for cell in out["cells"]:
        assert cell["label"] in text and cell["experiment_name"] in text
    shadowed = [a for tag, a in page.tags if tag == "tr" and a.get("data-shadowed") == "true"]
    assert shadowed  # feat/a's own effects are flagged in the table
    assert "regression shadowed by feat/a+feat/b" in text and "recommendation:" in text
    curves = [f for f in page.figures().values() if f["layout"]["meta"]["kind"] == "curve"]
    assert len(curves[0]["layout"]["meta"]["sets"]) == 4  # every cell's curve, overlaid
    assert any(f["layout"]["meta"]["kind"] == "effects" for f in page.figures().values())


def test_report_shows_the_bias_variance_table_when_accuracies_and_a_goal_are_there(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", config(goal=0.99), {"train.py": TRAIN, "effect.txt": "0.0",
                                                            "note.txt": "plain", "extra_key.txt": ""})
    repo.tw("run")
    expected = repo.tw_json("biasvar", "--run", "main")
    repo.tw("report", "main", "-o", str(tmp_path / "r.html"))
    page = parse(tmp_path / "r.html")
    assert _divs(page, "biasvar")
    text = page.body_text
    assert expected["report"]["diagnosis"] in text
    for c in expected["report"]["components"]:
        assert f"{100 * c['value']:.1f}%" in text
    # without a goal the page says why there is no table
    plain = make_repo(tmp_path / "plain", config(), {"train.py": TRAIN, "effect.txt": "0.0", "note.txt": "plain",
                                                      "extra_key.txt": ""})
    plain.tw("run")
    plain.tw("report", "main", "-o", str(tmp_path / "p.html"))
    page = parse(tmp_path / "p.html")
    assert not _divs(page, "biasvar") and "bias–variance not shown: no goal" in page.body_text
