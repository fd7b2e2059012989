"""The algorithms chapter's two sequence tasks, trained with the book's loop.

* Reversal: a :class:`~bmlib.models.attention.TinyTransformer` learns to output a random
  token sequence reversed, which needs every position to attend to its mirror position.
* Recall: a :class:`~bmlib.models.recurrent.RecallModel` (Elman RNN or LSTM) must output
  the first symbol of a sequence after ``length - 1`` distractors: a long-memory test whose
  gradient norms through time show why plain RNNs forget.

Both draw fresh synthetic batches every step from their own seeded generator
(:class:`~bmlib.train.loop.StreamBatches`), so the data do not depend on initialisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bmlib.models.attention import ReversalConfig, TinyTransformer
from bmlib.models.recurrent import RecallConfig, RecallModel
from bmlib.train.config import LoopConfig, OptimConfig
from bmlib.train.loop import StreamBatches, fit


def reversal_batch(generator: torch.Generator, batch: int, length: int,
                   vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token sequences and their reversals."""
    tokens = torch.randint(vocab, (batch, length), generator=generator)
    return tokens, tokens.flip(1)


@dataclass(frozen=True)
class ReversalResult:
    losses: tuple[float, ...]  # training cross-entropy per step (nats/token)
    token_accuracy: float  # held-out fraction of tokens right
    sequence_accuracy: float  # held-out fraction of whole sequences right
    model: TinyTransformer


def train_reversal(config: ReversalConfig, seed: int) -> ReversalResult:
    """Train a :class:`TinyTransformer` to reverse sequences; evaluate on fresh sequences."""
    torch.manual_seed(seed)
    model = TinyTransformer(config)
    data = torch.Generator().manual_seed(seed + 1)

    def loss_fn(output: tuple[torch.Tensor, list[torch.Tensor]], target: torch.Tensor
                ) -> torch.Tensor:
        return nn.functional.cross_entropy(output[0].reshape(-1, config.vocab),
                                           target.reshape(-1))

    batches = StreamBatches(lambda: reversal_batch(data, config.batch, config.length,
                                                   config.vocab), config.steps, config.batch)
    losses = fit(model, batches, OptimConfig(optimizer="adam", lr=config.lr),
                 LoopConfig(epochs=1, seed=None, record_steps=True),
                 loss_fn=loss_fn).step_losses
    held_out = torch.Generator().manual_seed(seed + 2)
    tokens, target = reversal_batch(held_out, config.eval_sequences, config.length, config.vocab)
    with torch.no_grad():
        predicted = model(tokens)[0].argmax(-1)
    correct = predicted == target
    return ReversalResult(tuple(losses), correct.float().mean().item(),
                          correct.all(dim=1).float().mean().item(), model)


def recall_batch(generator: torch.Generator, batch: int, length: int,
                 config: RecallConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot sequences ``(batch, length, symbols + distractors)`` and the first symbols."""
    if length < 2:
        raise ValueError(f"length={length}: the task needs at least 2 steps")
    target = torch.randint(config.n_symbols, (batch,), generator=generator)
    tokens = torch.randint(config.n_distractors, (batch, length), generator=generator)
    tokens += config.n_symbols
    tokens[:, 0] = target
    x = nn.functional.one_hot(tokens, config.n_symbols + config.n_distractors)
    return x.to(torch.get_default_dtype()), target


@dataclass(frozen=True)
class RecallResult:
    cell: str  # 'rnn' or 'lstm'
    length: int  # sequence length trained on
    losses: tuple[float, ...]  # training loss per step (nats)
    grad_norms: tuple[float, ...]  # parameter-gradient norm per step, before clipping
    accuracy: float  # held-out accuracy of the final model


def train_recall(cell: str, length: int, config: RecallConfig, seed: int) -> RecallResult:
    """Train a :class:`RecallModel` with Adam (and optional clipping) on fresh batches."""
    torch.manual_seed(seed)
    model = RecallModel(cell, config)
    data = torch.Generator().manual_seed(seed + 1)
    batches = StreamBatches(lambda: recall_batch(data, config.batch, length, config),
                            config.steps, config.batch)
    result = fit(model, batches,
                 OptimConfig(optimizer="adam", lr=config.lr, grad_clip=config.clip_norm),
                 LoopConfig(epochs=1, seed=None, record_steps=True))
    losses, norms = result.step_losses, result.grad_norms
    held_out = torch.Generator().manual_seed(seed + 2)
    x, target = recall_batch(held_out, config.eval_sequences, length, config)
    with torch.no_grad():
        accuracy = (model(x)[0].argmax(1) == target).float().mean().item()
    return RecallResult(cell, length, tuple(losses), tuple(norms), accuracy)
