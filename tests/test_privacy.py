"""bmlib.metrics.privacy: the loss-threshold attack's AUC and advantage against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from bmlib.metrics.privacy import PrivacyError, loss_auc, loss_threshold_attack


def test_auc_and_advantage_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    members = rng.exponential(0.5, 300)
    others = np.round(rng.exponential(1.0, 200), 1)  # rounded: many ties
    labels = np.r_[np.ones(300), np.zeros(200)]
    scores = -np.r_[members, others]  # lower loss -> "member"
    result = loss_threshold_attack(members, others)
    assert result.auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = roc_curve(labels, scores)
    assert result.advantage == pytest.approx((tpr - fpr).max(), abs=1e-12)
    assert (members <= result.best_threshold).mean() - (others <= result.best_threshold).mean() \
        == pytest.approx(result.advantage)


def test_extremes() -> None:
    assert loss_auc(np.array([0.1, 0.2]), np.array([1.0, 2.0])) == 1.0
    assert loss_auc(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.5
    same = loss_threshold_attack(np.ones(5), np.ones(7))
    assert same.auc == 0.5 and same.advantage == 0.0


def test_bad_input() -> None:
    with pytest.raises(PrivacyError, match="member_losses"):
        loss_auc(np.array([]), np.array([1.0]))
    with pytest.raises(PrivacyError, match="nonmember_losses"):
        loss_threshold_attack(np.array([1.0]), np.array([np.nan]))
