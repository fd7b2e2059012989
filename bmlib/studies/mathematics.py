"""The mathematics chapter: the essay's section-4 formulas, run with the NumPy library of
:mod:`bmlib.scratch` and checked against PyTorch (autograd, ``torch.optim``) in float64.

This module is the chapter's entry point (``from bmlib.studies import mathematics as
study``); it only re-exports, by explicit import, the functions the chapter calls. They live,
with their result classes, in one module per concern:

* :mod:`bmlib.studies.math_common`: the essay's 2-3-1 network, ``torch_twin``, ``bce_mean``;
* :mod:`bmlib.studies.math_forward`: §4.1.1's layer sum, activations, sigmoid, softmax;
* :mod:`bmlib.studies.math_gradients`: the losses against autograd, the backprop derivation;
* :mod:`bmlib.studies.math_optimisers`: SGD and Adam against ``torch.optim``, bias
  correction, Adam's epsilon;
* :mod:`bmlib.studies.math_worked_example`: the 2-3-1 network trained on the BCE and on the
  essay's loss;
* :mod:`bmlib.studies.math_essay_update`: §4.3.4's gradient and update rule as written.

Each function performs one check and returns a frozen result; ``glue_values()`` gives the
numbers the chapter's prose cites (under their glue names) and ``report()`` the lines the
chapter prints. Everything runs on the CPU in float64: the point is exact agreement, not speed.
Seeds are arguments; the same seed gives the same numbers.
"""

from __future__ import annotations

from bmlib.studies.math_essay_update import essay_gradient_check, follow_essay_update
from bmlib.studies.math_forward import (activation_check, forward_check, sigmoid_overflow,
                                        softmax_check)
from bmlib.studies.math_gradients import backprop_derivation, loss_checks, loss_index_example
from bmlib.studies.math_optimisers import (bias_correction_inflation, compare_optimisers,
                                           epsilon_check)
from bmlib.studies.math_worked_example import (decision_surfaces, train_with_essay_loss,
                                               train_worked_example)

__all__ = [
    "activation_check", "backprop_derivation", "bias_correction_inflation",
    "compare_optimisers", "decision_surfaces", "epsilon_check", "essay_gradient_check",
    "follow_essay_update", "forward_check", "loss_checks", "loss_index_example",
    "sigmoid_overflow", "softmax_check", "train_with_essay_loss", "train_worked_example",
]
