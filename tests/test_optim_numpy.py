"""Our SGD and Adam equal torch.optim.SGD / torch.optim.Adam step for step (float64, 1e-6)."""

import numpy as np
import pytest
import torch

from bmlib.scratch import mlp as mn
from bmlib.scratch.optim import (SGD, Adam, AdamConfig, SGDConfig, first_step_ratio,
                               train_full_batch)
from bmlib.data.toy import make_moons

STEPS = 100


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run_both(our_optimizer, torch_optimizer):
    """Train the essay's 2-3-1 network on the moons with both implementations; return the
    parameter trajectories (one row per step) and the two loss curves."""
    data = make_moons(seed=0)
    model = mn.make_mlp([2, 3, 1], hidden="relu", output="identity", seed=0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3, dtype=torch.float64), torch.nn.ReLU(),
                              torch.nn.Linear(3, 1, dtype=torch.float64))
    with torch.no_grad():
        for ours, theirs in zip(model.parameters(), net.parameters()):
            theirs.copy_(torch.from_numpy(ours))
    opt = our_optimizer(model.parameters())
    topt = torch_optimizer(net.parameters())
    x, y = torch.tensor(data.x), torch.tensor(data.y)
    ours_traj, theirs_traj, our_losses, torch_losses = [], [], [], []
    for _ in range(STEPS):
        result = mn.binary_cross_entropy_with_logits(model.forward(data.x), data.y, "mean")
        model.backward(result.grad)
        opt.step(model.gradients())
        topt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x), y)
        loss.backward()
        topt.step()
        our_losses.append(result.value)
        torch_losses.append(loss.item())
        ours_traj.append(np.concatenate([p.ravel() for p in model.parameters()]))
        theirs_traj.append(torch.cat([p.detach().ravel() for p in net.parameters()]).numpy())
    return np.array(ours_traj), np.array(theirs_traj), np.array(our_losses), np.array(torch_losses)


@pytest.mark.parametrize("config", [
    SGDConfig(lr=0.5), SGDConfig(lr=0.1, momentum=0.9), SGDConfig(lr=0.2, weight_decay=0.01),
])
def test_sgd_equals_torch_step_for_step(config):
    ours, theirs, l1, l2 = run_both(
        lambda p: SGD(p, config),
        lambda p: torch.optim.SGD(p, lr=config.lr, momentum=config.momentum,
                                  weight_decay=config.weight_decay))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(l1, l2, rtol=1e-6)
    assert l1[-1] < l1[0]  # it actually trained


@pytest.mark.parametrize("config", [
    AdamConfig(lr=0.05), AdamConfig(lr=0.01, beta1=0.5, beta2=0.9, eps=1e-6),
    AdamConfig(lr=0.02, weight_decay=0.1),
])
def test_adam_equals_torch_step_for_step(config):
    ours, theirs, l1, l2 = run_both(
        lambda p: Adam(p, config),
        lambda p: torch.optim.Adam(p, lr=config.lr, betas=(config.beta1, config.beta2),
                                   eps=config.eps, weight_decay=config.weight_decay))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(l1, l2, rtol=1e-6)
    assert l1[-1] < l1[0]


def test_adam_without_bias_correction_differs_from_torch():
    ours, theirs, _, _ = run_both(
        lambda p: Adam(p, AdamConfig(lr=0.05, bias_correction=False)),
        lambda p: torch.optim.Adam(p, lr=0.05))
    assert np.max(np.abs(ours[0] - theirs[0])) > 1e-2


def test_first_step_ratio_matches_uncorrected_adam():
    # constant gradient g: the uncorrected first step is (1 - b1) / sqrt(1 - b2) times larger
    p1, p2 = np.zeros(1), np.zeros(1)
    a = Adam([p1], AdamConfig(lr=1.0, eps=0.0))
    b = Adam([p2], AdamConfig(lr=1.0, eps=0.0, bias_correction=False))
    for t in range(1, 6):
        before1, before2 = p1.copy(), p2.copy()
        a.step([np.array([0.3])])
        b.step([np.array([0.3])])
        ratio = (p2 - before2) / (p1 - before1)
        assert ratio[0] == pytest.approx(first_step_ratio(t), rel=1e-12)


def test_train_full_batch_and_config_errors():
    data = make_moons(seed=0)
    model = mn.make_mlp([2, 3, 1], seed=0)
    losses = train_full_batch(model, lambda o, y: mn.binary_cross_entropy_with_logits(o, y, "mean"),
                              Adam(model.parameters(), AdamConfig(lr=0.05)), data.x, data.y, 50)
    assert losses.shape == (50,) and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="lr"):
        SGDConfig(lr=0.0)
    with pytest.raises(ValueError, match="beta2"):
        AdamConfig(beta2=1.0)
    with pytest.raises(ValueError, match="gradients for"):
        SGD(model.parameters(), SGDConfig(lr=0.1)).step([np.zeros(1)])
