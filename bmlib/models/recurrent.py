"""An Elman RNN and an LSTM written from their update equations, a long-memory task, and
gradient norms through time.

The cells use PyTorch's parameter layout (``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``; LSTM gates in the order input, forget, cell, output), so the tests can copy
weights into ``torch.nn.RNN`` / ``torch.nn.LSTM`` and compare in float64.

* Elman RNN (Elman, 1990):  ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.
* LSTM (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000):
  ``c_t = f_t * c_{t-1} + i_t * g_t``, ``h_t = o_t * tanh(c_t)``. The additive cell path is
  what lets gradients reach far back: ``dc_t/dc_{t-1}`` contains the term ``diag(f_t)``.

The task ("recall the first symbol"): a sequence of ``length`` one-hot tokens whose first
token is one of ``n_symbols`` symbols and whose other tokens are distractors drawn from a
disjoint set; after the last token the model must name the first symbol. Chance is
``1/n_symbols``. Model code does no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


class ElmanRNN(nn.Module):
    """Single-layer tanh RNN; ``forward`` returns every hidden state."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        bound = 1 / math.sqrt(hidden_size)  # PyTorch's default init range
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(hidden_size).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``x (B, T, input)`` -> list of T hidden states ``(B, hidden)``."""
        h = x.new_zeros(x.shape[0], self.hidden_size)
        states = []
        for t in range(x.shape[1]):
            h = torch.tanh(x[:, t] @ self.weight_ih.T + self.bias_ih
                           + h @ self.weight_hh.T + self.bias_hh)
            states.append(h)
        return states


class LSTM(nn.Module):
    """Single-layer LSTM; ``forward`` returns every hidden state (the cell state is internal)."""

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 0.0) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        bound = 1 / math.sqrt(hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size).uniform_(-bound, bound))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size).uniform_(-bound, bound))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size).uniform_(-bound, bound))
        with torch.no_grad():
            # A positive forget bias starts the cell near "remember" (Gers et al., 2000).
            self.bias_ih[hidden_size:2 * hidden_size] += forget_bias

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``x (B, T, input)`` -> list of T hidden states ``(B, hidden)``."""
        h = x.new_zeros(x.shape[0], self.hidden_size)
        c = torch.zeros_like(h)
        states = []
        for t in range(x.shape[1]):
            gates = x[:, t] @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh
            i, f, g, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            states.append(h)
        return states


@dataclass(frozen=True)
class RecallConfig:
    """The recall-the-first-symbol task and its training run."""

    n_symbols: int = 4  # symbols to remember (chance accuracy 1/n_symbols)
    n_distractors: int = 4  # distractor symbols filling the rest of the sequence
    hidden: int = 32  # hidden units
    steps: int = 300  # Adam steps
    batch: int = 64  # sequences per step (fresh data every step)
    lr: float = 1e-2  # Adam learning rate
    clip_norm: float | None = 1.0  # gradient-norm clipping threshold; None = no clipping
    forget_bias: float = 1.0  # LSTM only: added to the forget-gate bias at init
    eval_sequences: int = 500  # held-out sequences for the final accuracy


class RecallModel(nn.Module):
    """A recurrent cell followed by a linear read-out of the last hidden state."""

    def __init__(self, cell: str, config: RecallConfig) -> None:
        super().__init__()
        inputs = config.n_symbols + config.n_distractors
        if cell == "rnn":
            self.cell: nn.Module = ElmanRNN(inputs, config.hidden)
        elif cell == "lstm":
            self.cell = LSTM(inputs, config.hidden, forget_bias=config.forget_bias)
        else:
            raise ValueError(f"cell={cell!r} is unknown: use 'rnn' or 'lstm'")
        self.readout = nn.Linear(config.hidden, config.n_symbols)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        states = self.cell(x)
        return self.readout(states[-1]), states


def hidden_state_gradient_norms(model: RecallModel, x: torch.Tensor,
                                target: torch.Tensor) -> torch.Tensor:
    """``||dL/dh_t||`` for every step t (mean cross-entropy loss at the last step).

    Entry ``t`` says how strongly the loss can still steer what the network stored at step
    ``t``; for the recall task the information sits at ``t = 0``.
    """
    logits, states = model(x)
    loss = nn.functional.cross_entropy(logits, target)
    grads = torch.autograd.grad(loss, states)
    return torch.stack([g.norm() for g in grads]).detach()


def scale_recurrent_weights(model: RecallModel, gain: float) -> None:
    """Multiply the recurrent matrix ``W_hh`` by ``gain`` (in place)."""
    with torch.no_grad():
        model.cell.weight_hh.mul_(gain)
