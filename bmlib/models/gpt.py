"""A small decoder-only Transformer (GPT): the architecture of GPT-2/3 and LLaMA in miniature.

Pre-norm blocks ``x + Attn(LN(x))``, ``x + MLP(LN(x))``; causal self-attention through
``torch.nn.functional.scaled_dot_product_attention``; a GELU MLP four times the width;
learned absolute positions; the output head tied to the token embedding (one matrix).
:func:`parameter_count` and :func:`flops_per_token` are the closed-form counts the scaling
study uses (tested against ``numel()`` and against PyTorch's FLOP counter). Generation
keeps a key/value cache per layer, so each new token costs one position's work instead of
re-running the whole prefix; :func:`generate` gives the same tokens with and without it.
Model code only: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

KVCache = list[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT: vocabulary, context, width, depth, heads."""

    vocab_size: int
    context: int = 128  # longest sequence the positions cover
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context", "d_model", "n_layers", "n_heads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GPTConfig.{name}={value!r}: use a positive int")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by "
                             f"n_heads={self.n_heads}: pick a multiple")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout!r}: use 0 <= p < 1")


def parameter_count(config: GPTConfig, embedding: bool = True) -> int:
    """Trainable parameters of :class:`GPT` ``config``, in closed form.

    Per block: attention ``4 d^2 + 4 d`` (packed q/k/v and output, with biases), MLP
    ``8 d^2 + 5 d``, two LayerNorms ``4 d``: ``12 d^2 + 13 d``. Plus the final LayerNorm
    ``2 d``. With ``embedding`` also the token table ``V d`` (shared with the head) and the
    positions ``T d``; without it, the "non-embedding" count of Kaplan et al. (2020).
    """
    d = config.d_model
    body = config.n_layers * (12 * d * d + 13 * d) + 2 * d
    return body + (config.vocab_size * d + config.context * d if embedding else 0)


def flops_per_token(config: GPTConfig, context: int | None = None,
                    training: bool = True) -> float:
    """Matrix-multiply FLOPs per token at sequence length ``context`` (default: the config's).

    Forward: ``2`` FLOPs per weight of every linear layer (``24 L d^2``, plus the tied head
    ``2 V d``) and the attention scores and weighted sum, ``4 L T d`` at length ``T``,
    counted as PyTorch's FLOP counter counts them (full ``T x T`` products: the causal mask
    saves nothing in the kernel). Training is three times the forward pass
    (backward costs twice the forward): the ``6 N`` rule of Kaplan et al. with attention.
    Embedding look-ups, norms, activations and the softmax are not matrix multiplies and are
    left out, as in the papers.
    """
    t = config.context if context is None else context
    d, layers = config.d_model, config.n_layers
    forward = 2 * (12 * layers * d * d) + 2 * config.vocab_size * d + 4 * layers * t * d
    return float(3 * forward if training else forward)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with an optional key/value cache."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``x (B, L, d)`` -> ``(B, L, d)`` and this layer's keys and values ``(B, h, S, d/h)``.

        With ``cache`` (the keys and values of the ``S - L`` earlier positions) the ``L`` new
        queries attend to all ``S`` positions; a query may not attend to later ones.
        """
        batch, length, d_model = x.shape
        q, k, v = self.qkv(x).split(d_model, dim=-1)
        q, k, v = (t.view(batch, length, self.n_heads, -1).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        past = k.shape[2] - length
        drop = self.dropout if self.training else 0.0
        if past == 0:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        else:  # new query i sits at position past + i: it sees keys 0 .. past + i
            mask = torch.ones(length, k.shape[2], dtype=torch.bool, device=x.device)
            mask = mask.tril(diagonal=past)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        out = out.transpose(1, 2).reshape(batch, length, d_model)
        return self.proj(out), (k, v)


class Block(nn.Module):
    """Pre-norm Transformer block: ``x + Attn(LN(x))``, then ``x + MLP(LN(x))``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        d = config.d_model
        self.norm1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(config)
        self.norm2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.out = nn.Linear(4 * d, d)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        attended, kv = self.attn(self.norm1(x), cache)
        x = x + self.drop(attended)
        x = x + self.drop(self.out(F.gelu(self.fc(self.norm2(x)))))
        return x, kv


class GPT(nn.Module):
    """Decoder-only language model: token ids ``(B, L)`` -> next-token logits ``(B, L, V)``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.positions = nn.Embedding(config.context, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.head.weight = self.tokens.weight  # weight tying: one V x d matrix
        self.apply(self._init)
        for block in self.blocks:  # GPT-2: residual projections scaled by 1/sqrt(2 L)
            for layer in (block.attn.proj, block.out):
                nn.init.normal_(layer.weight, std=0.02 / (2 * config.n_layers) ** 0.5)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def forward(self, ids: torch.Tensor, cache: KVCache | None = None,
                return_cache: bool = False) -> torch.Tensor | tuple[torch.Tensor, KVCache]:
        """Logits for every position; with ``cache``, ``ids`` continue the cached prefix."""
        past = 0 if not cache else cache[0][0].shape[2]
        length = ids.shape[1]
        if past + length > self.config.context:
            raise ValueError(f"sequence of {past + length} tokens exceeds the model's context "
                             f"of {self.config.context}: crop the prompt or the generation")
        where = torch.arange(past, past + length, device=ids.device)
        x = self.drop(self.tokens(ids) + self.positions(where))
        new_cache: KVCache = []
        for index, block in enumerate(self.blocks):
            x, kv = block(x, cache[index] if cache else None)
            new_cache.append(kv)
        logits = self.head(self.norm(x))
        return (logits, new_cache) if return_cache else logits


def sample_next(logits: torch.Tensor, temperature: float, top_k: int | None,
                generator: torch.Generator | None) -> torch.Tensor:
    """One token per row from last-position ``logits (B, V)``: greedy at temperature 0,
    else softmax(logits / temperature) over the ``top_k`` largest (all when None)."""
    if temperature < 0:
        raise ValueError(f"temperature={temperature}: use 0 (greedy) or more")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    scaled = logits.float() / temperature
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k={top_k}: use a positive int or None")
        kth = torch.topk(scaled, min(top_k, scaled.shape[-1]), dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    return torch.multinomial(torch.softmax(scaled, dim=-1), 1, generator=generator)


@torch.no_grad()
def generate(model: GPT, prompt: torch.Tensor, new_tokens: int, *, temperature: float = 1.0,
             top_k: int | None = None, seed: int | None = 0, use_cache: bool = True
             ) -> torch.Tensor:
    """``prompt (B, P)`` followed by ``new_tokens`` sampled tokens, ``(B, P + new_tokens)``.

    The sampling generator is seeded with ``seed``, so a call is reproducible. With
    ``use_cache`` each step feeds only the newest token and the cached keys and values;
    without it each step re-runs the whole sequence. Both give the same tokens (same
    logits up to rounding; exactly the same in float64).
    """
    if prompt.ndim != 2 or prompt.shape[1] < 1:
        raise ValueError(f"prompt of shape {tuple(prompt.shape)}: give (batch, >= 1 token)")
    if prompt.shape[1] + new_tokens > model.config.context:
        raise ValueError(f"{prompt.shape[1]} prompt + {new_tokens} new tokens exceed the "
                         f"context of {model.config.context}")
    was_training = model.training
    model.eval()
    generator = None
    if seed is not None:
        generator = torch.Generator(device=prompt.device).manual_seed(seed)
    ids, cache = prompt, None
    step_input = prompt
    for _ in range(new_tokens):
        if use_cache:
            logits, cache = model(step_input, cache=cache, return_cache=True)
        else:
            logits = model(ids)
        token = sample_next(logits[:, -1], temperature, top_k, generator)
        ids = torch.cat([ids, token], dim=1)
        step_input = token
    model.train(was_training)
    return ids
