"""bmlib.models.small_cnn and bmlib.train.small_cnn: counts by formula equal numel() and
PyTorch's FLOP counter; training (through the book's one loop) is deterministic and learns;
keep-best restores the best epoch; bad input is rejected."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from bmlib.data.splits import SplitError, stratified_subset
from bmlib.models.small_cnn import (SmallCNN, SmallCNNConfig, SmallCNNError,
                                    small_cnn_forward_flops, small_cnn_parameter_count)
from bmlib.train.config import TrainingError
from bmlib.train.small_cnn import FitConfig, per_example_losses, predict_classes, train_small_cnn


@pytest.mark.parametrize("width, head", [(1, "mean"), (3, "flatten"), (16, "mean"),
                                         (16, "flatten")])
def test_counts_match_pytorch(width: int, head: str) -> None:
    config = SmallCNNConfig(width=width, head=head)
    model = SmallCNN(config)
    assert small_cnn_parameter_count(config) == sum(p.numel() for p in model.parameters())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    assert small_cnn_forward_flops(config) == counter.get_total_flops()


def _toy_data(n: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (n,), generator=generator)
    images = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=generator)
    images[:, 0, :4, :4] = (labels * 25).to(torch.uint8)[:, None, None]  # a learnable cue
    return images, labels


@pytest.mark.slow
def test_fit_is_deterministic_and_learns() -> None:
    images, labels = _toy_data()
    config = FitConfig(epochs=4, batch_size=32, lr=5e-3, seed=3)
    first = train_small_cnn(SmallCNNConfig(width=4), images, labels, config, eval_images=images,
                eval_labels=labels)
    second = train_small_cnn(SmallCNNConfig(width=4), images, labels, config)
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    assert first.train_loss[-1] < first.train_loss[0]
    assert len(first.eval_loss) == 4 and len(first.history) == 4
    assert first.eval_accuracy[-1] == pytest.approx(
        (predict_classes(first.model, images) == labels).float().mean().item())
    losses = per_example_losses(first.model, images, labels)
    assert losses.shape == (100,) and losses.mean().item() == pytest.approx(first.eval_loss[-1])


@pytest.mark.slow
def test_keep_best_restores_the_best_epoch() -> None:
    images, labels = _toy_data()
    held_images, held_labels = images[:40], torch.roll(labels[:40], 1)  # unlearnable: loss rises
    result = train_small_cnn(SmallCNNConfig(width=4), images, labels,
                 FitConfig(epochs=4, batch_size=32, lr=5e-3, seed=1),
                 eval_images=held_images, eval_labels=held_labels, keep_best=True)
    best = int(np.argmin(result.eval_loss))
    assert result.best_epoch == best + 1
    restored = per_example_losses(result.model, held_images, held_labels).mean().item()
    assert restored == pytest.approx(result.eval_loss[best], rel=1e-6)
    if best < 3:  # the last epoch's weights differ from the restored ones
        assert restored != pytest.approx(result.eval_loss[-1], rel=1e-6)


def test_flip_augmentation_is_a_flip_only() -> None:
    """"augment" on the small CNN flips; the unpadded crop at full size is the identity."""
    from bmlib.train.images import prepare_batch

    images, _ = _toy_data(64)
    config = FitConfig(augment=True).train_config()
    augmented = prepare_batch(images, config, torch.Generator().manual_seed(0))
    plain = prepare_batch(images, config)
    same = (augmented == plain).flatten(1).all(1)
    mirrored = (augmented == plain.flip(3)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and 0 < int(mirrored.sum()) < 64


def test_stratified_subset_and_errors() -> None:
    labels = np.repeat(np.arange(10), 50)
    chosen = stratified_subset(labels, 105, seed=0)
    assert chosen.size == 105 and np.unique(chosen).size == 105
    assert np.bincount(labels[chosen]).tolist() == [11] * 5 + [10] * 5
    with pytest.raises(SplitError, match="subset size"):
        stratified_subset(labels, 5, seed=0)
    with pytest.raises(SmallCNNError, match="width"):
        SmallCNNConfig(width=0)
    with pytest.raises(SmallCNNError, match="head"):
        SmallCNNConfig(head="max")
    with pytest.raises(TrainingError, match="uint8"):
        train_small_cnn(SmallCNNConfig(width=2), torch.zeros(4, 3, 32, 32), torch.zeros(4), FitConfig())
