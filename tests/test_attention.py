"""Attention from its formula equals PyTorch's, in float64; the block's cost formulas hold."""

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from bmlib.models.attention import (
    MultiHeadSelfAttention, ReversalConfig, TransformerBlock, block_matmul_flops,
    block_parameter_count, scaled_dot_product_attention,
)
from bmlib.studies.sequence_tasks import train_reversal

TOL = 1e-12


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _qkv(seed=0, batch=2, heads=3, length=5, source=5, dim=4):
    g = torch.Generator().manual_seed(seed)
    shape = lambda n: (batch, heads, n, dim)  # noqa: E731
    return (torch.randn(shape(length), generator=g, dtype=torch.float64),
            torch.randn(shape(source), generator=g, dtype=torch.float64),
            torch.randn(shape(source), generator=g, dtype=torch.float64))


def test_plain_and_causal_equal_torch():
    q, k, v = _qkv()
    for causal in (False, True):
        out, weights = scaled_dot_product_attention(q, k, v, is_causal=causal)
        ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(out, ref, rtol=0, atol=TOL)
        torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]))
    # causal: no weight on future keys
    assert torch.all(weights.triu(diagonal=1) == 0)


def test_boolean_and_additive_masks_equal_torch():
    q, k, v = _qkv(seed=1, length=4, source=6)
    g = torch.Generator().manual_seed(5)
    bool_mask = torch.rand(4, 6, generator=g) > 0.3
    bool_mask[:, 0] = True  # every query keeps at least one key
    float_mask = torch.randn(2, 1, 4, 6, generator=g, dtype=torch.float64)
    for mask in (bool_mask, float_mask):
        out, _ = scaled_dot_product_attention(q, k, v, attn_mask=mask)
        ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        torch.testing.assert_close(out, ref, rtol=0, atol=TOL)


def test_gradients_equal_torch():
    q, k, v = (t.requires_grad_(True) for t in _qkv(seed=2))
    out, _ = scaled_dot_product_attention(q, k, v, is_causal=True)
    ours = torch.autograd.grad(out.square().sum(), (q, k, v))
    theirs = torch.autograd.grad(
        F.scaled_dot_product_attention(q, k, v, is_causal=True).square().sum(), (q, k, v))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)


def test_gradcheck_finite_differences():
    q, k, v = (t[:1, :1].clone().requires_grad_(True) for t in _qkv(seed=3))
    assert torch.autograd.gradcheck(
        lambda a, b, c: scaled_dot_product_attention(a, b, c, is_causal=True)[0], (q, k, v))


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_equals_torch_multihead_attention(causal):
    torch.manual_seed(0)
    d_model, heads, length = 12, 3, 7
    ours = MultiHeadSelfAttention(d_model, heads).double()
    ref = torch.nn.MultiheadAttention(d_model, heads, batch_first=True).double()
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.in_proj.weight)
        ref.in_proj_bias.copy_(ours.in_proj.bias)
        ref.out_proj.weight.copy_(ours.out_proj.weight)
        ref.out_proj.bias.copy_(ours.out_proj.bias)
    x = torch.randn(2, length, d_model, dtype=torch.float64)
    mask = torch.ones(length, length, dtype=torch.bool).triu(1) if causal else None
    out, weights = ours(x, causal=causal)
    ref_out, ref_weights = ref(x, x, x, attn_mask=mask, average_attn_weights=False)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=TOL)
    torch.testing.assert_close(weights, ref_weights, rtol=0, atol=TOL)


def test_block_cost_formulas():
    d_model, length = 16, 10
    block = TransformerBlock(d_model, 2)
    assert block_parameter_count(d_model) == sum(p.numel() for p in block.parameters())
    counter = FlopCounterMode(display=False)
    with counter:
        block(torch.randn(1, length, d_model))
    assert counter.get_total_flops() == block_matmul_flops(d_model, length)


def test_bad_input_is_named():
    q, k, v = _qkv()
    with pytest.raises(ValueError, match="key dim"):
        scaled_dot_product_attention(q, k[..., :2], v)
    with pytest.raises(ValueError, match="not both"):
        scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(5, 5, dtype=torch.bool),
                                     is_causal=True)
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadSelfAttention(10, 3)


@pytest.mark.slow
def test_tiny_transformer_learns_reversal():
    result = train_reversal(ReversalConfig(length=6, steps=150, batch=32, eval_sequences=200),
                            seed=0)
    assert result.losses[-1] < 0.2 * result.losses[0]
    assert result.token_accuracy > 0.9
