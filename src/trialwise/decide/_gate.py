"""The CI merge gate (patterns #2 and #6): run or reuse fresh results, decide, exit 0/1/2."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trialwise._exit_codes import EXIT_ERROR, EXIT_NEGATIVE, EXIT_OK
from trialwise.decide._decide import NO_DIFFERENCE, PROGRESSION, REFUSED, REGRESSION, DecisionSet

EXIT_PASS = EXIT_OK
EXIT_FAIL = EXIT_NEGATIVE
"""The decision was made and fails the requirement (a regression, or no required progression)."""
EXIT_UNDECIDED = EXIT_ERROR
"""No decision can be made: stale, dirty, metric version changed, too few seeds, insufficient data."""

REQUIREMENTS = ("progression", "non-regression")


@dataclass(frozen=True)
class GateResult:
    decisions: DecisionSet
    require: str
    exit_code: int
    reason: str
    markdown: str

    def to_dict(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "require": self.require, "reason": self.reason,
                **self.decisions.to_dict()}


def judge(decisions: DecisionSet, require: str) -> tuple[int, str]:
    """Exit code and reason for ``decisions`` under ``require``."""
    verdicts = [d.verdict for d in decisions.decisions]
    bad = decisions.undecided
    if bad is not None:
        return EXIT_UNDECIDED, f"cannot decide ({bad.verdict}): {bad.sentence}"
    if REGRESSION in verdicts:
        bad = next(d for d in decisions.decisions if d.verdict == REGRESSION)
        return EXIT_FAIL, f"regression: {bad.sentence}"
    if require == "progression" and PROGRESSION not in verdicts:
        return EXIT_FAIL, "no progression was detected, and --require progression asks for one"
    return EXIT_PASS, "passes: " + ("; ".join(d.sentence for d in decisions.decisions))


ICON = {PROGRESSION: "✅", REGRESSION: "❌", NO_DIFFERENCE: "➖", REFUSED: "⛔"}


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown_summary(decisions: DecisionSet, require: str, exit_code: int, reason: str) -> str:
    """A Markdown summary for a pull-request comment or ``$GITHUB_STEP_SUMMARY``."""
    head = {EXIT_PASS: "passed", EXIT_FAIL: "failed", EXIT_UNDECIDED: "could not decide"}[exit_code]
    lines = [f"## trialwise gate: {head}", "", f"Requirement: **{require}**. {_md_escape(reason)}", "",
             "| | metric | baseline | candidate | difference (95% CI) | p | verdict |",
             "|---|---|---|---|---|---|---|"]
    from trialwise.stats._common import decimals_for, fmt_num
    from trialwise.stats._power import pooled_std

    for d in decisions.decisions:
        c = d.comparison
        metric = f"{d.metric} ({'higher' if d.direction == 'max' else 'lower'} is better)"
        if d.label and d.label != d.metric:
            metric = f"{d.label}: {metric}"
        if c is None:
            row = [ICON.get(d.verdict, "❔"), metric, f"`{d.base.label}`", f"`{d.cand.label}`", "—", "—", d.verdict]
        else:
            p = d.p_adjusted if d.p_adjusted is not None else c.p_value
            dec = decimals_for(pooled_std(c.arm_a.std, c.arm_b.std, c.arm_a.n, c.arm_b.n))
            row = [ICON.get(d.verdict, "❔"), metric,
                   f"`{d.base.label}`: {fmt_num(c.arm_a.mean, dec)} ± {fmt_num(c.arm_a.std, dec)} (n={c.arm_a.n})",
                   f"`{d.cand.label}`: {fmt_num(c.arm_b.mean, dec)} ± {fmt_num(c.arm_b.std, dec)} (n={c.arm_b.n})",
                   f"{fmt_num(c.diff, dec, sign=True)} ({fmt_num(c.diff_ci_low, dec, sign=True)} to "
                   f"{fmt_num(c.diff_ci_high, dec, sign=True)})",
                   f"{p:.2g}" + (" (Holm)" if d.p_adjusted is not None else ""), d.verdict]
        lines.append("| " + " | ".join(_md_escape(str(x)) for x in row) + " |")
    notes = [w for d in decisions.decisions for w in d.checks.warnings + d.checks.refusals] + decisions.notes
    if notes:
        lines += [""] + [f"- {_md_escape(n)}" for n in dict.fromkeys(notes)]
    lines += ["", "<sub>decided by trialwise: several seeds per arm, tests oriented by the metric's direction</sub>"]
    return "\n".join(lines) + "\n"
