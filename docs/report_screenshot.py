"""Make ``docs/report.png``, the README's screenshot of a report, from a real run of ``trialwise demo``.

It runs the demo (4 seeds of the digits CNN on ``main`` and ``feat/higher-lr``) into a temporary
directory, opens the report it writes in Debian's headless Chromium through Playwright, waits until
every chart is drawn and saves the top of the page. Needs torch (the demo) and ``/usr/bin/chromium``
with the ``playwright`` package (``make install`` has it; ``.ci/run`` installs Chromium).

Run: ``python docs/report_screenshot.py`` (about two minutes on 2 CPU cores).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).with_name("report.png")
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 1500}
"""The part of the page shown: header, verdict card and the first learning curve."""


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="trialwise-shot-") as tmp:
        report = Path(tmp) / "report.html"
        proc = subprocess.run([sys.executable, "-m", "trialwise", "demo", "--json", "--keep", str(Path(tmp) / "demo"),
                               "--report", str(report)], capture_output=True, text=True, timeout=1200)
        if proc.returncode != 0:
            raise SystemExit(f"trialwise demo failed ({proc.returncode}):\n{proc.stderr}")
        written = json.loads(proc.stdout)["report"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            page.goto(report.as_uri())
            page.wait_for_function("document.body.getAttribute('data-rendered') !== '0'", timeout=120_000)
            # the first learning curve with its seeds drawn next to the band: its own Plotly button
            page.locator("#curves .updatemenu-button", has_text="seeds shown").first.click()
            page.wait_for_function("[...document.querySelectorAll('.chart')].some(d => (d.data || [])"
                                   ".some(t => t.meta && t.meta.role === 'seed' && t.visible === true))")
            page.screenshot(path=str(OUT), full_page=False)
            browser.close()
    print(f"{OUT} from a report of {written['bytes'] / 1e6:.1f} MB ({', '.join(written['experiments'])})")


if __name__ == "__main__":
    main()
