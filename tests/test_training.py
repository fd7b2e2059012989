"""Training loop: Keras' split, on-device augmentation, schedules, checkpoints, exact resume."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bmlib.models.cnn import ResNetConfig, ResNetSmall, SeedCNN, SeedCNNConfig
from bmlib.data.splits import SplitError, keras_validation_split
from bmlib.train.checkpoints import CheckpointError as _CE, load_checkpoint, save_checkpoint
from bmlib.train.config import learning_rate, make_optimizer
from bmlib.train.images import (CIFAR10_MEAN, CIFAR10_STD, TrainConfig, TrainingError,
                                augment_batch, evaluate,
                                predict_logits, prepare_batch, shifted_views,
                                to_device_uint8, train, training_identity)

TINY = SeedCNNConfig(conv1_filters=4, conv2_filters=8, hidden_units=16)


def _data(n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 10, (n,), generator=g)
    return to_device_uint8(images, labels, torch.device("cpu"))


def test_keras_validation_split_holds_out_the_last_part():
    train_part, val_part = keras_validation_split(50_000, 0.2)
    assert (train_part.start, train_part.stop) == (0, 40_000)
    assert (val_part.start, val_part.stop) == (40_000, 50_000)
    train_part, val_part = keras_validation_split(7, 0.2)  # floor(7 * 0.8) = 5
    assert (train_part.stop, val_part.start) == (5, 5)
    with pytest.raises(SplitError, match="validation fraction"):
        keras_validation_split(10, 1.0)


def test_to_device_uint8_rejects_floats():
    with pytest.raises(TrainingError, match="uint8"):
        to_device_uint8(torch.rand(2, 3, 32, 32), torch.zeros(2), torch.device("cpu"))


def test_prepare_batch_unit_scaling_and_channels_last():
    images, _ = _data(4)
    x = prepare_batch(images, TrainConfig(channels_last=True))
    assert x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(x, images.float() / 255.0)


@pytest.mark.parametrize("channels_last", [False, True])
def test_prepare_batch_in_place_scaling_is_bitwise_the_plain_formula(channels_last):
    images, _ = _data(8)
    unit = prepare_batch(images, TrainConfig(channels_last=channels_last))
    assert torch.equal(unit, images.float() / 255.0)
    standard = prepare_batch(images, TrainConfig(channels_last=channels_last,
                                                 normalize="standardize"))
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    assert torch.equal(standard, (images.float() - mean) / std)
    assert standard.is_contiguous(
        memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    augmented = prepare_batch(images, TrainConfig(channels_last=channels_last, augment=True),
                              torch.Generator().manual_seed(0))
    assert augmented.is_contiguous(
        memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def test_augment_batch_is_a_crop_of_the_padded_image_or_its_mirror():
    images, _ = _data(16)
    x = images.float()
    g = torch.Generator().manual_seed(3)
    out = augment_batch(x, 4, g)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="reflect")
    for i in range(16):
        found = any(torch.equal(out[i], padded[i, :, dy:dy + 32, dx:dx + 32]) or
                    torch.equal(out[i], padded[i, :, dy:dy + 32, dx:dx + 32].flip(2))
                    for dy in range(9) for dx in range(9))
        assert found, f"image {i} is not a crop of its padded source"
    # not the identity: with 16 images some were shifted or flipped
    assert not torch.equal(out, x)


def test_onecycle_schedule_warms_up_then_decays_to_zero():
    config = TrainConfig(schedule="onecycle", lr=0.4, warmup_fraction=0.25)
    lrs = [learning_rate(s, 100, config.optim()) for s in range(100)]
    assert max(lrs) == pytest.approx(0.4)
    assert lrs.index(max(lrs)) == 24
    assert lrs[-1] == pytest.approx(0.4 / 75)
    assert all(a <= b for a, b in zip(lrs[:25], lrs[1:25]))
    assert learning_rate(5, 100, TrainConfig(lr=1e-3).optim()) == 1e-3


def test_bad_config_fails_clearly():
    with pytest.raises(TrainingError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")


@pytest.mark.slow
def test_training_learns_a_separable_task():
    torch.manual_seed(0)
    n = 64
    labels = torch.arange(n) % 2
    images = torch.where(labels[:, None, None, None].bool(),
                         torch.full((n, 3, 32, 32), 200, dtype=torch.uint8),
                         torch.full((n, 3, 32, 32), 40, dtype=torch.uint8))
    images, labels = to_device_uint8(images, labels, torch.device("cpu"))
    model = SeedCNN(TINY)
    result = train(model, images, labels, TrainConfig(epochs=4, batch_size=16, lr=1e-2),
                   val_images=images, val_labels=labels, show_progress=False)
    assert len(result.history) == 4
    assert result.history[-1].val_accuracy == 1.0
    assert evaluate(model, images, labels, TrainConfig())[1] == 1.0


class _Killed(RuntimeError):
    pass


@pytest.mark.slow
@pytest.mark.parametrize("make_model,config", [
    (lambda: SeedCNN(TINY), TrainConfig(epochs=3, batch_size=32, seed=5)),
    (lambda: SeedCNN(TINY), TrainConfig(epochs=3, batch_size=32, seed=5, channels_last=True,
                                        fused_optimizer=True)),
    (lambda: ResNetSmall(ResNetConfig(widths=(4, 8, 8), stem_width=4)),
     TrainConfig(epochs=3, batch_size=32, optimizer="sgd", lr=0.05, schedule="onecycle",
                 augment=True, label_smoothing=0.1, normalize="standardize", seed=7,
                 low_res_epochs=2, low_res_size=24, fused_optimizer=True)),
])
def test_killed_run_resumes_to_exactly_the_same_weights(tmp_path: Path, make_model, config):
    images, labels = _data(80)
    val_images, val_labels = _data(16, seed=1)

    torch.manual_seed(11)
    reference = make_model()
    train(reference, images, labels, config, val_images=val_images, val_labels=val_labels,
          show_progress=False)

    checkpoint = tmp_path / "run.pt"

    def kill_after_epoch_2(record):
        if record.epoch == 2:
            raise _Killed("simulated kill")

    torch.manual_seed(11)
    interrupted = make_model()
    with pytest.raises(_Killed):
        train(interrupted, images, labels, config, val_images=val_images,
              val_labels=val_labels, checkpoint_path=checkpoint, show_progress=False,
              on_epoch_end=kill_after_epoch_2)
    assert checkpoint.exists()
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind

    torch.manual_seed(999)  # a fresh process would start from other random state
    resumed_model = make_model()
    resumed = train(resumed_model, images, labels, config, val_images=val_images,
                    val_labels=val_labels, checkpoint_path=checkpoint, show_progress=False)
    assert resumed.resumed_from_epoch == 2
    assert [r.epoch for r in resumed.history] == [1, 2, 3]
    for (name, a), (_, b) in zip(reference.state_dict().items(),
                                 resumed_model.state_dict().items()):
        assert torch.equal(a, b), f"{name} differs after resume"


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path: Path):
    images, labels = _data(32)
    checkpoint = tmp_path / "run.pt"
    config = TrainConfig(epochs=1, batch_size=16)
    train(SeedCNN(TINY), images, labels, config, checkpoint_path=checkpoint,
          show_progress=False)
    with pytest.raises(TrainingError, match="another config"):
        train(SeedCNN(TINY), images, labels, replace(config, lr=0.1),
              checkpoint_path=checkpoint, show_progress=False)


def test_resume_accepts_a_checkpoint_that_differs_only_in_evaluation_settings(tmp_path: Path):
    images, labels = _data(32)
    checkpoint = tmp_path / "run.pt"
    config = TrainConfig(epochs=1, batch_size=16)
    first = train(SeedCNN(TINY), images, labels, config, checkpoint_path=checkpoint,
                  show_progress=False)
    again = train(SeedCNN(TINY), images, labels,
                  replace(config, tta_flip=True, tta_shift=2, eval_batch_size=7),
                  checkpoint_path=checkpoint, show_progress=False)
    assert again.resumed_from_epoch == 1
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)


def test_training_identity_drops_only_evaluation_settings():
    config = TrainConfig()
    assert training_identity(replace(config, tta_flip=True, tta_shift=1)) == training_identity(config)
    assert training_identity(replace(config, lr=0.5)) != training_identity(config)
    assert "tta_shift" not in training_identity(config) and "lr" in training_identity(config)


def test_shifted_views_translate_diagonally_with_reflected_borders():
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float64).view(2, 3, 5, 5)
    for shift in (1, 2):
        down, up = shifted_views(x, shift)
        assert down.shape == up.shape == x.shape
        assert torch.equal(down[..., shift:, shift:], x[..., :-shift, :-shift])
        assert torch.equal(up[..., :-shift, :-shift], x[..., shift:, shift:])
        assert torch.equal(down[..., 0, shift:], x[..., shift, :-shift])  # reflected row
    with pytest.raises(TrainingError, match="positive"):
        shifted_views(x, 0)


def test_shift_tta_averages_the_views_as_documented():
    torch.manual_seed(0)
    model = SeedCNN(TINY).eval()
    images, _ = _data(8)
    config = TrainConfig(tta_flip=True, tta_shift=1, eval_batch_size=3)
    x = prepare_batch(images, config)

    def both(v):
        return 0.5 * (model(v) + model(v.flip(3)))

    with torch.no_grad():
        expected = 0.5 * both(x) + 0.25 * sum(both(v) for v in shifted_views(x, 1))
        got = predict_logits(model, images, config)  # in batches of 3
    assert torch.allclose(got, expected, atol=1e-6)
    with pytest.raises(TrainingError, match="tta_shift"):
        TrainConfig(tta_shift=5)


def test_save_atomic_keeps_the_old_file_when_writing_fails(tmp_path: Path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint({"a": torch.ones(2)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        save_checkpoint({"a": Unpicklable()}, path)
    assert torch.equal(torch.load(path)["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_pinned_checkpoints_are_verified(tmp_path: Path, monkeypatch):
    from bmlib.train.recipes import (CheckpointError, checkpoint_path, load_pinned,
                                       obtain_model, seed_recipe)
    from bmlib.core.files import sha256_file

    monkeypatch.setenv("BMLIB_CACHE_DIR", str(tmp_path))
    recipe = seed_recipe(0, epochs=1)
    assert checkpoint_path(recipe, 100, 20) != checkpoint_path(seed_recipe(0, epochs=2), 100, 20)
    assert checkpoint_path(recipe, 100, 20) != checkpoint_path(recipe, 100, 0)
    path = tmp_path / "x.pt"
    save_checkpoint({"a": torch.ones(1)}, path)
    digest = sha256_file(path)
    assert torch.equal(load_pinned(path, digest, torch.device("cpu"))["a"], torch.ones(1))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_pinned(path, "0" * 64, torch.device("cpu"))
    with pytest.raises(CheckpointError, match="missing"):
        load_pinned(tmp_path / "nope.pt", digest, torch.device("cpu"))
    images, labels = _data(8)
    with pytest.raises(CheckpointError, match="RETRAIN=True"):
        obtain_model(recipe, torch.device("cpu"), images, labels, None, None, retrain=False,
                     pins={})


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_fused_optimizer_applies_the_same_update_rule(optimizer):
    """Fused and loop optimizers agree to rounding in float64 over 20 steps."""
    config = TrainConfig(optimizer=optimizer, lr=1e-2, weight_decay=1e-3)
    finals = []
    for fused in (False, True):
        torch.manual_seed(0)
        model = torch.nn.Linear(7, 3).double()
        opt = make_optimizer(model, replace(config, fused_optimizer=fused).optim())
        assert bool(opt.defaults.get("fused")) == fused
        g = torch.Generator().manual_seed(1)
        for _ in range(20):
            x = torch.randn(16, 7, generator=g, dtype=torch.float64)
            loss = model(x).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        finals.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.allclose(finals[0], finals[1], rtol=1e-12, atol=1e-12)


def test_low_resolution_crops_are_windows_of_the_image():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).view(2, 3, 32, 32)
    out = augment_batch(x, 0, g, size=24)
    assert out.shape == (2, 3, 24, 24)
    for k in range(2):
        found = any(torch.equal(out[k], cand[:, r:r + 24, c:c + 24])
                    for cand in (x[k], x[k].flip(2)) for r in range(9) for c in range(9))
        assert found
    with pytest.raises(TrainingError, match="larger"):
        augment_batch(x, 0, g, size=40)


def test_low_resolution_epochs_are_validated():
    with pytest.raises(TrainingError, match="augment=True"):
        TrainConfig(epochs=3, low_res_epochs=1)
    with pytest.raises(TrainingError, match="low_res_epochs"):
        TrainConfig(epochs=3, low_res_epochs=4, augment=True)


def test_improved_recipe_keeps_its_last_epoch_at_full_size():
    from bmlib.train.recipes import improved_recipe

    assert improved_recipe(0, epochs=15).train_config.low_res_epochs == 10
    assert improved_recipe(0, epochs=1).train_config.low_res_epochs == 0
    assert improved_recipe(0, epochs=2).train_config.low_res_epochs == 1


def test_load_checkpoint_names_the_file_when_truncated_or_foreign(tmp_path: Path):
    path = tmp_path / "run.pt"
    save_checkpoint({"model": {"w": torch.ones(3)}, "config": {"epochs": 2}}, path)
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(3))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:40])
    with pytest.raises(_CE, match=r"truncated\.pt cannot be read.*delete it"):
        load_checkpoint(truncated)
    foreign = tmp_path / "foreign.pt"
    foreign.write_text("not a checkpoint")
    with pytest.raises(_CE, match="foreign.pt cannot be read"):
        load_checkpoint(foreign)
    pickled = tmp_path / "pickled.pt"
    torch.save({"config": Path("x")}, pickled)  # an arbitrary object: refused by weights_only
    with pytest.raises(_CE, match="pickled.pt cannot be read"):
        load_checkpoint(pickled)
    with pytest.raises(_CE, match="missing"):
        load_checkpoint(tmp_path / "absent.pt")
