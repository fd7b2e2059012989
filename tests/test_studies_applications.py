"""The applications chapter's study: case-study tables against scikit-learn's metrics, the
glue the prose needs, and the DDP check's gaps and report."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, recall_score, roc_auc_score

from bmlib.book.notebooks import read_notebook
from bmlib.core.paths import repo_root
from bmlib.studies import applications as study
from bmlib.studies.applications import LOGISTIC, MAJORITY, MLP
from bmlib.studies.case_studies import MLPConfig, train_mlp
from bmlib.train.distributed import DataParallelConfig, TrainResult, synthetic_classification

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL_MLP = MLPConfig(hidden=8, max_epochs=15, weight_decays=(0.0, 1e-2), patience=5)
N_BOOT = 60


@pytest.fixture(scope="module")
def cancer_data():
    return study.breast_cancer_data()


@pytest.fixture(scope="module")
def cancer(cancer_data):
    x, y = cancer_data
    return study.run_case_study(x, y, SMALL_MLP, seed=0, n_boot=N_BOOT,
                                metrics=("accuracy", "log_loss", "auc"),
                                differences=("accuracy", "log_loss"), positive_name="malignant")


@pytest.fixture(scope="module")
def digits_small():
    x, y = study.digits_data()
    keep = y < 3  # three classes keep the fits quick
    return x[keep], y[keep]


@pytest.fixture(scope="module")
def digits(digits_small):
    x, y = digits_small
    return study.run_case_study(x, y, SMALL_MLP, seed=0, n_boot=N_BOOT)


@pytest.fixture(scope="module")
def cancer_repeats(cancer_data):
    x, y = cancer_data
    return study.repeat_case_study(x, y, seed=0, repeats=2, mlp_config=SMALL_MLP)


def test_breast_cancer_codes_malignant_as_one(cancer_data):
    raw = load_breast_cancer()
    _, y = cancer_data
    assert y.sum() == np.sum(raw.target_names[raw.target] == "malignant") == 212


def test_rows_match_scikit_learn_metrics(cancer):
    y = cancer.split.y_test
    for fitted in cancer.fits:
        row, p = cancer.rows[fitted.name], fitted.proba_test
        assert row["accuracy"].point == pytest.approx(accuracy_score(y, p.argmax(axis=1)))
        assert row["log_loss"].point == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-9)
        assert row["auc"].point == pytest.approx(roc_auc_score(y, p[:, 1]))
        assert all(r.low <= r.high for r in row.values())
        sens, spec = cancer.rates[fitted.name]
        predicted = (p[:, 1] >= 0.5).astype(int)
        assert sens == pytest.approx(recall_score(y, predicted, pos_label=1))
        assert spec == pytest.approx(recall_score(y, predicted, pos_label=0))
    assert cancer.rows[MAJORITY]["accuracy"].point == pytest.approx(np.mean(y == 0))


def test_intervals_use_the_seeded_resamples(cancer):
    y, p = cancer.split.y_test, cancer.fitted(MLP).proba_test
    resamples = np.random.default_rng(0).integers(0, len(y), size=(N_BOOT, len(y)))
    values = [np.mean(p[i].argmax(axis=1) == y[i]) for i in resamples]
    interval = cancer.rows[MLP]["accuracy"]
    assert (interval.low, interval.high) == pytest.approx(
        (np.percentile(values, 2.5), np.percentile(values, 97.5)))
    lr = cancer.fitted(LOGISTIC).proba_test
    diffs = [np.mean(p[i].argmax(1) == y[i]) - np.mean(lr[i].argmax(1) == y[i]) for i in resamples]
    diff = cancer.differences["accuracy"]
    assert diff.point == pytest.approx(cancer.rows[MLP]["accuracy"].point
                                       - cancer.rows[LOGISTIC]["accuracy"].point)
    assert (diff.low, diff.high) == pytest.approx(
        (np.percentile(diffs, 2.5), np.percentile(diffs, 97.5)))


def test_report_lines(cancer, digits):
    assert cancer.summary() == "examples: 569 (212 malignant); train/val/test = 341/114/114"
    lines = cancer.table().splitlines()
    assert lines[0].endswith("test AUC [95% CI]        sens.  spec.")
    assert [line[:20].rstrip() for line in lines[1:]] == [MAJORITY, LOGISTIC, MLP]
    sens, spec = cancer.rates[MLP]
    assert lines[-1].endswith(f"{sens:.3f}  {spec:.3f}")
    assert digits.summary().startswith(f"examples: {digits.num_examples}; train/val/test = ")
    digit_lines = digits.table().splitlines()
    assert digit_lines[0].endswith("[95% CI]   test log-loss [95% CI]")
    assert digit_lines[-1].endswith(str(digits.rows[MLP]["log_loss"]))
    assert cancer.differences_report().splitlines()[1] == (
        f"MLP minus logistic regression, log-loss: {cancer.differences['log_loss']}")


def test_confusion_summary_counts_off_diagonal_errors():
    matrix = np.array([[5, 0, 1], [3, 7, 0], [0, 1, 9]])
    summary = study.ConfusionSummary(matrix)
    assert summary.errors == 5
    assert summary.most_frequent == (1, 0, 3)
    assert summary.report() == ("most frequent confusion: true 1 read as 0 (3 times); "
                                "errors in total: 5 of 26")


def test_study_confusion_matches_predictions(digits):
    summary = digits.confusion(MLP)
    predicted = digits.fitted(MLP).proba_test.argmax(axis=1)
    assert summary.matrix.shape == (3, 3)
    assert summary.errors == int(np.sum(predicted != digits.split.y_test))


def test_calibration_bins_partition_the_test_part(cancer):
    curves = cancer.calibration((LOGISTIC,), bins=4)
    curve = curves.curves[LOGISTIC]
    y, p = cancer.split.y_test, cancer.fitted(LOGISTIC).proba_test[:, 1]
    assert curves.bins == 4 and curve.counts.sum() == len(y)
    low = p < 0.25
    assert curve.observed[0] == pytest.approx(np.mean(y[low]))
    assert curve.mean_predicted[0] == pytest.approx(np.mean(p[low]))


def test_bad_inputs_fail_with_a_message(cancer, digits, digits_small, cancer_data):
    x, y = digits_small
    with pytest.raises(ValueError, match="unknown metric"):
        study.run_case_study(x, y, SMALL_MLP, seed=0, n_boot=10, metrics=("f1",))
    with pytest.raises(ValueError, match="needs two classes"):
        study.run_case_study(x, y, SMALL_MLP, seed=0, n_boot=10, positive_name="three")
    with pytest.raises(ValueError, match="binary"):
        digits.calibration()
    with pytest.raises(KeyError, match="no model"):
        cancer.fitted("random forest")
    with pytest.raises(ValueError, match="at least 2"):
        study.repeat_case_study(*cancer_data, seed=0, repeats=1, mlp_config=SMALL_MLP)


def test_repeats_use_fresh_seeds_and_summarise_them(cancer_data, cancer_repeats):
    assert cancer_repeats.seeds == (1, 2)
    x, y = cancer_data
    first = study.run_case_study(x, y, SMALL_MLP, seed=1, n_boot=10)
    values = cancer_repeats.values
    assert values[MLP]["accuracy"][0] == first.rows[MLP]["accuracy"].point
    assert cancer_repeats.mean(MLP, "log_loss") == pytest.approx(values[MLP]["log_loss"].mean())
    assert cancer_repeats.sd(LOGISTIC, "accuracy") == pytest.approx(
        np.std(values[LOGISTIC]["accuracy"], ddof=1))
    assert cancer_repeats.mlp_wins() == sum(
        a < b for a, b in zip(values[MLP]["log_loss"], values[LOGISTIC]["log_loss"]))
    assert cancer_repeats.report().splitlines()[0].startswith("test metrics over 2 further")


def test_parameter_counts_match_the_models(cancer, digits):
    for case in (cancer, digits):  # two classes, three classes
        split = case.split
        model = LogisticRegression(max_iter=200).fit(split.x_train, split.y_train)
        assert study.logistic_parameter_count(split.x_train.shape[1], split.num_classes) == \
            model.coef_.size + model.intercept_.size
    split = cancer.split
    network, _, _ = train_mlp(split, replace(SMALL_MLP, max_epochs=1), 0.0, seed=0)
    assert study.mlp_parameter_count(split.x_train.shape[1], SMALL_MLP.hidden, 2) == \
        sum(p.numel() for p in network.parameters())


def _fake_check(steps: int = 15) -> study.DataParallelCheck:
    losses = tuple(1.0 / (s + 1) for s in range(steps))
    single = TrainResult(1, "none", losses, torch.zeros(4, dtype=torch.float64), 1.0, 10.0)
    shifted = tuple(v + (3e-12 if s == 1 else 0.0) for s, v in enumerate(losses))
    parallel = TrainResult(2, "gloo", shifted, torch.tensor([0.0, 0.0, -5e-12, 0.0],
                                                            dtype=torch.float64), 1.0, 9.0)
    config = DataParallelConfig(steps=steps, backend="gloo")
    return study.DataParallelCheck(config, single, parallel, tolerance=1e-9)


def test_data_parallel_check_gaps_and_report():
    check = _fake_check()
    assert check.loss_gap == pytest.approx(3e-12) and check.param_gap == pytest.approx(5e-12)
    assert check.agrees
    assert not replace(check, tolerance=4e-12).agrees
    lines = check.report().splitlines()
    assert lines[0] == "step    1 process   2 processes (gloo)"
    assert [int(line.split()[0]) for line in lines[1:-1]] == [0, 1, 2, 7, 14]
    assert lines[-1] == "losses and final parameters agree within 1e-09: True"
    assert len(_fake_check(steps=2).report().splitlines()) == 4  # steps 0 and 1 only
    assert check.glue_values()["app_ddp_steps"] == 15
    with pytest.raises(ValueError, match="tolerance"):
        study.data_parallel_check(torch.zeros(4, 2), torch.zeros(4), check.config, tolerance=0)


def test_throughput_speedup_and_report():
    result = study.Throughput({1: 1000.0, 2: 1500.0}, threads=1, logical_cpus=2)
    assert result.speedup == 1.5
    assert result.report().splitlines() == [
        "1 process(es): 1,000 samples/s", "2 process(es): 1,500 samples/s",
        "speed-up 2 vs 1: 1.50x; CPU cores visible: 1 threads, 2 logical CPUs"]
    with pytest.raises(ValueError, match="at least two"):
        study.ddp_throughput(0, world_sizes=(2,))


def test_every_glue_name_in_the_chapter_prose_is_produced(cancer, digits, cancer_repeats):
    notebook = read_notebook(repo_root() / "chapters" / "applications.ipynb")
    prose = "".join("".join(c["source"]) for c in notebook["cells"]
                    if c["cell_type"] == "markdown")
    referenced = set(re.findall(r"\{glue:text\}`(app_\w+)", prose))
    produced = {**study.breast_cancer_glue(cancer, cancer_repeats, SMALL_MLP),
                **study.digits_glue(digits, cancer_repeats), **_fake_check().glue_values(),
                **study.Throughput({1: 1.0, 2: 2.0}, 1, 2).glue_values()}
    assert referenced and referenced <= set(produced), sorted(referenced - set(produced))
    glued = study.breast_cancer_glue(cancer, cancer_repeats, SMALL_MLP)
    assert glued["app_bc_lr_missed"] == int(np.sum(
        (cancer.fitted(LOGISTIC).proba_test.argmax(1) == 0) & (cancer.split.y_test == 1)))
    assert glued["app_bc_malignant"] == 212 and glued["app_repeats"] == 2


@pytest.mark.slow
def test_spawned_runs_follow_the_single_process_and_are_timed():
    x, y = synthetic_classification(128, 4, 3, seed=2)
    config = DataParallelConfig(world_size=2, global_batch=16, steps=5, hidden=8, seed=1,
                                dtype="float64", backend="gloo")
    check = study.data_parallel_check(x, y, config)
    assert check.agrees and check.parallel.world_size == 2
    assert check.single.losses[-1] < check.single.losses[0]
    result = study.ddp_throughput(0, num_examples=256, num_features=8, num_classes=3,
                                  global_batch=32, steps=3, hidden=8)
    assert set(result.examples_per_second) == {1, 2}
    assert result.speedup == pytest.approx(result.examples_per_second[2]
                                           / result.examples_per_second[1])
