"""The NumPy MLP's forward values and gradients equal PyTorch autograd's (float64, 1e-6
relative) and central finite differences; the stable functions stay finite at logits +-1e4."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bmlib.scratch import mlp as mn
from bmlib.scratch.gradcheck import check_model_gradients, numerical_gradient, relative_error
from bmlib.data.toy import grid_over, make_moons

RTOL, ATOL = 1e-6, 1e-10
TORCH_ACT = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
             "softmax": lambda: torch.nn.Softmax(dim=-1), "identity": torch.nn.Identity}


def torch_twin(model: mn.MLP, sizes, hidden, output) -> torch.nn.Sequential:
    """The same network in PyTorch, float64, with our weights copied in."""
    layers = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out, dtype=torch.float64))
        layers.append(TORCH_ACT[output if index == len(sizes) - 2 else hidden]())
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for (name, ours), (tname, theirs) in zip(model.named_parameters(), net.named_parameters()):
            assert name == tname
            theirs.copy_(torch.from_numpy(ours))
    return net


def targets(kind: str, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, n)]
    if kind == "binary":
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.normal(size=(n, k))


# (hidden, output, our loss, torch loss of the model output, target kind, output width)
CASES = [
    ("relu", "identity", mn.mse_loss, lambda o, y: 0.5 * ((y - o) ** 2).sum(), "real", 2),
    ("tanh", "identity", lambda o, y: mn.mse_loss(o, y, "mean"),
     lambda o, y: 0.5 * ((y - o) ** 2).sum() / o.shape[0], "real", 3),
    ("relu", "identity", mn.binary_cross_entropy_with_logits,
     lambda o, y: F.binary_cross_entropy_with_logits(o, y, reduction="sum"), "binary", 1),
    ("sigmoid", "sigmoid", mn.binary_cross_entropy,
     lambda o, y: F.binary_cross_entropy(o, y, reduction="sum"), "binary", 1),
    ("relu", "sigmoid", mn.cross_entropy, lambda o, y: -(y * torch.log(o)).sum(), "binary", 1),
    ("tanh", "softmax", mn.cross_entropy, lambda o, y: -(y * torch.log(o)).sum(), "onehot", 4),
    ("relu", "identity", lambda o, y: mn.cross_entropy_with_logits(o, y, "mean"),
     lambda o, y: F.cross_entropy(o, y), "onehot", 3),
    ("sigmoid", "identity", mn.cross_entropy_with_logits,
     lambda o, y: F.cross_entropy(o, y, reduction="sum"), "onehot", 5),
]


@pytest.mark.parametrize("hidden,output,loss,torch_loss,kind,k", CASES)
def test_gradients_equal_autograd_and_finite_differences(hidden, output, loss, torch_loss,
                                                         kind, k):
    rng = np.random.default_rng(1)
    sizes = [4, 6, 5, k]
    x, y = rng.normal(size=(7, 4)), targets(kind, 7, k, rng)
    model = mn.make_mlp(sizes, hidden=hidden, output=output, seed=3)
    result = loss(model.forward(x), y)
    grad_x = model.backward(result.grad)

    net = torch_twin(model, sizes, hidden, output)
    tx = torch.tensor(x, requires_grad=True)
    tloss = torch_loss(net(tx), torch.tensor(y))
    tloss.backward()
    assert result.value == pytest.approx(tloss.item(), rel=RTOL)
    np.testing.assert_allclose(grad_x, tx.grad.numpy(), rtol=RTOL, atol=ATOL)
    for (name, _), ours, (_, p) in zip(model.named_parameters(), model.gradients(),
                                       net.named_parameters()):
        np.testing.assert_allclose(ours, p.grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=name)

    errors = check_model_gradients(model, loss, x, y)
    assert max(errors.values()) < 1e-6, errors


def test_class_index_targets_equal_one_hot():
    z = np.random.default_rng(0).normal(size=(5, 3))
    labels = np.array([0, 2, 1, 1, 0])
    a = mn.cross_entropy_with_logits(z, labels)
    b = mn.cross_entropy_with_logits(z, np.eye(3)[labels])
    assert a.value == pytest.approx(b.value) and np.allclose(a.grad, b.grad)


def test_softmax_layer_backward_equals_finite_differences():
    rng = np.random.default_rng(2)
    z, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    layer = mn.Softmax()
    layer.forward(z)
    analytic = layer.backward(g)
    numeric = numerical_gradient(lambda: float((mn.softmax(z) * g).sum()), z)
    assert relative_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_stable_functions_stay_finite_at_huge_logits(scale):
    z = np.array([[scale, 0.0, -scale], [scale, scale, 0.0]])
    p = mn.softmax(z)
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1.0)
    assert np.allclose(p, torch.softmax(torch.tensor(z), dim=-1).numpy())
    for labels in (np.array([0, 2]), np.array([2, 1])):
        ce = mn.cross_entropy_with_logits(z, labels)
        ref = F.cross_entropy(torch.tensor(z), torch.tensor(labels), reduction="sum").item()
        assert np.isfinite(ce.value) and np.all(np.isfinite(ce.grad))
        assert ce.value == pytest.approx(ref, rel=RTOL)
    logits = np.array([[scale], [-scale], [0.0]])
    y = np.array([[0.0], [1.0], [1.0]])
    bce = mn.binary_cross_entropy_with_logits(logits, y)
    ref = F.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(y),
                                             reduction="sum").item()
    assert np.isfinite(bce.value) and bce.value == pytest.approx(ref, rel=RTOL)
    s = mn.sigmoid(np.array([scale, -scale, 800.0, -800.0]))
    assert np.all(np.isfinite(s)) and np.allclose(s, torch.sigmoid(
        torch.tensor([scale, -scale, 800.0, -800.0])).numpy())


def test_bad_inputs_raise_clear_errors():
    model = mn.make_mlp([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match=r"input \(batch, 2\)"):
        model.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="reshape the target"):
        mn.mse_loss(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="reduction"):
        mn.mse_loss(np.zeros((4, 1)), np.zeros((4, 1)), reduction="avg")
    with pytest.raises(ValueError, match="strictly in"):
        mn.binary_cross_entropy(np.ones((2, 1)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="activation 'gelu'"):
        mn.make_mlp([2, 3, 1], hidden="gelu")
    with pytest.raises(RuntimeError, match="before forward"):
        mn.ReLU().backward(np.zeros(3))


def test_moons_are_seeded_balanced_and_standardised():
    a, b = make_moons(seed=0), make_moons(seed=0)
    assert a.x.shape == (100, 2) and a.y.shape == (100, 1)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, make_moons(seed=1).x)
    assert a.y.sum() == 50
    assert np.allclose(a.x.mean(axis=0), 0) and np.allclose(a.x.std(axis=0), 1)
    g1, g2, points = grid_over(a.x, steps=11)
    assert g1.shape == (11, 11) and points.shape == (121, 2)
    with pytest.raises(ValueError, match="even number"):
        make_moons(n_samples=7)
