"""The report in a real browser (Debian's Chromium through Playwright): the packed plotly.js unpacks,
every chart is drawn, nothing is fetched, the toggles and the smoothing work, hostile names stay inert."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.report.conftest import branch
from tests.report.test_report_escaping import IMG, SCRIPT

@pytest.fixture
def chromium(browser):  # noqa: ANN001, ANN201
    """The session's headless Chromium (tests/conftest.py)."""
    return browser


def ema(ys: list, w: float) -> list:
    """TensorBoard's debiased exponential moving average, gaps kept (what the page's script does)."""
    out, last, k = [], 0.0, 0
    for v in ys:
        if v is None:
            out.append(None)
            continue
        last, k = last * w + (1 - w) * v, k + 1
        out.append(last / (1 - w ** k))
    return out


def test_report_draws_offline_and_its_controls_work(repo: Repo, tmp_path: Path, chromium) -> None:  # noqa: ANN001
    branch(repo, "evil", 0.03, note=IMG, extra_key=SCRIPT + IMG)
    repo.tw("run", "--ref", "main")
    repo.tw("run", "--ref", "evil", "--tag", SCRIPT)
    out = tmp_path / "r.html"
    repo.tw("report", "main", SCRIPT, "-o", str(out))

    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(out.as_uri())
    page.wait_for_function("document.body.getAttribute('data-rendered') !== '0'", timeout=60_000)
    n = page.evaluate("document.querySelectorAll('script[data-figure]').length")
    assert page.evaluate("document.body.getAttribute('data-rendered')") == str(n) and n >= 5
    assert page.evaluate("document.querySelectorAll('.chart .main-svg').length") >= n  # every chart drawn
    assert [u for u in requests if not u.startswith("file://")] == []  # nothing fetched
    assert errors == [] and dialogs == []  # no script ran from a name, no alert()
    assert page.evaluate("document.getElementById('tw-status').textContent") == ""

    chart = "document.querySelector('.curve .chart')"
    mean = page.evaluate(f"{chart}.data.findIndex(t => t.meta && t.meta.role === 'mean')")
    before = page.evaluate(f"{chart}.data[{mean}].y")
    page.fill("#tw-smoothing", "0.9")
    page.dispatch_event("#tw-smoothing", "input")
    after = page.evaluate(f"{chart}.data[{mean}].y")
    assert after == pytest.approx(ema(before, 0.9)) and after != before
    page.fill("#tw-smoothing", "0")
    page.dispatch_event("#tw-smoothing", "input")
    assert page.evaluate(f"{chart}.data[{mean}].y") == pytest.approx(before)

    first = page.locator(".curve").first
    first.locator(".updatemenu-button", has_text="log").click()
    assert page.evaluate(f"{chart}.layout.yaxis.type") == "log"
    first.locator(".updatemenu-button", has_text="seeds shown").click()
    visible = page.evaluate(f"{chart}.data.filter(t => t.meta.role === 'seed').map(t => t.visible)")
    assert visible and all(v is True for v in visible)
    # the hostile names are on the page as text
    assert SCRIPT + IMG in page.inner_text("body")
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
