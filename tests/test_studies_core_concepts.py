"""The core-concepts sweep: every fit is the capacity study's own fit, in grid order, and the
summary numbers, printed lines and glued values are those of the fits."""

import math

import pytest

from bmlib.book.glue import plain
from bmlib.studies.capacity import fit_capacity, make_regression_task, mlp_parameter_count
from bmlib.studies.core_concepts import CapacitySweep, capacity_sweep

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WIDTHS, DEPTHS, STEPS, SEED = (8, 2), (1, 2), 60, 1


@pytest.fixture(scope="module")
def sweep() -> CapacitySweep:
    return capacity_sweep(SEED, list(WIDTHS), list(DEPTHS), STEPS, show_progress=False)


def test_fits_follow_the_grid_depth_by_depth(sweep):
    assert [(r.depth, r.width) for r in sweep.results] == [(1, 8), (1, 2), (2, 8), (2, 2)]
    assert sweep.widths == WIDTHS and sweep.depths == DEPTHS and sweep.steps == STEPS
    assert all(r.parameters == mlp_parameter_count(r.width, r.depth) for r in sweep.results)
    assert [r.width for r in sweep.at_depth(2)] == [8, 2]


def test_each_fit_equals_an_independent_fit(sweep):
    task = make_regression_task(SEED)
    assert sweep.noise_variance == task.noise_std ** 2
    for result in sweep.results:
        assert fit_capacity(task, result.width, result.depth, seed=SEED, steps=STEPS) == result


def test_extremes_and_glued_values_match_the_fits(sweep):
    by_size = sorted(sweep.results, key=lambda r: r.parameters)
    small, large = by_size[0], by_size[-1]
    best = sorted(sweep.results, key=lambda r: r.val_mse)[0]
    assert (sweep.smallest, sweep.largest, sweep.best_val) == (small, large, best)
    assert (small.width, small.depth, large.width, large.depth) == (2, 1, 8, 2)
    values = sweep.glue_values()
    assert values["cc_n_fits"] == 4
    assert values["cc_params_small"] == 7 and values["cc_params_large"] == 97
    assert values["cc_train_ratio"] == small.train_mse / large.train_mse
    assert values["cc_gap_large"] == large.val_mse - large.train_mse
    assert values["cc_best_val"] == best.val_mse
    assert values["cc_best_val_shape"] == f"width {best.width}, depth {best.depth}"
    assert math.isclose(values["cc_noise_var"], 0.01)
    assert all(plain(v) == v for v in values.values())  # glue_values accepts every one
    assert sweep.run_card_metrics() == {"fits": 4,
                                        "largest_train_mse": round(large.train_mse, 4),
                                        "best_heldout_mse": round(best.val_mse, 4)}


def test_printed_lines_carry_the_numbers(sweep):
    lines = sweep.table().splitlines()
    assert lines[0].split() == ["depth", "width", "params", "train", "MSE", "held-out", "MSE"]
    assert len(lines) == 1 + len(sweep.results)
    for line, result in zip(lines[1:], sweep.results):
        depth, width, count, train, val = line.split()
        assert (int(depth), int(width), int(count)) == (result.depth, result.width,
                                                        result.parameters)
        assert float(train) == round(result.train_mse, 4)
        assert float(val) == round(result.val_mse, 4)
    summary = sweep.summary().splitlines()
    assert len(summary) == 3
    assert summary[0].startswith(f"smallest network: {sweep.smallest.parameters} parameters")
    assert f"({sweep.best_val.width}x{sweep.best_val.depth})" in summary[2]


@pytest.mark.parametrize("widths,depths,steps,message", [
    ([], [1], 10, "at least one width and one depth"),
    ([4], [], 10, "at least one width and one depth"),
    ([4], [1], 0, "steps must be >= 1"),
    ([0], [1], 10, "width and depth must be >= 1"),
])
def test_bad_grid_is_a_clear_error(widths, depths, steps, message):
    with pytest.raises(ValueError, match=message):
        capacity_sweep(0, widths, depths, steps, show_progress=False)
