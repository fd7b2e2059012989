"""Scaled dot-product attention from its formula, a pre-norm Transformer block, and a toy task.

``softmax(Q K^T / sqrt(d_k) + mask) V`` (Vaswani et al., 2017) written out in PyTorch tensor
operations, equal to ``torch.nn.functional.scaled_dot_product_attention``; multi-head
self-attention built on it, equal to ``torch.nn.MultiheadAttention`` with the same weights;
a pre-norm block ``x + MHA(LN(x))``, ``x + MLP(LN(x))``; and a tiny model that learns to
reverse a sequence of tokens. Model code does no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
    attn_mask: torch.Tensor | None = None, is_causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output and weights for ``q (..., L, d_k)``, ``k (..., S, d_k)``, ``v (..., S, d_v)``.

    ``attn_mask``: boolean (True = may attend, as in PyTorch) or additive float, broadcastable
    to ``(..., L, S)``. ``is_causal``: query i attends to keys 0..i only. Returns
    ``(output (..., L, d_v), weights (..., L, S))``; each row of weights sums to 1.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"query dim {q.shape[-1]} != key dim {k.shape[-1]}: they must match")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{k.shape[-2]} keys but {v.shape[-2]} values: they must match")
    if is_causal and attn_mask is not None:
        raise ValueError("give either attn_mask or is_causal=True, not both (as PyTorch)")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if is_causal:
        length, source = q.shape[-2], k.shape[-2]
        attn_mask = torch.ones(length, source, dtype=torch.bool, device=q.device).tril()
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


class MultiHeadSelfAttention(nn.Module):
    """Multi-head self-attention on :func:`scaled_dot_product_attention`.

    Parameter layout matches ``nn.MultiheadAttention`` (one packed input projection
    ``in_proj`` of shape ``(3*d_model, d_model)`` and ``out_proj``), so weights can be copied.
    """

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, causal: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, L, d_model)`` -> output ``(B, L, d_model)`` and weights ``(B, heads, L, L)``."""
        batch, length, d_model = x.shape
        q, k, v = self.in_proj(x).chunk(3, dim=-1)
        # (B, L, d) -> (B, heads, L, d/heads): each head attends in its own subspace.
        q, k, v = (t.reshape(batch, length, self.n_heads, -1).transpose(1, 2) for t in (q, k, v))
        out, weights = scaled_dot_product_attention(q, k, v, is_causal=causal)
        out = out.transpose(1, 2).reshape(batch, length, d_model)
        return self.out_proj(out), weights


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + MHA(LN(x))`` then ``x + MLP(LN(x))`` with a GELU MLP."""

    def __init__(self, d_model: int, n_heads: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = MultiHeadSelfAttention(d_model, n_heads)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, mlp_ratio * d_model), nn.GELU(),
                                 nn.Linear(mlp_ratio * d_model, d_model))

    def forward(self, x: torch.Tensor, causal: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        attended, weights = self.attn(self.norm1(x), causal=causal)
        x = x + attended
        return x + self.mlp(self.norm2(x)), weights


def block_parameter_count(d_model: int, mlp_ratio: int = 4) -> int:
    """Parameters of one :class:`TransformerBlock` (two LayerNorms, attention, MLP)."""
    norms = 2 * 2 * d_model
    attention = 4 * d_model * d_model + 4 * d_model
    mlp = 2 * mlp_ratio * d_model * d_model + mlp_ratio * d_model + d_model
    return norms + attention + mlp


def block_matmul_flops(d_model: int, seq_len: int, mlp_ratio: int = 4) -> int:
    """Floating-point operations (2 per multiply-add) of the block's matrix products for one
    sequence: projections and MLP grow as ``L d^2``, the attention scores as ``L^2 d``."""
    projections = 2 * seq_len * d_model * (4 * d_model)
    mlp = 2 * seq_len * d_model * (2 * mlp_ratio * d_model)
    attention = 2 * 2 * seq_len * seq_len * d_model  # Q K^T and weights @ V
    return projections + mlp + attention


@dataclass(frozen=True)
class ReversalConfig:
    """The toy task (reverse a random token sequence) and the model that learns it."""

    vocab: int = 10  # distinct tokens
    length: int = 8  # tokens per sequence
    d_model: int = 32  # embedding width
    n_heads: int = 2  # attention heads
    n_blocks: int = 1  # Transformer blocks
    steps: int = 400  # Adam steps
    batch: int = 64  # sequences per step (fresh random data every step)
    lr: float = 3e-3  # Adam learning rate
    eval_sequences: int = 1000  # held-out sequences for the final accuracy


class TinyTransformer(nn.Module):
    """Token + learned position embeddings, pre-norm blocks, final LayerNorm, linear head."""

    def __init__(self, config: ReversalConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.vocab, config.d_model)
        self.position = nn.Parameter(torch.randn(config.length, config.d_model) * 0.1)
        self.blocks = nn.ModuleList(TransformerBlock(config.d_model, config.n_heads)
                                    for _ in range(config.n_blocks))
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``tokens (B, L)`` -> logits ``(B, L, vocab)`` and each block's attention weights."""
        x = self.embed(tokens) + self.position[: tokens.shape[1]]
        maps = []
        for block in self.blocks:
            x, weights = block(x)
            maps.append(weights)
        return self.head(self.norm(x)), maps
