"""The airbench-style recipe: its design split, its whitening set from the training images
as training scales them, and frozen weights that stay frozen through the book's loop."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from bmlib.train.airbench_recipe import (DESIGN_VALIDATION, airbench_recipe, design_split)
from bmlib.train.images import prepare_batch, train


def test_design_split_holds_out_the_last_5000():
    fit, val = design_split(50_000)
    assert (fit.start, fit.stop, val.start, val.stop) == (0, 45_000, 45_000, 50_000)
    assert DESIGN_VALIDATION == 5_000
    with pytest.raises(ValueError, match="need more than"):
        design_split(5_000)


def test_width_scale_and_bad_scale():
    assert airbench_recipe(0, width_scale=0.5).model_config.widths == (32, 128, 128)
    with pytest.raises(ValueError, match="width_scale"):
        airbench_recipe(0, width_scale=0)


def test_whitening_is_estimated_on_scaled_training_pixels():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (300, 3, 32, 32), generator=g, dtype=torch.uint8)
    recipe = airbench_recipe(0, epochs=1, width_scale=0.125)
    torch.manual_seed(0)
    model = recipe.build_model(images)
    plain = prepare_batch(images, replace(recipe.train_config, augment=False,
                                          channels_last=False))
    out = F.conv2d(plain.double(), model.whiten.weight[:12].double())
    rows = out.permute(0, 2, 3, 1).reshape(-1, 12)
    moments = rows.T @ rows / rows.shape[0]
    # near the identity: uniform noise has eigenvalues far above eps
    assert torch.allclose(moments, torch.eye(12, dtype=torch.float64), atol=2e-2)


def test_frozen_weights_stay_frozen_through_training():
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (128, 3, 32, 32), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 10, (128,), generator=g)
    recipe = airbench_recipe(0, epochs=1, width_scale=0.125, batch_size=64)
    torch.manual_seed(0)
    model = recipe.build_model(images)
    whiten = model.whiten.weight.detach().clone()
    bias = model.whiten.bias.detach().clone()
    train(model, images, labels, recipe.train_config, show_progress=False)
    assert torch.equal(model.whiten.weight, whiten)  # no gradient, no weight decay
    assert not torch.equal(model.whiten.bias, bias)  # the bias learns
    assert all(torch.equal(m.weight, torch.ones_like(m.weight))
               for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
