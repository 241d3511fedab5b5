"""Score table of ``trialwise diagnose`` on the generalization suite (``tests/diagnose_general``).

Runs the suite's cases (real digits trainings from three script styles, 2 seeds each, through
``trialwise run`` in a temporary git repository), diagnoses each with and without its ``tw.watch``
probes, and scores: right first code (and cause) over the fault cases, warning-level findings on the
healthy ones.  Each invocation records one labelled table in ``results/diagnose.json`` (a label run
again replaces its table) and rewrites ``results/diagnose.md`` with every table in the order first
recorded, so the baseline stays next to the later ones.

Run: ``python benchmarks/bench_diagnose.py --label baseline``.  ``--lab DIR`` keeps the repository and
its runs in DIR and reuses them on the next call (only the diagnosis is redone); ``--rerun`` runs the
trainings again (needed after a change to how runs are recorded); ``--render`` only rewrites the
Markdown from the JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.diagnose_general.cases import BLIND, CASES, WITH, Lab, make_lab, run_suite  # noqa: E402

RESULTS = Path(__file__).parent / "results"
INDEX = "lab.json"
"""The experiment id of each case, kept in the ``--lab`` directory."""


def _lab(where: Path | None, rerun: bool) -> Lab:
    if where is None:
        return make_lab(Path(tempfile.mkdtemp(prefix="tw-bench-diagnose-")) / "repo")
    repo_dir, index = where / "repo", where / INDEX
    if index.exists() and not rerun:
        from tests.conftest import Repo

        return Lab(Repo(repo_dir), json.loads(index.read_text(encoding="utf-8")))
    if repo_dir.exists():
        import shutil

        shutil.rmtree(repo_dir)
    return make_lab(repo_dir)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--label", default="current", help="name of this table (e.g. baseline)")
    p.add_argument("--lab", type=Path, default=None, help="keep (and reuse) the runs in this directory")
    p.add_argument("--rerun", action="store_true", help="run the trainings again even if --lab holds them")
    p.add_argument("--render", action="store_true", help="only rewrite diagnose.md from diagnose.json")
    a = p.parse_args()
    RESULTS.mkdir(exist_ok=True)
    store = RESULTS / "diagnose.json"
    data = json.loads(store.read_text(encoding="utf-8")) if store.exists() else {"tables": {}}
    score = None
    if not a.render:
        if a.lab is not None:
            a.lab.mkdir(parents=True, exist_ok=True)
        lab = _lab(a.lab, a.rerun)
        start = time.time()
        score = run_suite(lab)
        if a.lab is not None:
            (a.lab / INDEX).write_text(json.dumps(lab.experiments, indent=1), encoding="utf-8")
        data["tables"][a.label] = {
            "right_first_code": {WITH: score.rate(WITH), BLIND: score.rate(BLIND)},
            "right_first_code_and_cause": {WITH: score.rate_cause(WITH), BLIND: score.rate_cause(BLIND)},
            "healthy_alarms": {WITH: score.alarms(WITH), BLIND: score.alarms(BLIND)},
            "verdicts": [v.__dict__ | {"ok": v.ok} for v in score.verdicts],
            "markdown": score.markdown(a.label),
            "seconds": round(time.time() - start, 1),
        }
        store.write_text(json.dumps(data, indent=1), encoding="utf-8")
    n_faults = sum(not c.expect.healthy for c in CASES)
    n_probes = sum(c.probes for c in CASES)
    head = [
        "# `trialwise diagnose` on trainings it was not tuned on",
        "",
        f"The generalization suite of `tests/diagnose_general` (issue 15): {len(CASES)} small real trainings on "
        f"scikit-learn's digits, {n_faults} with a fault of seeds 002-004 and {len(CASES) - n_faults} healthy, from "
        "three independently written script styles (a plain loop printing its own JSON names, a LightningModule "
        "with Lightning's CSVLogger names, a Hugging Face Trainer-style loop printing the Trainer's dicts), 2 seeds "
        f"each, run by `trialwise run`. {n_probes} cases add `tw.watch` probes; they are diagnosed with them and, "
        "for the *without probes* column, with the `probe/` series left out (`trialwise diagnose --ignore probe/`). "
        "A fault is right when its first finding has the expected code (and, where the evidence can tell, the "
        "expected first cause); a healthy case is wrong when any finding is at warning level or above. "
        "Targets (issue 15): >= 90% right first code with probes, >= 80% without, 0 alarms on healthy runs.",
        "",
        "Read the rows for what they are: the suite (cases and expectations) was written and frozen before any "
        "detector changed, so the *baseline* row is a held-out score; the later rows are after rule changes made "
        "while looking at the suite's misses (general rules citing the seeds, no case names), so they measure "
        "the fixes, not generalization to scripts nobody has seen yet. The next held-out check needs new "
        "trainings.",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}. Produced by "
        "`python benchmarks/bench_diagnose.py --label LABEL`.",
        "",
    ]
    def pct(pair: list[int]) -> str:
        k, n = pair
        return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "—"

    summary = ["## Summary", "", "| table | right first code, with probes | without probes | right code and cause, "
               "with / without | healthy alarms, with / without |", "|---|---|---|---|---|"]
    for label, t in data["tables"].items():
        rc, rcc, ha = t["right_first_code"], t["right_first_code_and_cause"], t["healthy_alarms"]
        summary.append(f"| {label} | {pct(rc[WITH])} | {pct(rc[BLIND])} | {pct(rcc[WITH])} / {pct(rcc[BLIND])} | "
                       f"{pct(ha[WITH])} / {pct(ha[BLIND])} |")
    body = [t["markdown"] for t in data["tables"].values()]
    (RESULTS / "diagnose.md").write_text("\n".join(head) + "\n" + "\n".join(summary) + "\n\n## Tables\n\n"
                                         + "\n".join(body), encoding="utf-8")
    if score is not None:
        print(score.markdown(a.label))


if __name__ == "__main__":
    main()
