"""A multilayer perceptron in plain NumPy, with every forward and backward pass written out.

The notation follows the essay's section 4: a linear layer computes
``z_j = sum_i w_ji x_i + b_j`` (weights stored as ``(out, in)``, the same layout as
``torch.nn.Linear``), an activation gives ``a_j = f(z_j)``. Each layer caches what its
backward pass needs; ``backward`` takes dL/d(output) and returns dL/d(input), storing the
parameter gradients in ``grads``. Losses return their value *and* their gradient with respect
to their first argument, so a training step is ``loss.grad -> model.backward``.

The numerically delicate functions (sigmoid, softmax, log-sum-exp, the cross-entropies) are
computed in forms that never overflow: the cross-entropies take logits, not probabilities.
No autograd is used anywhere; ``tests/test_mlp_numpy.py`` checks every gradient against
PyTorch autograd and central finite differences in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

REDUCTIONS = ("sum", "mean")


# ---------------------------------------------------------------- elementwise maths


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), computed without overflow for any finite z.

    ``e^z / (1 + e^z)`` (the essay's §4.3.2 form) is the same function, but evaluated
    literally it gives inf/inf = nan for z > ~709.8 in float64; using ``e^-|z|`` keeps every
    intermediate in (0, 1].
    """
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logsumexp(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(sum(exp(z))) along ``axis`` (kept), shifted by the maximum so exp never overflows."""
    z = np.asarray(z, dtype=float)
    shift = np.max(z, axis=axis, keepdims=True)
    return shift + np.log(np.sum(np.exp(z - shift), axis=axis, keepdims=True))


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """z - logsumexp(z): log-probabilities, finite for logits of any finite size."""
    z = np.asarray(z, dtype=float)
    return z - logsumexp(z, axis=axis)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """e^{z_k} / sum_l e^{z_l} over *all* entries l of ``axis`` (max-shifted: no overflow)."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


# ---------------------------------------------------------------- layers


class Layer(Protocol):
    """What the MLP needs from a layer."""

    params: dict[str, np.ndarray]  # trainable arrays, updated in place by optimisers
    grads: dict[str, np.ndarray]  # dL/d(param) from the last backward pass

    def forward(self, x: np.ndarray) -> np.ndarray: ...

    def backward(self, grad_out: np.ndarray) -> np.ndarray: ...


def _need_forward(cache: np.ndarray | None, name: str) -> np.ndarray:
    if cache is None:
        raise RuntimeError(f"{name}.backward called before forward: run forward(x) first")
    return cache


class Linear:
    """z = x W^T + b with W of shape (out_features, in_features): W[j, i] is w_ji."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        weight = np.array(weight, dtype=float)
        bias = np.array(bias, dtype=float)
        if weight.ndim != 2 or bias.shape != (weight.shape[0],):
            raise ValueError(
                f"Linear needs weight (out, in) and bias (out,), got {weight.shape} and "
                f"{bias.shape}"
            )
        self.params = {"weight": weight, "bias": bias}
        self.grads = {"weight": np.zeros_like(weight), "bias": np.zeros_like(bias)}
        self._x: np.ndarray | None = None

    @classmethod
    def init(cls, in_features: int, out_features: int, rng: np.random.Generator) -> "Linear":
        """PyTorch's default initialisation: W and b uniform in +-1/sqrt(in_features)."""
        bound = 1.0 / np.sqrt(in_features)
        return cls(rng.uniform(-bound, bound, (out_features, in_features)),
                   rng.uniform(-bound, bound, out_features))

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.params["weight"].shape[1]:
            raise ValueError(
                f"Linear expects input (batch, {self.params['weight'].shape[1]}), got {x.shape}"
            )
        self._x = x
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = _need_forward(self._x, "Linear")
        # dL/dw_ji = sum over samples of dL/dz_j * x_i ; dL/db_j = sum of dL/dz_j
        self.grads["weight"] = grad_out.T @ x
        self.grads["bias"] = grad_out.sum(axis=0)
        return grad_out @ self.params["weight"]


class _Activation:
    """An elementwise activation: no parameters, caches what its derivative needs."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache: np.ndarray | None = None


class ReLU(_Activation):
    """a = max(0, z); da/dz = 1 where z > 0, else 0 (PyTorch's choice at z = 0)."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        self._cache = np.asarray(z, dtype=float)
        return np.maximum(self._cache, 0.0)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (_need_forward(self._cache, "ReLU") > 0)


class Sigmoid(_Activation):
    """a = 1 / (1 + e^-z); da/dz = a (1 - a)."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        self._cache = sigmoid(z)
        return self._cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        a = _need_forward(self._cache, "Sigmoid")
        return grad_out * a * (1.0 - a)


class Tanh(_Activation):
    """a = tanh z; da/dz = 1 - a^2."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        self._cache = np.tanh(np.asarray(z, dtype=float))
        return self._cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        a = _need_forward(self._cache, "Tanh")
        return grad_out * (1.0 - a * a)


class Softmax(_Activation):
    """a_k = e^{z_k} / sum_l e^{z_l} over each row; backward is the Jacobian-vector product
    dL/dz_k = a_k (g_k - sum_l g_l a_l)."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        self._cache = softmax(z, axis=-1)
        return self._cache

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        a = _need_forward(self._cache, "Softmax")
        return a * (grad_out - np.sum(grad_out * a, axis=-1, keepdims=True))


class Identity(_Activation):
    """a = z (an output layer that returns logits)."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=float)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out


ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "softmax": Softmax,
               "identity": Identity}


# ---------------------------------------------------------------- the network


class MLP:
    """Layers applied in order; ``backward`` runs them in reverse (the chain rule)."""

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Fill every layer's ``grads`` from dL/d(output); return dL/d(input)."""
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def named_parameters(self) -> list[tuple[str, np.ndarray]]:
        """(name, array) for every trainable array, e.g. ``("0.weight", W)``, in layer order
        (the same names and order as the equivalent ``torch.nn.Sequential``)."""
        return [(f"{i}.{name}", p) for i, layer in enumerate(self.layers)
                for name, p in layer.params.items()]

    def parameters(self) -> list[np.ndarray]:
        return [p for _, p in self.named_parameters()]

    def gradients(self) -> list[np.ndarray]:
        """Gradients in the order of :meth:`parameters`, from the last backward pass."""
        return [layer.grads[name] for layer in self.layers for name in layer.params]


def make_mlp(sizes: Sequence[int], hidden: str = "relu", output: str = "identity",
             seed: int = 0) -> MLP:
    """An MLP with layer widths ``sizes`` (e.g. ``[2, 3, 1]`` for the essay's 2-3-1 network).

    ``hidden`` is the activation after every hidden linear layer and ``output`` the one after
    the last (``"identity"`` returns logits, to pair with the from-logits losses). Weights are
    drawn from ``numpy.random.default_rng(seed)``.
    """
    if len(sizes) < 2 or any(int(s) != s or s < 1 for s in sizes):
        raise ValueError(f"sizes={list(sizes)}: give at least two positive layer widths")
    for name in (hidden, output):
        if name not in ACTIVATIONS:
            raise ValueError(f"activation {name!r} is unknown: choose one of {sorted(ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear.init(int(n_in), int(n_out), rng))
        is_last = index == len(sizes) - 2
        layers.append(ACTIVATIONS[output if is_last else hidden]())
    return MLP(layers)


# ---------------------------------------------------------------- losses


@dataclass(frozen=True)
class LossResult:
    """A loss value and its gradient with respect to the loss's first argument."""

    value: float  # the loss
    grad: np.ndarray  # dL/d(first argument), same shape as it


def _reduce(per_sample: np.ndarray, grad: np.ndarray, reduction: str) -> LossResult:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}: choose one of {REDUCTIONS}")
    if reduction == "mean":
        n = per_sample.shape[0]
        return LossResult(float(per_sample.sum() / n), grad / n)
    return LossResult(float(per_sample.sum()), grad)


def _same_shape(prediction: np.ndarray, target: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    prediction = np.asarray(prediction, dtype=float)
    target = np.asarray(target, dtype=float)
    if prediction.shape != target.shape:
        raise ValueError(
            f"{what}: prediction shape {prediction.shape} != target shape {target.shape}; "
            "reshape the target (e.g. y.reshape(-1, 1))"
        )
    return prediction, target


def mse_loss(y_hat: np.ndarray, y: np.ndarray, reduction: str = "sum") -> LossResult:
    """The essay's L = 1/2 sum (y - y_hat)^2; dL/dy_hat = y_hat - y (the 1/2 cancels the 2).

    ``reduction="mean"`` divides by the number of samples (rows).
    """
    y_hat, y = _same_shape(y_hat, y, "mse_loss")
    return _reduce(0.5 * (y - y_hat) ** 2, y_hat - y, reduction)


def binary_cross_entropy_with_logits(z: np.ndarray, y: np.ndarray,
                                     reduction: str = "sum") -> LossResult:
    """-[y log s(z) + (1 - y) log(1 - s(z))] with s the sigmoid, from the logit z.

    Written as max(z, 0) - z y + log(1 + e^-|z|), which is finite for any finite z.
    dL/dz = s(z) - y.
    """
    z, y = _same_shape(z, y, "binary_cross_entropy_with_logits")
    per_sample = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return _reduce(per_sample, sigmoid(z) - y, reduction)


def binary_cross_entropy(p: np.ndarray, y: np.ndarray, reduction: str = "sum") -> LossResult:
    """-[y log p + (1 - y) log(1 - p)] from probabilities p in (0, 1).

    dL/dp = (p - y) / (p (1 - p)). Prefer :func:`binary_cross_entropy_with_logits`: this form
    is infinite once p rounds to exactly 0 or 1.
    """
    p, y = _same_shape(p, y, "binary_cross_entropy")
    if np.any((p <= 0) | (p >= 1)):
        raise ValueError("binary_cross_entropy: probabilities must lie strictly in (0, 1); "
                         "use binary_cross_entropy_with_logits for saturated outputs")
    per_sample = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    return _reduce(per_sample, (p - y) / (p * (1 - p)), reduction)


def cross_entropy(p: np.ndarray, y: np.ndarray, reduction: str = "sum") -> LossResult:
    """The essay's formula L = -sum y log p, summed over every entry; dL/dp = -y / p.

    With one-hot rows ``y`` and softmax rows ``p`` this is the categorical cross-entropy.
    Applied to a single sigmoid output (as §4.3.3 does) it is *not* the binary cross-entropy:
    the (1 - y) log(1 - p) term is missing.
    """
    p, y = _same_shape(p, y, "cross_entropy")
    if np.any(p <= 0):
        raise ValueError("cross_entropy: probabilities must be > 0; use "
                         "cross_entropy_with_logits for saturated outputs")
    return _reduce(-(y * np.log(p)), -y / p, reduction)


def cross_entropy_with_logits(z: np.ndarray, y: np.ndarray,
                              reduction: str = "sum") -> LossResult:
    """Categorical cross-entropy -sum_k y_k log softmax(z)_k from logits z (rows = samples).

    ``y`` holds one-hot (or probability) rows of z's shape, or integer class indices of shape
    (batch,). dL/dz = softmax(z) * sum_k y_k - y, i.e. softmax(z) - y for one-hot targets.
    """
    z = np.asarray(z, dtype=float)
    y = np.asarray(y)
    if z.ndim != 2:
        raise ValueError(f"cross_entropy_with_logits: logits must be (batch, classes), got {z.shape}")
    if y.shape == (z.shape[0],) and np.issubdtype(y.dtype, np.integer):
        if y.min() < 0 or y.max() >= z.shape[1]:
            raise ValueError(f"class indices must lie in 0..{z.shape[1] - 1}, got {y.min()}..{y.max()}")
        y = np.eye(z.shape[1])[y]
    z, y = _same_shape(z, y, "cross_entropy_with_logits")
    per_sample = -(y * log_softmax(z)).sum(axis=1)
    grad = softmax(z) * y.sum(axis=1, keepdims=True) - y
    return _reduce(per_sample, grad, reduction)
