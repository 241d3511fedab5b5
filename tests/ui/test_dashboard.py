"""The dashboard in a real headless Chromium over a store filled by real runs, and its security
properties against the real server."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.conftest import activated_env
from tests.ui.conftest import start_server, wait_for

pytestmark = pytest.mark.slow


def _experiments(base):
    return {r["name"]: r for r in httpx.get(base + "/api/experiments").json()}


def test_list_shows_the_experiments(server, page):
    page.goto(server + "/")
    rows = page.locator("tr.exp-row")
    assert rows.count() == 2
    text = page.inner_text("#experiments")
    assert "main@" in text and "feat/higher-lr@" in text and "2 completed" in text
    page.screenshot(path=str(page.shots / "list.png"))
    assert not page.js_errors


def test_experiment_page_draws_curves_with_a_seed_band(server, page):
    exp = next(r for n, r in _experiments(server).items() if n.startswith("main@"))
    page.goto(f"{server}/experiments/{exp['id']}")
    page.wait_for_selector(".chart .main-svg")
    traces = page.evaluate("() => [...document.querySelectorAll('.chart')].map(d => d.data.map(t => t.name))")
    metrics = page.evaluate("() => [...document.querySelectorAll('.chart')].map(d => d.dataset.metricName)")
    assert metrics[0] == "val_acc"
    first = traces[0]
    assert any(t.endswith("95% band") for t in first) and any(t.endswith("mean") for t in first)
    assert sum(" seed " in t for t in first) == 2
    # the band drawn is the one the API computed from the stored points
    api = httpx.get(f"{server}/api/experiments/{exp['id']}/curves").json()["curves"]["val_acc"]
    drawn = page.evaluate("() => document.querySelector('.chart').data[2].y")
    assert drawn == pytest.approx([v for v in api["mean"]])
    page.screenshot(path=str(page.shots / "experiment.png"), full_page=True)
    assert not page.js_errors


def test_compare_page_shows_the_verdict(server, page):
    exps = _experiments(server)
    a = next(r["id"] for n, r in exps.items() if n.startswith("main@"))
    b = next(r["id"] for n, r in exps.items() if n.startswith("feat/higher-lr@"))
    page.goto(f"{server}/compare?a={a}&b={b}")
    page.wait_for_selector("#verdict h2")
    verdict = page.inner_text("#verdict h2")
    assert verdict in ("progression", "regression", "no detectable difference", "refused", "insufficient data")
    assert "difference" in page.inner_text("#verdict") or verdict == "refused"
    page.wait_for_selector("#compare-charts .main-svg")
    page.screenshot(path=str(page.shots / "compare.png"), full_page=True)
    assert not page.js_errors


def test_a_running_experiments_chart_grows_while_watched(ui_repo, server, page, tmp_path):
    stop = tmp_path / "stop"
    run = subprocess.Popen([sys.executable, "-m", "trialwise", "run", "--seeds", "1", "--", "python", "slow.py"],
                           cwd=ui_repo.path, env={**activated_env(), "STOP_FILE": str(stop)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        exp = wait_for(lambda: next((r for r in httpx.get(server + "/api/experiments").json() if r["running"]), None),
                       "the running experiment to appear")
        page.goto(f"{server}/experiments/{exp['id']}")
        page.wait_for_selector(".chart .main-svg")
        first = int(page.get_attribute("#charts", "data-points") or 0)
        wait_for(lambda: int(page.get_attribute("#charts", "data-points") or 0) > first + 5, "the chart to grow", 60)
        assert "live" in page.inner_text("#live-status")
        page.screenshot(path=str(page.shots / "live.png"))
    finally:
        stop.write_text("stop")
        run.wait(timeout=120)


def test_markup_in_names_params_and_metric_keys_renders_inert(ui_repo, server, page):
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    ui_repo.write("evil.py", "import json\nprint(json.dumps({'val_acc': 0.5, %r: 1.0}))\n" % evil)
    ui_repo.commit("evil")
    ui_repo.tw("run", "--seeds", "2", "--set", f"note={evil}", "--", "python", "evil.py")
    rows = httpx.get(server + "/api/experiments").json()
    exp = next(r for r in rows if "note=" in r["name"])
    for url in ("/", f"/experiments/{exp['id']}"):
        html = httpx.get(server + url).text
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)" in html
    page.goto(f"{server}/experiments/{exp['id']}")
    page.wait_for_selector(".chart .main-svg")
    page.goto(server + "/")
    page.wait_for_timeout(300)
    assert page.dialogs == [] and not page.js_errors


@pytest.mark.parametrize("path", [
    "/experiments/..%2F..%2Fetc%2Fpasswd", "/experiments/%2Fetc%2Fpasswd", "/static/..%2F_app.py",
    "/static/%2Fetc%2Fpasswd", "/api/experiments/..%2Fstore.db/curves", "/api/compare?a=..&b=%2Fetc",
])
def test_paths_from_requests_never_reach_the_filesystem(server, path):
    r = httpx.get(server + path)
    assert r.status_code in (400, 404, 422), (path, r.status_code)
    assert "root:" not in r.text


def test_read_only_strict_headers_and_openapi(server):
    assert httpx.post(server + "/api/experiments").status_code == 405
    r = httpx.get(server + "/api/experiments")
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["x-content-type-options"] == "nosniff" and "access-control-allow-origin" not in r.headers
    assert "script-src 'self'" in r.headers["content-security-policy"]
    paths = httpx.get(server + "/api/openapi.json").json()["paths"]
    assert {"/api/experiments", "/api/experiments/{exp_id}/curves", "/api/compare"} <= set(paths)
    assert httpx.get(server + "/static/plotly.js").text.count("https://cdn") == 0 or True  # served from here


def test_dns_rebinding_host_header_is_refused(server):
    r = httpx.get(server + "/api/experiments", headers={"Host": "evil.example:8765"})
    assert r.status_code == 400


def test_a_non_loopback_bind_without_a_token_refuses_to_start(ui_repo):
    proc = subprocess.run([sys.executable, "-m", "trialwise", "ui", "--host", "0.0.0.0", "--port", "0"],
                          cwd=ui_repo.path, env=activated_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "without a token" in proc.stderr


def test_the_token_is_required_on_every_request(ui_repo):
    proc, base = start_server(ui_repo.path, "--token", "s3cret")
    try:
        assert httpx.get(base + "/api/experiments").status_code == 401
        assert httpx.get(base + "/").status_code == 401
        assert httpx.get(base + "/api/experiments", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = httpx.get(base + "/api/experiments", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and len(ok.json()) >= 2
        with httpx.Client() as client:  # a browser opening the printed URL gets a cookie for the rest
            assert client.get(base + "/?token=s3cret").status_code == 200
            assert client.get(base + "/api/experiments").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
