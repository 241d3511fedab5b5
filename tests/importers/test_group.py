"""Grouping imported runs into experiments (pure: no store, no source)."""

from __future__ import annotations

import pytest

from trialwise._exceptions import DataError, UsageError
from trialwise.importers import ImportedRun, ImportOptions, SourceRead, plan_import
from trialwise.settings import MetricConfig

SHA_A, SHA_B = "a" * 40, "b" * 40


def run(i: int, seed: object, lr: float = 0.1, commit: str | None = None, variant: str = "x",
        start: float | None = None) -> ImportedRun:
    params = {"lr": lr} if seed is None else {"lr": lr, "seed": seed}
    return ImportedRun("csv", f"src{i}", f"run{i}", params, (("val_acc", 1, 0.5 + i / 100, None, "csv"),),
                       started_at=start, tags={"variant": variant}, commit=commit)


def plan(runs: list[ImportedRun], **kw: object):  # noqa: ANN201
    options = ImportOptions(metric=MetricConfig(name="val_acc", summary="best"), **kw)  # type: ignore[arg-type]
    return plan_import(SourceRead("csv", "/data/x.csv", "x", tuple(runs)), options, now=123.0)


def test_runs_of_different_commits_are_never_one_experiment() -> None:
    p = plan([run(0, 0, commit=SHA_A), run(1, 1, commit=SHA_A), run(2, 0, commit=SHA_B), run(3, 1)])
    names = {g.experiment.name: (g.seeds, g.experiment.commit_sha) for g in p.groups}
    assert names == {"x@aaaaaaaa[lr=0.1]": ([0, 1], SHA_A), "x@bbbbbbbb[lr=0.1]": ([0], SHA_B),
                     "x[lr=0.1]": ([1], "unknown")}
    assert len({g.experiment.id for g in p.groups}) == 3


def test_ids_are_stable_and_the_experiment_records_how_it_was_grouped() -> None:
    runs = [run(0, "0", start=50.0), run(1, 1.0, start=40.0), run(2, 0, lr=0.2)]
    a, b = plan(runs, group_by=("lr",)), plan(list(reversed(runs)), group_by=("lr",))
    assert [g.experiment.id for g in a.groups] == [g.experiment.id for g in b.groups]
    assert [[r.values["id"] for r in g.runs] for g in a.groups] == [[r.values["id"] for r in g.runs] for g in b.groups]
    first = a.groups[0]
    assert first.experiment.kind == "imported" and first.experiment.created_at == 40.0  # its first run's start
    assert first.experiment.launch["set"] == {"lr": 0.1}
    assert first.experiment.launch["imported"]["provenance"] == "imported from csv /data/x.csv"
    assert a.groups[1].experiment.created_at == 123.0  # no run said when it started
    assert first.seeds == [0, 1]  # "0" and 1.0 are the integers 0 and 1


def test_grouping_by_a_tag_and_notes_on_repeated_seeds() -> None:
    p = plan([run(0, 0, variant="a"), run(1, 0, variant="a", lr=0.5), run(2, 1, variant="b")], group_by=("tag:variant",))
    assert {g.experiment.name: g.seeds for g in p.groups} == {"x[tag:variant=a]": [0, 0], "x[tag:variant=b]": [1]}
    assert any("seed 0 has 2 runs" in n for n in p.notes)


def test_seeds_missing_not_integers_or_numbered() -> None:
    with pytest.raises(UsageError, match="2 run.s. have no seed param 'seed': run1, run2"):
        plan([run(0, 5), run(1, None), run(2, None)])
    with pytest.raises(DataError, match="seed param 'seed' is 'abc', not an integer"):
        plan([run(0, "abc")])
    with pytest.raises(DataError, match="is 1.5, not an integer"):
        plan([run(0, 1.5)])
    numbered = plan([run(0, 1, start=3.0), run(1, None, start=2.0), run(2, None, start=1.0)], number_seeds=True)
    (group,) = numbered.groups
    assert {r.values["seed"] for r in group.runs} == {0, 1, 2}
    assert [r.values["seed"] for r in group.runs] == [0, 2, 1]  # start order: src2 (t=1), src1 (t=2), src0 kept 1


def test_group_by_checks_its_keys() -> None:
    with pytest.raises(UsageError, match="--group-by depth: no run has that param .they have lr, seed."):
        plan([run(0, 0)], group_by=("depth",))
    with pytest.raises(UsageError, match="the seed param cannot group runs"):
        plan([run(0, 0)], group_by=("seed",))


def test_the_summary_follows_the_metric_rule() -> None:
    r = ImportedRun("csv", "s", "r", {"seed": 0}, (("val_acc", 0, 0.9, None, "csv"), ("val_acc", 1, 0.7, None, "csv")))
    (group,) = plan([r]).groups
    assert group.runs[0].summary["val_acc"] == 0.9  # summary = "best" of a max metric
