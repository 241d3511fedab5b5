"""``trialwise init``'s detection of the training script, its seed flag and its metric (pure)."""

from __future__ import annotations

from trialwise.settings._detect import detect_project

TOP_LEVEL = '''import argparse, json
p = argparse.ArgumentParser(); p.add_argument("--seed", type=int, default=0); a = p.parse_args()
for step in range(10):
    print(json.dumps({"step": step, "train_loss": 1 / (step + 1)}))
print(json.dumps({"step": 10, "val_acc": 0.9}))
'''


def test_a_script_that_runs_at_top_level_without_a_main_guard_is_the_entry() -> None:
    found = detect_project({"train.py": TOP_LEVEL, "utils.py": "def f():\n    return 1\n"})
    assert found.command == "python train.py" and found.seed_param == "--seed {value}"
    assert (found.metric, found.direction, found.framework) == ("val_acc", "max", "argparse")


def test_a_main_guard_wins_over_a_preferred_name_and_no_candidate_says_what_to_do() -> None:
    guarded = 'import argparse\nif __name__ == "__main__":\n    argparse.ArgumentParser().add_argument("--seed")\n'
    found = detect_project({"train.py": "x = 1\n", "scripts/fit_model.py": guarded})
    assert found.command == "python scripts/fit_model.py" and found.seed_param == "--seed {value}"
    none = detect_project({"model.py": "class Net: pass\n", "data.py": "X = []\n"})
    assert none.command == "python train.py" and "set `command`" in none.notes[0]
