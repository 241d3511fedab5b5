"""``trialwise.probes.watch`` on real tiny torch models trained on scikit-learn's digits.

Every number the watcher logs is checked against the same quantity computed directly in the
training loop, and each failure signature (dead ReLUs, vanishing and exploding gradients,
saturation, NaN/inf, unnormalised inputs) is produced by a real model, not a fake series.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import trialwise  # noqa: E402
from trialwise._exceptions import UsageError  # noqa: E402
from trialwise.diagnose import _thresholds as T  # noqa: E402
from trialwise.diagnose._roles import recognize_roles  # noqa: E402
from trialwise.probes import SIGMOID_SATURATION, TANH_SATURATION, Watcher, watch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return torch.tensor(d.data, dtype=torch.float32), torch.tensor(d.target)


def mlp(depth: int = 2, width: int = 64, act: type[nn.Module] = nn.ReLU, scale: float = 1.0) -> nn.Sequential:
    layers: list[nn.Module] = []
    d_in = 64
    for _ in range(depth):
        layers += [nn.Linear(d_in, width), act()]
        d_in = width
    layers.append(nn.Linear(d_in, 10))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                m.weight.mul_(scale)
    return model


class Log:
    """A list-appending ``log`` callback: ``(step, metrics)`` per call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, dict]] = []

    def __call__(self, metrics: dict, step: int) -> None:
        self.calls.append((step, dict(metrics)))

    def series(self, key: str) -> list[float]:
        return [m[key] for _, m in self.calls if key in m]

    @property
    def steps(self) -> list[int]:
        return [s for s, _ in self.calls]


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 12, every: int = 5, lr: float = 0.05,
          batch: int = 32, after_backward=None) -> tuple[Log, Watcher]:  # noqa: ANN001
    log = Log()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    with watch(model, every=every, log=log) as w:
        for i in range(steps):
            idx = torch.randint(0, len(y), (batch,), generator=gen)
            xb = x[idx]
            loss = nn.functional.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            if after_backward is not None:
                after_backward(i, xb)
            opt.step()
    return log, w


# -- schedule, names, and values against direct computation ------------------------------------------

def test_import_does_not_load_torch() -> None:
    code = ("import sys, trialwise, trialwise.probes, trialwise.checks; "
            "print(sorted(m for m in ('torch', 'sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_values_match_direct_computation(digits) -> None:  # noqa: ANN001
    x, y = digits
    torch.manual_seed(0)
    model = nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(512, 32), nn.Tanh(), nn.Linear(32, 10))
    layers = {"1": model[1], "4": model[4], "6": model[6]}
    acts: dict[str, torch.Tensor] = {}
    model[2].register_forward_hook(lambda m, a, o: acts.__setitem__("relu", o.detach()))
    model[5].register_forward_hook(lambda m, a, o: acts.__setitem__("tanh", o.detach()))
    expected: dict[int, dict[str, float]] = {}
    before: dict[int, dict[str, list[torch.Tensor]]] = {}

    def record(i: int, xb: torch.Tensor) -> None:
        e = {f"probe/grad_norm/{n}": math.sqrt(sum(float(p.grad.norm()) ** 2 for p in m.parameters()))
             for n, m in layers.items()}
        alive = (acts["relu"] > 0).any(0).flatten(1).any(1)
        e["probe/dead_frac/2"] = 1 - float(alive.float().mean())
        e["probe/saturated_frac/5"] = float((acts["tanh"].abs() > TANH_SATURATION).float().mean())
        e["probe/input_mean"], e["probe/input_std"] = float(xb.mean()), float(xb.std())
        expected[i] = e
        before[i] = {n: [p.detach().clone() for p in m.parameters()] for n, m in layers.items()}
        if i > 0:  # the update of step i-1 is visible now
            for n, m in layers.items():
                old = before[i - 1][n]
                d = math.sqrt(sum(float((p.detach() - b).norm()) ** 2 for p, b in zip(m.parameters(), old)))
                w = math.sqrt(sum(float(b.norm()) ** 2 for b in before[i - 1][n]))
                expected[i - 1][f"probe/update_ratio/{n}"] = d / w

    log, w = train(model, x / 16, y, steps=13, every=4, after_backward=record)
    # the last update (step 12) is seen by no later step: the watcher's close() logs step 12 without it
    assert log.steps == [0, 4, 8, 12]
    assert w.layers == ["1", "4", "6"] and w.steps == 13
    for step, m in log.calls:
        e = expected[step]
        for key, value in e.items():
            if key.startswith("probe/update_ratio") and step == 12:
                continue
            assert m[key] == pytest.approx(value, rel=1e-4, abs=1e-7), (step, key)
        g = [m[f"probe/grad_norm/{n}"] for n in ("1", "4", "6")]
        assert m["probe/grad_norm_first"] == g[0] and m["probe/grad_norm_last"] == g[2]
        assert m["probe/grad_norm_max"] == max(g)
        assert m["probe/grad_norm_ratio"] == pytest.approx(g[0] / g[2])
        assert m["probe/dead_frac_max"] == m["probe/dead_frac/2"]
        assert m["probe/saturated_frac_max"] == m["probe/saturated_frac/5"]
        assert m["probe/nonfinite_layer"] == -1.0 and "probe/nonfinite_layer_name" not in m
        if step < 12:
            ratios = [m[f"probe/update_ratio/{n}"] for n in ("1", "4", "6")]
            assert m["probe/update_ratio_median"] == pytest.approx(statistics.median(ratios))
        else:
            assert not any(k.startswith("probe/update_ratio") for k in m)
    # the diagnose layer recognises the summary series as its roles
    roles = recognize_roles(log.calls[0][1])
    for role in ("grad_norm_ratio", "grad_norm_first", "grad_norm_last", "grad_norm_max", "dead_frac_max",
                 "saturated_frac_max", "input_mean", "input_std", "nonfinite_layer"):
        assert roles[role] == f"probe/{role}"


def test_only_training_forwards_count_and_hooks_are_temporary(digits) -> None:  # noqa: ANN001
    x, y = digits
    torch.manual_seed(0)
    model = mlp()
    log = Log()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    w = watch(model, every=3, log=log)
    for i in range(7):
        loss = nn.functional.cross_entropy(model(x[:32] / 16), y[:32])
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.eval()
        model(x[:8] / 16)
        model.train()
        with torch.no_grad():
            model(x[:8] / 16)
        if i % 3 != 0:  # after a non-probe step no temporary hook is left anywhere
            assert all(not m._forward_hooks for m in model.modules())
            assert all(not p._post_accumulate_grad_hooks for p in model.parameters())
    assert w.steps == 7 and log.steps == [0, 3]
    w.close()
    assert log.steps == [0, 3, 6]
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(not p._post_accumulate_grad_hooks for p in model.parameters())
    model(x[:8] / 16).sum().backward()
    assert log.steps == [0, 3, 6] and w.steps == 7
    w.close()  # twice is fine


def test_two_forwards_before_one_backward_keep_gradient_statistics(digits) -> None:  # noqa: ANN001
    """A siamese step: the probe waits for the backward that follows the second forward."""
    x, y = digits
    torch.manual_seed(0)
    model = mlp()
    log = Log()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    with watch(model, every=4, log=log) as w:
        for i in range(6):
            a, b = model(x[:16] / 16), model(x[16:32] / 16)
            loss = nn.functional.cross_entropy(a, y[:16]) + nn.functional.cross_entropy(b, y[16:32])
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert w.steps == 12 and log.steps == [0, 4, 8]
    for _, m in log.calls:
        assert m["probe/grad_norm_first"] > 0 and m["probe/update_ratio_median"] > 0
    # a training-mode forward that is never followed by backward does not hold the probes back
    log2 = Log()
    with watch(model, every=2, log=log2):
        for _ in range(5):
            model(x[:8] / 16)
    assert log2.steps == [0, 2, 4] and "probe/grad_norm_ratio" not in log2.calls[0][1]


def test_shared_activation_module_is_read_per_call(digits) -> None:  # noqa: ANN001
    x, y = digits

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2, self.out = nn.Linear(64, 32), nn.Linear(32, 32), nn.Linear(32, 10)
            self.act = nn.ReLU()

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return self.out(self.act(self.fc2(self.act(self.fc1(t)))))

    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():
        net.fc2.bias[:8] = -100.0  # 8 of 32 units of the second call dead, the rest alive
        net.fc2.bias[8:] = 100.0
    log, w = train(net, x / 16, y, steps=1, every=1, lr=0.0)
    m = log.calls[0][1]
    assert m["probe/dead_frac/act:1"] == pytest.approx(8 / 32)
    assert m["probe/dead_frac/act"] < 8 / 32
    assert w.layers == ["fc1", "fc2", "out"]


def test_conv_dead_fraction_is_per_channel(digits) -> None:  # noqa: ANN001
    x, y = digits
    torch.manual_seed(0)
    model = nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(1024, 10))
    with torch.no_grad():
        model[1].bias[:5] = -1000.0
        model[1].bias[5:] = 1000.0
    log, _ = train(model, x / 16, y, steps=1, every=1, lr=0.0)
    assert log.calls[0][1]["probe/dead_frac/2"] == pytest.approx(5 / 16)


# -- failure signatures ------------------------------------------------------------------------------

def test_dead_relu_from_huge_negative_bias(digits) -> None:  # noqa: ANN001
    x, y = digits
    torch.manual_seed(0)
    healthy, _ = train(mlp(), x / 16, y, steps=16, every=5)
    torch.manual_seed(0)
    model = mlp()
    with torch.no_grad():
        model[0].bias.fill_(-8.0)
        model[2].bias.fill_(-8.0)
    dead, _ = train(model, x / 16, y, steps=16, every=5)
    assert all(v == 1.0 for v in dead.series("probe/dead_frac_max"))
    assert all(v == 0.0 for v in dead.series("probe/grad_norm_first"))
    assert all(v < T.DEAD_FRAC for v in healthy.series("probe/dead_frac_max"))


def test_vanishing_gradients_in_a_deep_sigmoid_net(digits) -> None:  # noqa: ANN001
    x, y = digits
    torch.manual_seed(0)
    log, _ = train(mlp(depth=12, width=32, act=nn.Sigmoid), x / 16, y, steps=11, every=5)
    ratios = log.series("probe/grad_norm_ratio")
    assert len(ratios) == 3 and all(r < T.VANISHING_RATIO for r in ratios)
    assert all(g < T.VANISHING_FIRST_NORM for g in log.series("probe/grad_norm_first"))
    torch.manual_seed(0)
    healthy, _ = train(mlp(), x / 16, y, steps=11, every=5)
    assert all(T.VANISHING_RATIO < r < T.EXPLODING_RATIO for r in healthy.series("probe/grad_norm_ratio"))


def test_exploding_gradients_and_saturation_from_a_badly_scaled_init(digits) -> None:  # noqa: ANN001
    x, y = digits
    torch.manual_seed(0)
    log, _ = train(mlp(depth=10, act=nn.Tanh, scale=10.0), x / 16, y, steps=1, every=1, lr=1e-4)
    m = log.calls[0][1]
    assert m["probe/grad_norm_ratio"] > T.EXPLODING_RATIO
    assert m["probe/saturated_frac_max"] > 0.5
    torch.manual_seed(0)
    ok, _ = train(mlp(depth=10, act=nn.Tanh), x / 16, y, steps=1, every=1, lr=1e-4)
    assert ok.calls[0][1]["probe/grad_norm_ratio"] < T.EXPLODING_RATIO
    assert ok.calls[0][1]["probe/saturated_frac_max"] < 0.05


def test_sigmoid_saturation_threshold(digits) -> None:  # noqa: ANN001
    x, y = digits
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.Sigmoid(), nn.Linear(16, 10))
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias[:4] = 50.0   # sigmoid = 1 - 2e-22
        model[0].bias[4:6] = -50.0  # sigmoid ~ 2e-22
        model[0].bias[6:] = math.log(1 / SIGMOID_SATURATION - 1) - 0.5  # 0.985: not saturated
    log, _ = train(model, x / 16, y, steps=1, every=1, lr=0.0)
    assert log.calls[0][1]["probe/saturated_frac/1"] == pytest.approx(6 / 16)


def test_first_nonfinite_layer_in_forward_order(digits) -> None:  # noqa: ANN001
    x, y = digits
    torch.manual_seed(0)
    model = mlp(depth=3)
    log = Log()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with watch(model, every=2, log=log) as w:
        for i in range(6):
            if i == 4:  # right before a probe step (between probes, NaN would spread to every weight first)
                with torch.no_grad():
                    model[2].weight[0, 0] = math.inf  # the second Linear, forward index 1
            loss = nn.functional.cross_entropy(model(x[:32] / 16), y[:32])
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert log.series("probe/nonfinite_layer") == [-1.0, -1.0, 1.0]
    assert log.calls[2][1]["probe/nonfinite_layer_name"] == "2"
    assert w.first_nonfinite is not None and w.first_nonfinite.to_dict() == {
        "step": 4, "index": 1, "layer": "2", "where": "output"}
    assert not math.isfinite(log.calls[2][1]["probe/grad_norm_max"])


def test_first_nonfinite_gradient_in_backward_order(digits) -> None:  # noqa: ANN001
    """sqrt(s * t**2) at t = 0: finite output, 0/0 derivative.  The NaN then reaches the earlier layer's
    gradient too; the origin is the first non-finite gradient in backward order, not the first layer."""
    x, y = digits

    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(64))

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return t * self.w  # zero where the pixel is zero

    class Magnitude(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.s = nn.Parameter(torch.ones(64))

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return (self.s * t * t).sqrt()

    torch.manual_seed(0)
    model = nn.Sequential(Scale(), Magnitude(), nn.Linear(64, 10))
    log, w = train(model, x / 16, y, steps=1, every=1, lr=0.0)
    m = log.calls[0][1]
    assert math.isnan(m["probe/grad_norm/0"]) and math.isnan(m["probe/grad_norm/1"])
    assert math.isfinite(m["probe/grad_norm/2"])
    assert m["probe/nonfinite_layer"] == 1.0 and m["probe/nonfinite_layer_name"] == "1"
    assert w.first_nonfinite is not None and w.first_nonfinite.where == "gradient"


def test_unnormalized_input_statistics(digits) -> None:  # noqa: ANN001
    x, y = digits
    torch.manual_seed(0)
    raw, _ = train(mlp(), x, y, steps=6, every=5, lr=0.001)
    torch.manual_seed(0)
    scaled, _ = train(mlp(), (x - x.mean()) / x.std(), y, steps=6, every=5, lr=0.001)
    assert all(abs(v - float(x.mean())) < 1.0 for v in raw.series("probe/input_mean"))
    assert all(v > T.UNNORMALIZED_STD for v in raw.series("probe/input_std"))
    assert all(abs(v) < 0.3 for v in scaled.series("probe/input_mean"))
    assert all(0.7 < v < 1.3 for v in scaled.series("probe/input_std"))


def test_input_false_and_validation(digits) -> None:  # noqa: ANN001
    x, y = digits
    model = mlp()
    log = Log()
    with watch(model, every=1, log=log, input=False):
        nn.functional.cross_entropy(model(x[:16] / 16), y[:16]).backward()
    assert "probe/input_mean" not in log.calls[0][1] and "probe/grad_norm_ratio" in log.calls[0][1]
    with pytest.raises(UsageError, match="'every'"):
        watch(model, every=0)
    with pytest.raises(UsageError, match="'model'"):
        watch(object())
    with pytest.raises(UsageError, match="'log'"):
        watch(model, log="print")


def test_tw_watch_is_the_same_watcher(digits) -> None:  # noqa: ANN001
    x, y = digits
    model = mlp()
    log = Log()
    w = trialwise.watch(model, every=2, log=log)
    assert isinstance(w, Watcher) and w.every == 2
    w.close()


def test_default_log_is_trialwise_log(tmp_path: Path) -> None:
    """Without ``log``, the probes go through ``tw.log`` into the run's metrics file and its reader."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import torch
        from torch import nn
        import trialwise as tw
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with tw.watch(model, every=2):
            for i in range(5):
                loss = nn.functional.cross_entropy(model(torch.randn(16, 4)), torch.randint(0, 2, (16,)))
                opt.zero_grad(); loss.backward(); opt.step()
        tw.finish()
    """))
    run_dir = tmp_path / "run"
    env = {**os.environ, "TRIALWISE_RUN_DIR": str(run_dir), "TRIALWISE_RUN_ID": "probe-test"}
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [s for line in lines for s in line["s"]]
    assert steps == [0, 2, 4]
    from trialwise.runner._ingest import read_api_metrics

    points = read_api_metrics(run_dir)
    ratio = [(step, v) for key, step, v, _, _ in points if key == "probe/grad_norm_ratio"]
    assert [s for s, _ in ratio] == [0, 2, 4] and all(np.isfinite(v) and v > 0 for _, v in ratio)


def test_public_surface() -> None:
    import trialwise.probes as P

    assert sorted(P.__all__) == ["ACTIVATIONS", "Activation", "DEFAULT_EVERY", "NonfiniteEvent", "SIGMOID_SATURATION",
                                 "TANH_SATURATION", "Watcher", "watch"]
    assert all(getattr(P, name) is not None for name in P.__all__)
    assert P.DEFAULT_EVERY == 50
