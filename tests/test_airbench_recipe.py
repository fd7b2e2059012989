"""The airbench-style recipe: its design split, its whitening set from the training images
as training scales them, frozen weights that stay frozen through the book's loop, the
alternating flips, the ablations and checkpoint resume."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from bmlib.data.splits import SplitError, holdout_last
from bmlib.train.airbench_recipe import (ABLATIONS, DESIGN_VALIDATION, AirbenchBatches,
                                         airbench_recipe, train_airbench, without)
from bmlib.train.config import TrainingError
from bmlib.train.images import prepare_batch


def test_design_split_holds_out_the_last_5000():
    fit, val = holdout_last(50_000, DESIGN_VALIDATION)
    assert (fit.start, fit.stop, val.start, val.stop) == (0, 45_000, 45_000, 50_000)
    assert DESIGN_VALIDATION == 5_000
    with pytest.raises(SplitError, match="need more than"):
        holdout_last(5_000, DESIGN_VALIDATION)


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
    plain = prepare_batch(images, replace(recipe.train_config, channels_last=False))
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
    train_airbench(model, recipe, images, labels, show_progress=False)
    assert torch.equal(model.whiten.weight, whiten)  # no gradient, no weight decay
    assert not torch.equal(model.whiten.bias, bias)  # the bias learns
    assert all(m.weight is None and m.shift.abs().sum() > 0
               for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def _identity_images(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose left half is bright and right half dark (a flip is visible), labels =
    their index (so a batch tells which images it holds)."""
    images = torch.zeros(n, 3, 8, 8, dtype=torch.uint8)
    images[..., :4] = 255
    return images, torch.arange(n)


def test_alternating_flips_show_each_image_both_ways_over_two_epochs():
    images, labels = _identity_images()
    recipe = replace(airbench_recipe(3, epochs=2, batch_size=16), translate=0)
    batches = AirbenchBatches(images, labels, recipe)
    generator = torch.Generator().manual_seed(0)
    flipped = {}
    for epoch in range(4):
        for x, y in batches.epoch(epoch, generator):
            for image, index in zip(x, y.tolist()):
                flipped[epoch, index] = bool(image[0, 0, 0] < image[0, 0, -1])  # dark left
    first = [flipped[0, i] for i in range(len(images))]
    assert 0 < sum(first) < len(images)  # a random part, drawn once
    for i in range(len(images)):
        assert flipped[0, i] != flipped[1, i] and flipped[0, i] == flipped[2, i]
    # a fresh source (a resumed run) draws the same first-epoch flips
    again = AirbenchBatches(images, labels, recipe)
    assert torch.equal(again.first_flips, batches.first_flips)
    random = AirbenchBatches(images, labels, replace(recipe, flip="random"))
    index = torch.arange(len(images))
    draws = [random.flips(index, e, generator) for e in range(2)]
    assert not torch.equal(draws[0], ~draws[1])  # independent, not complementary


def test_translation_moves_images_by_at_most_its_shift():
    images = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    recipe = replace(airbench_recipe(0, batch_size=64), flip="none", translate=2)
    x, _ = next(AirbenchBatches(images, torch.arange(64), recipe).epoch(
        0, torch.Generator().manual_seed(1)))
    plain = prepare_batch(images, replace(recipe.train_config, channels_last=False))
    order = torch.randperm(64, generator=torch.Generator().manual_seed(1))
    padded = F.pad(plain[order], (2, 2, 2, 2), mode="reflect")
    for k in range(64):
        assert any(torch.allclose(x[k], padded[k, :, dy:dy + 8, dx:dx + 8])
                   for dy in range(5) for dx in range(5))
    assert not torch.allclose(x, plain[order])  # some images moved


def test_without_removes_exactly_one_ingredient_and_names_the_run():
    recipe = airbench_recipe(0)
    changed = {name: without(recipe, name) for name in ABLATIONS}
    assert not changed["patch whitening"].model_config.whiten_frozen
    assert changed["alternating flips"].flip == "random"
    assert changed["translation"].translate == 0
    assert changed["label smoothing"].train_config.label_smoothing == 0.0
    assert changed["fast batch-norm shifts"].model_config.bias_lr_scale == 1.0
    tta = changed["test-time augmentation"].train_config
    assert not tta.tta_flip and tta.tta_shift == 0
    assert len({r.name for r in changed.values()}) == len(ABLATIONS)  # tta keeps the name
    with pytest.raises(ValueError, match="unknown ingredient"):
        without(recipe, "dropout")


def test_recipe_rejects_bad_settings():
    recipe = airbench_recipe(0)
    with pytest.raises(TrainingError, match="flip="):
        replace(recipe, flip="sometimes")
    with pytest.raises(TrainingError, match="translate="):
        replace(recipe, translate=9)
    with pytest.raises(TrainingError, match="augment=False"):
        replace(recipe, train_config=replace(recipe.train_config, augment=True))


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    g = torch.Generator().manual_seed(2)
    images = torch.randint(0, 256, (96, 3, 32, 32), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 10, (96,), generator=g)
    recipe = airbench_recipe(0, epochs=2, width_scale=0.125, batch_size=32)

    def fresh():
        torch.manual_seed(0)
        return recipe.build_model(images)

    whole = train_airbench(fresh(), recipe, images, labels, show_progress=False).model

    class Stop(Exception):
        pass

    def stop(record):
        raise Stop

    path = tmp_path / "run.pt"
    with pytest.raises(Stop):
        train_airbench(fresh(), recipe, images, labels, checkpoint_path=path,
                       show_progress=False, on_epoch_end=stop)
    resumed = train_airbench(fresh(), recipe, images, labels, checkpoint_path=path,
                             show_progress=False)
    assert resumed.resumed_from_epoch == 1
    for (name, a), b in zip(whole.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
