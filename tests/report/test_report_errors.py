"""The error-analysis section, from real runs that log predictions: confusion heat map equal to the
confusion of the stored predictions, most-confused pairs, worst mistakes with thumbnails of their
array inputs, PR and risk-coverage curves."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import make_repo
from tests.report.conftest import parse
from tests.report.test_report_real_runs import external_references

TRAIN = """
import os
import numpy as np
import trialwise as tw
tw.init()
seed = int(os.environ["TRIALWISE_SEED"])
rng = np.random.default_rng(100 + seed)
n, k = 120, 3
y = np.arange(n) % k
logits = rng.normal(0, 1.0, (n, k))
logits[np.arange(n), y] += 1.5
logits[y == 2, 1] += 1.2  # class 2 is often taken for class 1
p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
inputs = np.stack([np.full((8, 8), float(c)) + rng.normal(0, 0.1, (8, 8)) for c in y])
for step in range(5):
    tw.log({"val_acc": 0.6 + 0.05 * step}, step=step)
tw.log_predictions(np.arange(n), y, scores=p, loss=-np.log(p[np.arange(n), y]), inputs=inputs,
                   classes=["cat", "dog", "<b>fox</b>"])
tw.summary(val_acc=float((p.argmax(1) == y).mean()))
"""


def test_error_section_matches_the_stored_predictions(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", f'command = "{sys.executable} train.py"\nseeds = 2\n[metric]\nname = "val_acc"\n',
                     {"train.py": TRAIN})
    out = repo.tw_json("run")
    run0 = next(r for r in out["runs"] if r["seed"] == 0)
    repo.tw("report", "main", "-o", str(tmp_path / "r.html"))
    raw = (tmp_path / "r.html").read_text(encoding="utf-8")
    page = parse(tmp_path / "r.html")
    assert external_references(page, raw) == []  # thumbnails are data: URIs, nothing leaves the file

    stored = pd.read_parquet(Path(run0["run_dir"]) / "predictions" / "val.parquet")
    y = stored["y_true"].to_numpy()
    pred = np.stack(stored["scores"].to_numpy()).argmax(1) if "y_pred" not in stored else stored["y_pred"].to_numpy()
    expected = np.zeros((3, 3), dtype=int)
    np.add.at(expected, (y, pred), 1)

    figs = {f["layout"]["meta"]["kind"]: f for f in page.figures().values()}
    heat = figs["confusion"]["data"][0]
    assert heat["text"] == expected.tolist()
    assert heat["x"] == ["cat", "dog", "&lt;b&gt;fox&lt;/b&gt;"]  # class names escaped for plotly.js
    rows = expected / expected.sum(1, keepdims=True)
    assert np.allclose(np.array(heat["z"], dtype=float), rows, atol=1e-3)
    assert "pr" in figs and "risk-coverage" in figs
    assert len(figs["pr"]["data"]) >= 2

    text = page.body_text
    assert "<b>fox</b>" in text and "Most confused pairs" in text  # the class name shown as text
    off = expected - np.diag(np.diag(expected))
    assert np.unravel_index(off.argmax(), off.shape) == (2, 1)  # the confusion the script planted ...
    table = raw.split('class="grid confused"', 1)[1].split("</table>", 1)[0]
    first_row = table.split("</tr>")[1]  # ... is the first pair listed (after the header row)
    assert f"<td>&lt;b&gt;fox&lt;/b&gt;</td><td>dog</td><td>{off[2, 1]}</td>" in first_row
    thumbs = [a for t, a in page.tags if t == "img"]
    assert thumbs and all(a["src"].startswith("data:image/png;base64,") for a in thumbs)
    assert base64.b64decode(thumbs[0]["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
