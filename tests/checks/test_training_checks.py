"""The torch checks on real tiny models: each passes on a healthy case and fails on a broken one,
and leaves the model, its mode, the optimizer and the RNG as they were."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from trialwise._exceptions import UsageError  # noqa: E402
from trialwise.checks import gradcheck, initial_loss_check, lr_range_test, overfit_one_batch  # noqa: E402
from trialwise.checks import _training as TR  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)


def mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_state(model: nn.Module, before: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


CE = nn.functional.cross_entropy


# -- overfit one batch ---------------------------------------------------------------------------------

def test_overfit_passes_and_restores_everything(digits) -> None:  # noqa: ANN001
    x, y = digits
    model = mlp()
    model.eval()
    before = snapshot(model)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    r = overfit_one_batch(model, (x[:32], y[:32]), CE)
    assert r.passed, r.message
    assert r.steps_to_target is not None and r.steps_to_target < TR.OVERFIT_STEPS
    assert r.min_loss <= r.target_loss == pytest.approx(TR.OVERFIT_TARGET_FRACTION * r.initial_loss)
    assert r.losses[0] == pytest.approx(math.log(10), rel=0.1) and len(r.losses) == TR.OVERFIT_STEPS
    assert r.accuracy == 1.0
    assert same_state(model, before) and not model.training
    assert torch.equal(torch.rand(3), expected_next)  # the RNG stream is where it was
    json.dumps(r.to_dict())


def test_overfit_restores_a_passed_optimizer(digits) -> None:  # noqa: ANN001
    x, y = digits
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    r = overfit_one_batch(model, (x[:16], y[:16]), CE, optimizer=opt)
    assert r.passed
    assert opt.state_dict()["state"] == {}


def test_overfit_fails_with_zero_learning_rate(digits) -> None:  # noqa: ANN001
    x, y = digits
    r = overfit_one_batch(mlp(), (x[:32], y[:32]), CE, optimizer=lambda p: torch.optim.SGD(p, lr=0.0), steps=50)
    assert not r.passed
    assert r.final_loss == pytest.approx(r.initial_loss, rel=1e-5)
    assert "cannot overfit" in r.message


def test_overfit_fails_when_labels_change_every_step(digits) -> None:  # noqa: ANN001
    x, y = digits
    gen = torch.Generator().manual_seed(0)

    def shuffled_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return CE(out, target[torch.randperm(len(target), generator=gen)])

    r = overfit_one_batch(mlp(), (x[:32], y[:32]), shuffled_loss)
    assert not r.passed and r.steps_to_target is None
    assert r.min_loss > r.target_loss


def test_overfit_fails_with_a_detached_output(digits) -> None:  # noqa: ANN001
    x, y = digits

    class Detached(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = mlp()

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return self.net(t).detach()

    r = overfit_one_batch(Detached(), (x[:32], y[:32]), CE)
    assert not r.passed and "detached" in r.message
    with pytest.raises(UsageError, match="pair"):
        overfit_one_batch(mlp(), x[:32], CE)


# -- loss at init --------------------------------------------------------------------------------------

def test_initial_loss_at_ln_c_passes(digits) -> None:  # noqa: ANN001
    x, y = digits
    model = nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))
    model.eval()
    before = snapshot(model)
    r = initial_loss_check(model, (x[:128], y[:128]), CE, n_classes=10)
    assert r.passed, r.message
    assert 0.9 < r.ratio < 1.1 and r.expected == pytest.approx(math.log(10))
    assert r.mean_max_prob is not None and r.mean_max_prob < 0.3
    assert same_state(model, before) and not model.training  # BatchNorm running stats untouched


def test_initial_loss_flags_an_overconfident_init(digits) -> None:  # noqa: ANN001
    x, y = digits
    model = mlp()
    with torch.no_grad():
        model[2].weight.mul_(30.0)
    r = initial_loss_check(model, (x[:128], y[:128]), CE, n_classes=10)
    assert not r.passed and r.ratio > TR.INIT_LOSS_MAX_RATIO
    assert "confidently wrong" in r.message and r.mean_max_prob > 0.5


def test_initial_loss_names_a_summed_loss_and_a_model_that_knows_the_labels(digits) -> None:  # noqa: ANN001
    x, y = digits
    summed = initial_loss_check(mlp(), (x[:64], y[:64]), lambda o, t: CE(o, t, reduction="sum"), n_classes=10)
    assert not summed.passed and "summed" in summed.message

    class Oracle(nn.Module):  # the input encodes the answer (seed 002)
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            return 20.0 * nn.functional.one_hot(t[:, 0].long(), 10).float() + self.w

    xl = x[:64].clone()
    xl[:, 0] = y[:64].float()
    r = initial_loss_check(Oracle(), (xl, y[:64]), CE, n_classes=10)
    assert not r.passed and "predicts the labels" in r.message


# -- LR range test -------------------------------------------------------------------------------------

def batches(x: torch.Tensor, y: torch.Tensor, size: int = 32) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x[i:i + size], y[i:i + size]) for i in range(0, 640, size)]


def test_lr_range_test_is_stable_over_seeds_and_restores(digits) -> None:  # noqa: ANN001
    x, y = digits
    model = mlp()
    before = snapshot(model)
    r = lr_range_test(model, batches(x, y), CE, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                      min_lr=1e-5, max_lr=10.0, steps=80)
    assert r.passed, r.message
    assert len(r.curves) == 3 and all(s is not None for s in r.suggestions)
    assert 1e-3 < r.median < 3.0 and r.spread <= TR.LR_SPREAD_MAX
    assert r.low <= r.median <= r.high
    for c in r.curves:
        assert min(c.smoothed) < (1 - TR.LR_MIN_DROP) * c.smoothed[0]
        assert c.lrs[int(min(range(len(c.smoothed)), key=c.smoothed.__getitem__))] > c.steepest_lr > c.lrs[0]
    assert r.curves[0].losses != r.curves[1].losses  # seeds changed the batch order
    assert same_state(model, before)
    mins = lr_range_test(model, batches(x, y), CE, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                         min_lr=1e-5, max_lr=10.0, steps=80, seeds=(0,), rule="min/10")
    assert mins.suggestions == (r.curves[0].min_loss_lr,) and mins.geometric_std is None
    far = lr_range_test(model, batches(x, y), CE, lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                        min_lr=1e-3, max_lr=1e4, steps=40, seeds=(0,))
    c = far.curves[0]  # the sweep stops at divergence, and the suggestion lies before it
    assert c.diverged_at is not None and len(c.losses) == c.diverged_at + 1 < 40
    assert c.steepest_lr < c.lrs[c.diverged_at]
    json.dumps(r.to_dict())


def test_lr_range_test_fails_when_nothing_learns(digits) -> None:  # noqa: ANN001
    x, y = digits
    model = mlp()
    with torch.no_grad():
        model[0].bias.fill_(-100.0)  # every ReLU dead: no learning rate helps
        model[2].bias.zero_()
        model[2].bias.requires_grad_(False)
    r = lr_range_test(model, batches(x, y), CE, lambda p: torch.optim.SGD(p, lr=0.1), steps=40, seeds=(0, 1))
    assert not r.passed and r.median is None and r.suggestions == (None, None)
    with pytest.raises(UsageError, match="min_lr"):
        lr_range_test(model, batches(x, y), CE, lambda p: torch.optim.SGD(p, lr=0.1), min_lr=1.0, max_lr=0.1)


# -- gradcheck -----------------------------------------------------------------------------------------

class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t):  # noqa: ANN001, ANN205
        ctx.save_for_backward(t)
        return t ** 3

    @staticmethod
    def backward(ctx, g):  # noqa: ANN001, ANN205
        (t,) = ctx.saved_tensors
        return g * 3 * t ** 2


class BadCube(Cube):
    @staticmethod
    def backward(ctx, g):  # noqa: ANN001, ANN205
        (t,) = ctx.saved_tensors
        return g * 2 * t ** 2  # wrong derivative


def test_gradcheck_passes_and_fails_without_raising() -> None:
    t = torch.randn(5)  # float32: converted to float64 by the check
    good = gradcheck(Cube.apply, t)
    assert good.passed and good.n_inputs == 1 and good.eps == 1e-6
    bad = gradcheck(BadCube.apply, (t,))
    assert not bad.passed and "Jacobian mismatch" in bad.message
    torch.manual_seed(0)
    module = gradcheck(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), torch.randn(2, 4), atol=1e-6)
    assert module.passed and module.atol == 1e-6
