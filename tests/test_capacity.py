import pytest
import torch

from bmlib.studies.capacity import fit_capacity, make_regression_task, mlp, mlp_parameter_count


@pytest.mark.parametrize("width,depth", [(1, 1), (4, 1), (8, 3), (32, 2)])
def test_parameter_count_formula_matches_numel(width, depth):
    model = mlp(width, depth)
    assert mlp_parameter_count(width, depth) == sum(p.numel() for p in model.parameters())


def test_bad_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="width and depth must be >= 1"):
        mlp(0, 2)


def test_task_is_seeded_and_split():
    a, b = make_regression_task(3), make_regression_task(3)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    assert a.x_train.shape == (64, 1) and a.x_val.shape == (256, 1)
    assert not torch.equal(a.x_train, make_regression_task(4).x_train)


def test_wider_network_fits_training_points_better():
    task = make_regression_task(0)
    small = fit_capacity(task, width=2, depth=1, seed=0, steps=400)
    large = fit_capacity(task, width=32, depth=2, seed=0, steps=400)
    assert large.parameters > small.parameters
    assert large.train_mse < small.train_mse
    assert fit_capacity(task, 2, 1, seed=0, steps=400) == small  # deterministic on CPU
