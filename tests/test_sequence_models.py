"""The hand-written RNN and LSTM equal torch.nn.RNN / torch.nn.LSTM in float64; the
recall task and the gradient-through-time measurement behave as documented."""

import pytest
import torch

from bmlib.models.recurrent import (
    LSTM, ElmanRNN, RecallConfig, RecallModel, hidden_state_gradient_norms,
    scale_recurrent_weights,
)
from bmlib.studies.sequence_tasks import recall_batch, train_recall

TOL = 1e-12


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _copy_into(ours, ref):
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(ours, name))


@pytest.mark.parametrize("cls,ref_cls", [(ElmanRNN, torch.nn.RNN), (LSTM, torch.nn.LSTM)])
def test_cells_equal_torch_forward_and_backward(cls, ref_cls):
    torch.manual_seed(0)
    ours = cls(5, 7).double()
    ref = ref_cls(5, 7, batch_first=True).double()
    _copy_into(ours, ref)
    x = torch.randn(3, 11, 5, dtype=torch.float64, requires_grad=True)
    states = torch.stack(ours(x), dim=1)
    ref_states, _ = ref(x)
    torch.testing.assert_close(states, ref_states, rtol=0, atol=TOL)
    g = torch.randn_like(states)
    ours_grad = torch.autograd.grad((states * g).sum(), [x, ours.weight_hh])
    ref_grad = torch.autograd.grad((ref_states * g).sum(), [x, ref.weight_hh_l0])
    for a, b in zip(ours_grad, ref_grad):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_lstm_gradcheck():
    torch.manual_seed(1)
    cell = LSTM(2, 3).double()
    x = torch.randn(1, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda inp: cell(inp)[-1], (x,))


def test_forget_bias_is_added():
    torch.manual_seed(0)
    plain = LSTM(3, 4)
    torch.manual_seed(0)
    biased = LSTM(3, 4, forget_bias=2.0)
    delta = biased.bias_ih - plain.bias_ih
    torch.testing.assert_close(delta, torch.tensor([0.0] * 4 + [2.0] * 4 + [0.0] * 8))


def test_recall_batch():
    config = RecallConfig(n_symbols=3, n_distractors=5)
    x, target = recall_batch(torch.Generator().manual_seed(0), 50, 9, config)
    assert x.shape == (50, 9, 8)
    assert torch.equal(x[:, 0].argmax(1), target)
    assert torch.all(x[:, 1:].argmax(2) >= 3)  # later tokens are distractors only
    with pytest.raises(ValueError, match="length"):
        recall_batch(torch.Generator(), 2, 1, config)
    with pytest.raises(ValueError, match="cell"):
        RecallModel("gru", config)


def test_rnn_gradient_vanishes_and_gain_makes_it_explode():
    config = RecallConfig()
    x, target = recall_batch(torch.Generator().manual_seed(0), 64, 40, config)
    torch.manual_seed(0)
    model = RecallModel("rnn", config)
    norms = hidden_state_gradient_norms(model, x, target)
    assert norms.shape == (40,)
    assert norms[0] < 1e-4 * norms[-1]  # vanishing at the default init
    scale_recurrent_weights(model, 6.0)
    norms = hidden_state_gradient_norms(model, x, target)
    assert norms[0] > 1e3 * norms[-1]  # exploding with a large recurrent gain


@pytest.mark.slow
def test_training_records_and_learns_short_sequences():
    config = RecallConfig(hidden=16, batch=32, steps=60, eval_sequences=100)
    result = train_recall("lstm", 5, config, seed=0)
    assert len(result.losses) == len(result.grad_norms) == 60
    assert result.accuracy > 0.9
