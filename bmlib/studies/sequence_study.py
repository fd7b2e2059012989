"""The algorithms chapter's sequence models: attention against PyTorch, what the reversal
Transformer attends to, and RNN vs LSTM (gradient norms through time, recall at length).

The training runs themselves are :func:`bmlib.studies.sequence_tasks.train_reversal` and
:func:`~bmlib.studies.sequence_tasks.train_recall`; this module checks, measures and
summarises. Results are frozen; ``report()`` gives the lines the chapter prints and
``glue_values()`` the numbers its prose cites. CPU only; seeds are arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from bmlib.core.progress import progress
from bmlib.models.attention import (MultiHeadSelfAttention, ReversalConfig,
                                    scaled_dot_product_attention)
from bmlib.models.recurrent import (RecallConfig, RecallModel, hidden_state_gradient_norms,
                                    scale_recurrent_weights)
from bmlib.studies.sequence_tasks import (RecallResult, ReversalResult, recall_batch,
                                          reversal_batch, train_recall)

# ---------------------------------------------------------------- attention (§3.1.2)


@dataclass(frozen=True)
class AttentionCheck:
    errors: dict[str, float]  # 'plain', 'causal', 'multi-head' -> max |ours - torch| (float64)

    def report(self) -> str:
        return "\n".join(f"{name:10s} max |ours - torch| = {error:.1e}"
                         for name, error in self.errors.items())

    def glue_values(self) -> dict[str, Any]:
        return {"alg_attn_max_err": max(self.errors.values())}


def attention_check(seed: int) -> AttentionCheck:
    """:func:`scaled_dot_product_attention` (plain and causal) against
    ``F.scaled_dot_product_attention`` on random (2, 4, 10, 8) tensors, and
    :class:`MultiHeadSelfAttention` against ``nn.MultiheadAttention`` with copied weights."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(2, 4, 10, 8, generator=g, dtype=torch.float64) for _ in range(3))
    errors = {}
    for causal in (False, True):
        ours, _ = scaled_dot_product_attention(q, k, v, is_causal=causal)
        reference = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        errors["causal" if causal else "plain"] = (ours - reference).abs().max().item()
    torch.manual_seed(seed)
    ours_mha = MultiHeadSelfAttention(16, 4).double()
    torch_mha = torch.nn.MultiheadAttention(16, 4, batch_first=True).double()
    with torch.no_grad():
        torch_mha.in_proj_weight.copy_(ours_mha.in_proj.weight)
        torch_mha.in_proj_bias.copy_(ours_mha.in_proj.bias)
        torch_mha.out_proj.weight.copy_(ours_mha.out_proj.weight)
        torch_mha.out_proj.bias.copy_(ours_mha.out_proj.bias)
    tokens = torch.randn(3, 10, 16, generator=g, dtype=torch.float64)
    errors["multi-head"] = (ours_mha(tokens)[0]
                            - torch_mha(tokens, tokens, tokens)[0]).abs().max().item()
    return AttentionCheck(errors)


# ---------------------------------------------------------------- the reversal Transformer


@dataclass(frozen=True)
class ReversalSummary:
    """The trained reversal model's size, loss and held-out accuracy."""

    n_params: int  # trainable parameters
    first_loss: float  # training cross-entropy at step 1 (nats/token)
    final_loss: float  # at the last step (nats/token)
    vocab: int  # distinct tokens
    token_accuracy: float  # held-out fraction of tokens right
    sequence_accuracy: float  # held-out fraction of whole sequences right

    @property
    def chance_loss(self) -> float:
        """ln(vocab): the cross-entropy of a uniform guess (nats/token)."""
        return float(np.log(self.vocab))

    def report(self) -> str:
        return (f"{self.n_params:,} parameters; loss {self.first_loss:.3f} -> "
                f"{self.final_loss:.4f} nats/token\n"
                f"held-out token accuracy {self.token_accuracy:.4f}, "
                f"whole-sequence accuracy {self.sequence_accuracy:.4f}")

    def glue_values(self) -> dict[str, Any]:
        return {"alg_tf_params": self.n_params, "alg_tf_loss0": self.first_loss,
                "alg_tf_loss": self.final_loss, "alg_tf_token_acc": self.token_accuracy,
                "alg_tf_seq_acc": self.sequence_accuracy, "alg_tf_chance_loss": self.chance_loss}


def summarise_reversal(result: ReversalResult, config: ReversalConfig) -> ReversalSummary:
    """The numbers the chapter reports about one :func:`train_reversal` run."""
    return ReversalSummary(sum(p.numel() for p in result.model.parameters()), result.losses[0],
                           result.losses[-1], config.vocab, result.token_accuracy,
                           result.sequence_accuracy)


@dataclass(frozen=True)
class ReversalAttention:
    """The first block's attention weights on one fresh sequence."""

    heads: np.ndarray  # (heads, query, key) attention weights (fractions; rows sum to 1)
    anti_diagonal: float  # mean weight on the mirrored key, length - 1 - query

    def report(self) -> str:
        return ("mean attention weight on the mirrored position (over heads and queries): "
                f"{self.anti_diagonal:.3f}")

    def glue_values(self) -> dict[str, Any]:
        return {"alg_tf_antidiag": self.anti_diagonal}


def reversal_attention(result: ReversalResult, config: ReversalConfig,
                       seed: int) -> ReversalAttention:
    """Run the trained model on one sequence drawn with seed ``seed + 7`` (not a training or
    evaluation seed) and measure how much attention falls on the mirrored position."""
    sample, _ = reversal_batch(torch.Generator().manual_seed(seed + 7), 1, config.length,
                               config.vocab)
    with torch.no_grad():
        _, maps = result.model(sample)
    heads = maps[0][0]  # (heads, query, key) for the first block
    queries = torch.arange(config.length)
    anti_diagonal = heads[:, queries, config.length - 1 - queries].mean().item()
    return ReversalAttention(heads.numpy(), anti_diagonal)


# ---------------------------------------------------------------- RNN vs LSTM


@dataclass(frozen=True)
class GradientNorms:
    """``||dL/dh_t||`` through time for untrained cells, at default and scaled ``W_hh``."""

    length: int  # sequence length T
    forget_bias: float  # forget-gate bias of the third variant
    variants: tuple[tuple[str, str, float], ...]  # (label, cell, forget bias at init)
    gains: tuple[float, ...]  # factors applied to W_hh
    norms: dict[tuple[str, float], np.ndarray]  # (label, gain) -> (T,) norms, step 0 first

    @property
    def open_label(self) -> str:
        """The label of the LSTM with the chapter's (open) forget bias."""
        return self.variants[2][0]

    def ratios(self, gain: float) -> dict[str, float]:
        """``||dL/dh_0|| / ||dL/dh_(T-1)||`` per variant: < 1 vanishing, > 1 growing."""
        return {label: self.norms[(label, gain)][0] / self.norms[(label, gain)][-1]
                for label, _, _ in self.variants}

    def report(self) -> str:
        lines = [f"||dL/dh_0|| / ||dL/dh_(T-1)|| over T = {self.length} steps "
                 "(<1: vanishing, >1: growing)"]
        lines += [f"  W_hh x{gain:g}  {label:22s} {norms[0] / norms[-1]:.2e}"
                  for (label, gain), norms in self.norms.items()]
        return "\n".join(lines)

    def glue_values(self) -> dict[str, Any]:
        """Needs gains 1 and 6 (the chapter's)."""
        default, big = self.ratios(1.0), self.ratios(6.0)
        rnn, lstm0 = self.variants[0][0], self.variants[1][0]
        return {"alg_grad_T": self.length, "alg_rnn_vanish": default[rnn],
                "alg_lstm0_vanish": default[lstm0],
                "alg_lstm_open_vanish": default[self.open_label],
                "alg_rnn_explode": big[rnn], "alg_lstm0_explode": big[lstm0],
                "alg_lstm_open_explode": big[self.open_label], "alg_forget_bias": self.forget_bias}


def gradient_norms(length: int, forget_bias: float, seed: int,
                   gains: Sequence[float] = (1.0, 6.0), batch: int = 256) -> GradientNorms:
    """Gradient norms through time (float64, where the RNN's would underflow float32) of an
    RNN, a default LSTM and an LSTM with ``forget_bias``, each with ``W_hh`` times each gain,
    on one batch of the recall task."""
    base = RecallConfig()
    x_seq, y_seq = recall_batch(torch.Generator().manual_seed(seed), batch, length, base)
    x_seq = x_seq.double()
    variants = (("RNN", "rnn", 0.0), ("LSTM, forget bias 0", "lstm", 0.0),
                (f"LSTM, forget bias {forget_bias:g}", "lstm", forget_bias))
    norms = {}
    for gain in gains:
        for label, cell, bias in variants:
            torch.manual_seed(seed)
            model = RecallModel(cell, RecallConfig(forget_bias=bias)).double()
            scale_recurrent_weights(model, gain)
            norms[(label, gain)] = hidden_state_gradient_norms(model, x_seq, y_seq).numpy()
    return GradientNorms(length, forget_bias, variants, tuple(gains), norms)


@dataclass(frozen=True)
class RecallStudy:
    """RNN and LSTM trained on the recall task at several lengths, several seeds each."""

    config: RecallConfig
    lengths: tuple[int, ...]  # sequence lengths
    runs: tuple[RecallResult, ...]

    def accuracies(self, cell: str, length: int) -> list[float]:
        """Held-out accuracy of each seed's run (chance 1 / n_symbols)."""
        return [r.accuracy for r in self.runs if r.cell == cell and r.length == length]

    def mean_accuracy(self, cell: str, length: int) -> float:
        return float(np.mean(self.accuracies(cell, length)))

    @property
    def lstm_grad_norms(self) -> np.ndarray:
        """Every LSTM training step's gradient norm, before clipping."""
        return np.concatenate([r.grad_norms for r in self.runs if r.cell == "lstm"])

    @property
    def spike(self) -> float:
        """The largest LSTM gradient norm, in units of the clipping threshold."""
        return float(self.lstm_grad_norms.max() / self.config.clip_norm)

    @property
    def clipped_share(self) -> float:
        """Fraction of LSTM steps whose gradient norm exceeded the threshold (0..1)."""
        return float(np.mean(self.lstm_grad_norms > self.config.clip_norm))

    def report(self) -> str:
        lines = [f"{'length':>6} {'cell':>5}  held-out accuracy per seed "
                 f"(chance {1 / self.config.n_symbols:.2f})"]
        for length in self.lengths:
            for cell in ("rnn", "lstm"):
                accs = self.accuracies(cell, length)
                lines.append(f"{length:>6} {cell:>5}  " + "  ".join(f"{a:.3f}" for a in accs)
                             + f"   mean {np.mean(accs):.3f}")
        lines.append(f"LSTM training: largest gradient norm {self.lstm_grad_norms.max():.2f} "
                     f"({self.spike:.1f} x the clipping threshold); "
                     f"{100 * self.clipped_share:.1f} % of steps clipped")
        return "\n".join(lines)

    def glue_values(self) -> dict[str, Any]:
        short, long = min(self.lengths), max(self.lengths)
        return {"alg_recall_long": long, "alg_recall_rnn_long": self.mean_accuracy("rnn", long),
                "alg_recall_lstm_long": self.mean_accuracy("lstm", long),
                "alg_recall_short": short, "alg_recall_rnn_short": self.mean_accuracy("rnn", short),
                "alg_recall_lstm_short": self.mean_accuracy("lstm", short),
                "alg_lstm_spike": self.spike, "alg_lstm_clipped_pct": 100 * self.clipped_share}


def recall_study(config: RecallConfig, lengths: Sequence[int], n_seeds: int,
                 seed: int) -> RecallStudy:
    """:func:`train_recall` for each length, cell (RNN, then LSTM) and seed ``seed + s``,
    with a progress bar per (cell, length) on stderr."""
    if config.clip_norm is None:
        raise ValueError("recall_study reports clipping: give the config a clip_norm")
    runs = [train_recall(cell, length, config, seed=seed + s)
            for length in lengths for cell in ("rnn", "lstm")
            for s in progress(range(n_seeds), desc=f"{cell} T={length}")]
    return RecallStudy(config, tuple(lengths), tuple(runs))
