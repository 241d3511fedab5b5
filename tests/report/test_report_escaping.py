"""Hostile names render inert: an experiment name, tag, parameter value or metric key holding
``<script>`` or ``"><img onerror=...>`` is text on the page and in the charts, never markup."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Repo
from tests.report.conftest import branch, parse

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
COMMENT = "<!--"


def test_hostile_names_tags_params_and_metric_keys_render_as_text(repo: Repo, tmp_path: Path) -> None:
    evil_branch = "evil<script>alert(3)</script>"
    branch(repo, evil_branch, 0.02, note=IMG + COMMENT, extra_key=f"{SCRIPT}{IMG}")
    repo.tw("run", "--ref", "main")
    repo.tw("run", "--ref", evil_branch, "--tag", SCRIPT)
    out = tmp_path / "r.html"
    repo.tw("report", "main", SCRIPT, "-o", str(out))
    raw = out.read_text(encoding="utf-8")
    page = parse(out)

    # no element came from user text: no <img>, no handler attribute, and the only scripts are the
    # page's own (figure JSON, packed plotly.js, the loader)
    assert not [t for t, _ in page.tags if t in ("img", "iframe", "object", "embed")]
    assert not [(t, k) for t, a in page.tags for k in a if k.lower().startswith("on")]
    scripts = [a for t, a in page.tags if t == "script"]
    figures = [a for a in scripts if a.get("type") == "application/json" and a.get("data-figure")]
    packed = [a for a in scripts if a.get("id") == "tw-plotly" and a.get("type") == "application/octet-stream"]
    inline = [a for a in scripts if not a]
    assert len(figures) + len(packed) + len(inline) == len(scripts) and len(packed) == len(inline) == 1
    assert raw.count("</script>") == len(scripts) and raw.count("<script") == len(scripts)
    assert COMMENT not in raw.split("<body", 1)[1].replace("<!DOCTYPE", "")

    # ... and every hostile string is on the page as text
    text = page.body_text
    exp_name = f"{evil_branch}@"
    assert exp_name in text and SCRIPT in text  # experiment name, tag
    assert IMG + COMMENT in text  # tw.config value
    assert SCRIPT + IMG in text  # the metric key (heading of its chart)

    # in the figures (JSON read back exactly), plotly.js gets the names HTML-escaped: shown, not parsed
    figs = page.figures()
    keys = {f["layout"]["meta"]["metric"] for f in figs.values() if f["layout"]["meta"]["kind"] == "curve"}
    assert SCRIPT + IMG in keys  # the metric key, exactly
    for f in figs.values():
        for trace in f["data"]:
            assert "<" not in trace.get("name", "") and ">" not in trace.get("name", "")
        assert "<" not in f["layout"]["title"]["text"]
    names = [t["name"] for f in figs.values() for t in f["data"] if "name" in t]
    assert any("evil&lt;script&gt;alert(3)&lt;/script&gt;@" in n for n in names)
