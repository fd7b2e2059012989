"""Membership inference by loss threshold (Yeom et al. 2018; Shokri et al. 2017).

The attacker guesses "member of the training set" when a model's loss on an example is
below a threshold. Its power over all thresholds is the area under the ROC curve (AUC):
the probability that a random member has a lower loss than a random non-member (ties count
one half). AUC 0.5 means the losses leak nothing; 1.0 means perfect separation. The
membership advantage is ``max(TPR − FPR)`` over thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class PrivacyError(ValueError):
    """Bad input to a membership-inference measurement."""


@dataclass(frozen=True)
class MembershipInference:
    """What the loss-threshold attack achieves."""

    auc: float  # area under the ROC curve; 0.5 = chance
    advantage: float  # max over thresholds of TPR - FPR (Yeom et al.'s membership advantage)
    best_threshold: float  # the loss threshold that reaches the advantage
    member_mean_loss: float  # mean loss on training examples
    nonmember_mean_loss: float  # mean loss on held-out examples
    num_members: int
    num_nonmembers: int


def _as_losses(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise PrivacyError(f"{name}: need at least one finite loss; got {values.size} values")
    return values


def loss_auc(member_losses: np.ndarray, nonmember_losses: np.ndarray) -> float:
    """P(member loss < non-member loss) + ½ P(equal): the attack's ROC AUC."""
    members = _as_losses("member_losses", member_losses)
    others = _as_losses("nonmember_losses", nonmember_losses)
    pooled = np.concatenate([members, others])
    order = np.argsort(pooled, kind="mergesort")
    ranks = np.empty(pooled.size)
    sorted_values = pooled[order]
    start = 0
    while start < pooled.size:  # average ranks over ties
        stop = start
        while stop + 1 < pooled.size and sorted_values[stop + 1] == sorted_values[start]:
            stop += 1
        ranks[order[start:stop + 1]] = 0.5 * (start + stop) + 1.0
        start = stop + 1
    # Mann-Whitney: rank sum of the non-members counts the pairs where they lose more.
    u = ranks[members.size:].sum() - others.size * (others.size + 1) / 2.0
    return float(u / (members.size * others.size))


def loss_threshold_attack(member_losses: np.ndarray,
                          nonmember_losses: np.ndarray) -> MembershipInference:
    """Evaluate the loss-threshold attack at every threshold; see :class:`MembershipInference`."""
    members = _as_losses("member_losses", member_losses)
    others = _as_losses("nonmember_losses", nonmember_losses)
    thresholds = np.unique(np.concatenate([members, others]))
    tpr = (members[None, :] <= thresholds[:, None]).mean(axis=1)
    fpr = (others[None, :] <= thresholds[:, None]).mean(axis=1)
    best = int(np.argmax(tpr - fpr))
    return MembershipInference(
        auc=loss_auc(members, others), advantage=float(max(0.0, tpr[best] - fpr[best])),
        best_threshold=float(thresholds[best]), member_mean_loss=float(members.mean()),
        nonmember_mean_loss=float(others.mean()), num_members=int(members.size),
        num_nonmembers=int(others.size))
