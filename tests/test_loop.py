"""bmlib.train.loop.fit: the book's one loop, on small tensors (CPU, float64)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from bmlib.train.config import LoopConfig, OptimConfig, TrainingError, learning_rate
from bmlib.train.loop import StreamBatches, TensorBatches, fit, predict


def _data(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g, dtype=torch.float64)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)).double()


def test_full_batch_fit_is_plain_gradient_descent():
    """One full-batch SGD epoch equals w - lr * grad computed by hand with autograd."""
    x, y = _data()
    model, reference = _model(), _model()
    loss = nn.functional.cross_entropy(reference(x), y)
    grads = torch.autograd.grad(loss, list(reference.parameters()))
    fit(model, TensorBatches(x, y, None, shuffle=False),
        OptimConfig(optimizer="sgd", lr=0.1, momentum=0.0, nesterov=False),
        LoopConfig(epochs=1, seed=None))
    for p, q, g in zip(model.parameters(), reference.parameters(), grads):
        torch.testing.assert_close(p, q - 0.1 * g, rtol=0, atol=1e-15)


def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path: Path):
    x, y = _data()
    optim, loop = OptimConfig(lr=0.05, schedule="cosine"), LoopConfig(epochs=4, seed=3)
    whole = _model()
    fit(whole, TensorBatches(x, y, 16), optim, loop)

    class Stop(Exception):
        pass

    def stop_after_two(record):
        if record.epoch == 2:
            raise Stop

    path = tmp_path / "run.pt"
    with pytest.raises(Stop):
        fit(_model(), TensorBatches(x, y, 16), optim, loop, checkpoint_path=path,
            on_epoch_end=stop_after_two)
    resumed_model = _model(seed=99)  # other initial weights: the checkpoint must replace them
    resumed = fit(resumed_model, TensorBatches(x, y, 16), optim, loop, checkpoint_path=path)
    assert resumed.resumed_from_epoch == 2 and len(resumed.history) == 4
    for p, q in zip(whole.parameters(), resumed_model.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(TrainingError, match="another config"):
        fit(_model(), TensorBatches(x, y, 16), optim, LoopConfig(epochs=5, seed=3),
            checkpoint_path=path)


def test_keep_best_restores_the_epoch_of_lowest_validation_loss_and_stops_early():
    x, y = _data()
    losses = iter([0.5, 0.3, 0.4, 0.45, 0.6, 0.7])
    snapshots = []

    def validate(model):
        snapshots.append([p.detach().clone() for p in model.parameters()])
        return next(losses), None

    model = _model()
    result = fit(model, TensorBatches(x, y, None, shuffle=False), OptimConfig(lr=0.1),
                 LoopConfig(epochs=6, seed=None, keep_best=True, patience=2),
                 validate=validate)
    assert result.best_epoch == 2
    assert len(result.history) == 4  # epochs 3 and 4 were not better: stopped after 4
    for p, q in zip(model.parameters(), snapshots[1]):
        assert torch.equal(p, q)
    with pytest.raises(TrainingError, match="validate"):
        fit(_model(), TensorBatches(x, y), OptimConfig(), LoopConfig(keep_best=True))


def test_stream_batches_record_steps_and_clip_gradients():
    g = torch.Generator().manual_seed(0)
    draw = lambda: (torch.randn(8, 5, generator=g, dtype=torch.float64) * 100,  # noqa: E731
                    torch.randint(0, 2, (8,), generator=g))
    result = fit(_model(), StreamBatches(draw, steps_per_epoch=5, batch_size=8),
                 OptimConfig(lr=0.01, grad_clip=0.5), LoopConfig(epochs=2, seed=None,
                                                                 record_steps=True))
    assert len(result.step_losses) == 10 and len(result.grad_norms) == 10
    assert max(result.grad_norms) > 0.5  # norms are recorded before clipping
    assert result.history[0].train_accuracy is None


def test_mse_loss_and_predict_in_batches():
    x, _ = _data()
    target = x[:, :1] * 2.0
    model = nn.Linear(5, 1).double()
    fit(model, TensorBatches(x, target, 32), OptimConfig(lr=0.05),
        LoopConfig(epochs=200, loss="mse", seed=0))
    out = predict(model, x, batch_size=7)
    assert out.shape == (64, 1) and out.dtype == torch.float64
    assert torch.mean((out - target) ** 2).item() < 1e-3


def test_cosine_schedule_warms_up_then_decays_to_its_floor():
    config = OptimConfig(lr=1.0, schedule="cosine", warmup_fraction=0.1, min_lr_fraction=0.1)
    lrs = [learning_rate(s, 100, config) for s in range(100)]
    assert lrs[9] == pytest.approx(1.0) and lrs[0] == pytest.approx(0.1)
    assert lrs[-1] == pytest.approx(0.1, abs=1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "lion"}, "optimizer"), ({"schedule": "step"}, "schedule"),
    ({"lr": 0.0}, "lr="), ({"grad_clip": -1.0}, "grad_clip")])
def test_bad_optim_config_is_named(kwargs, match):
    with pytest.raises(TrainingError, match=match):
        OptimConfig(**kwargs)


def test_bad_batches_are_named():
    x, y = _data()
    with pytest.raises(TrainingError, match="64 inputs but 10 targets"):
        TensorBatches(x, y[:10])
    with pytest.raises(TrainingError, match="needs a seed"):
        fit(_model(), TensorBatches(x, y, 8, shuffle=True), OptimConfig(),
            LoopConfig(seed=None))
