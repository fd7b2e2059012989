"""Attribution maps for image classifiers and the model-randomisation sanity check.

* Saliency (Simonyan et al. 2014): ``|∂ logit_target / ∂ x|``, maximum over colour channels.
* Integrated gradients (Sundararajan et al. 2017): ``(x − x') ⊙ ∫₀¹ ∇f(x' + t(x − x')) dt``,
  the integral by the midpoint rule; by completeness the attributions sum to
  ``f(x) − f(x')``, which :func:`completeness_gap` measures.
* Sanity check (Adebayo et al. 2018): re-initialise the weights, top layer first
  (cascading randomisation); a map that explains the *trained* model must change, so its
  rank correlation with the original map should fall towards 0.
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.stats import rankdata
import torch
from torch import nn


class AttributionError(ValueError):
    """Bad input to an attribution method."""


def _check(images: torch.Tensor, targets: torch.Tensor) -> None:
    if images.ndim != 4 or not images.is_floating_point():
        raise AttributionError(f"images must be a float tensor (N, C, H, W); got "
                               f"{images.dtype} {tuple(images.shape)}")
    if targets.shape != (images.shape[0],):
        raise AttributionError(f"targets must have shape ({images.shape[0]},); got "
                               f"{tuple(targets.shape)}")


def _target_logit_grad(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    logits = model(x)
    selected = logits.gather(1, targets.view(-1, 1)).sum()
    (grad,) = torch.autograd.grad(selected, x)
    return grad


def saliency(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Gradient magnitude of the target logit, max over channels: ``(N, H, W)``."""
    _check(images, targets)
    model.eval()
    return _target_logit_grad(model, images, targets).abs().amax(dim=1)


def integrated_gradients(model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                         baseline: torch.Tensor | None = None,
                         steps: int = 32) -> torch.Tensor:
    """Integrated-gradient attributions ``(N, C, H, W)``; baseline defaults to zeros.

    The path integral is approximated with ``steps`` midpoints.
    """
    _check(images, targets)
    if steps < 1:
        raise AttributionError(f"steps={steps}: use at least 1")
    model.eval()
    base = torch.zeros_like(images) if baseline is None else baseline.expand_as(images)
    total = torch.zeros_like(images)
    for k in range(steps):
        t = (k + 0.5) / steps
        total += _target_logit_grad(model, base + t * (images - base), targets)
    return (images - base) * total / steps


def completeness_gap(model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                     attributions: torch.Tensor,
                     baseline: torch.Tensor | None = None) -> torch.Tensor:
    """Per image ``|Σ attributions − (f(x) − f(x'))|``; 0 for exact integrated gradients."""
    base = torch.zeros_like(images) if baseline is None else baseline.expand_as(images)
    model.eval()
    with torch.no_grad():
        gap = model(images).gather(1, targets.view(-1, 1)) - model(base).gather(
            1, targets.view(-1, 1))
    return (attributions.flatten(1).sum(1) - gap.view(-1)).abs()


def parameter_layers(model: nn.Module) -> list[str]:
    """Names of the modules that own parameters, input side first."""
    return [name for name, module in model.named_modules()
            if any(True for _ in module.parameters(recurse=False))]


def randomized_copy(model: nn.Module, layers: list[str], seed: int) -> nn.Module:
    """A copy of ``model`` with the named layers re-initialised (``reset_parameters``)."""
    clone = copy.deepcopy(model)
    modules = dict(clone.named_modules())
    unknown = [name for name in layers if name not in modules]
    if unknown:
        raise AttributionError(f"unknown layer(s) {unknown}: choose from "
                               f"{parameter_layers(model)}")
    torch.manual_seed(seed)
    for name in layers:
        reset = getattr(modules[name], "reset_parameters", None)
        if reset is None:
            raise AttributionError(f"layer {name!r} has no reset_parameters()")
        reset()
    return clone


def cascading_randomizations(model: nn.Module, seed: int) -> list[tuple[str, nn.Module]]:
    """(top randomised layer, model) pairs: the top layer first, then the top two, ..."""
    layers = parameter_layers(model)[::-1]
    return [(layers[k], randomized_copy(model, layers[:k + 1], seed))
            for k in range(len(layers))]


def spearman(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Spearman rank correlation of two equally shaped maps (flattened)."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape or a.size < 2:
        raise AttributionError(f"maps must have the same size >= 2; got {a.size} and {b.size}")
    ra, rb = rankdata(a), rankdata(b)  # average ranks for ties
    ra -= ra.mean()
    rb -= rb.mean()
    denominator = float(np.sqrt((ra @ ra) * (rb @ rb)))
    return float(ra @ rb / denominator) if denominator > 0 else 0.0


def mean_rank_correlation(maps_a: torch.Tensor, maps_b: torch.Tensor) -> float:
    """Mean over images of the Spearman correlation between two stacks of maps."""
    if maps_a.shape != maps_b.shape:
        raise AttributionError(f"map stacks differ in shape: {tuple(maps_a.shape)} vs "
                               f"{tuple(maps_b.shape)}")
    return float(np.mean([spearman(a.detach().cpu().numpy(), b.detach().cpu().numpy())
                          for a, b in zip(maps_a, maps_b)]))
