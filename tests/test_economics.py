import math

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from bmlib.econ.costs import (
    Accelerator,
    EconomicsError,
    TransformerShape,
    cagr,
    chinchilla_optimal,
    compound,
    energy_kwh,
    estimate_training,
    gpu_hours,
    implied_mfu,
    rental_cost_usd,
    training_flop,
    transformer_param_count,
    years_to_grow,
)


# --- small real PyTorch models whose numel() the formula must match ------------------------

class TinyGPT(nn.Module):
    """Decoder-only Transformer: token + learned position embeddings, pre-norm blocks with a
    causal mask, final LayerNorm, output head (tied to the token embedding or not)."""

    def __init__(self, shape: TransformerShape, n_heads: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(shape.vocab_size, shape.d_model)
        self.positions = nn.Embedding(shape.n_positions, shape.d_model)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(shape.d_model, n_heads, shape.d_ff, dropout=0.0,
                                       batch_first=True, norm_first=True)
            for _ in range(shape.n_layers))
        self.final_norm = nn.LayerNorm(shape.d_model)
        self.head = nn.Linear(shape.d_model, shape.vocab_size, bias=False)
        if shape.tied_output:
            self.head.weight = self.tokens.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        x = self.tokens(ids) + self.positions(torch.arange(length))
        mask = nn.Transformer.generate_square_subsequent_mask(length, dtype=x.dtype)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.head(self.final_norm(x))


class TinyBERT(nn.Module):
    """Encoder: token, position and segment embeddings with a LayerNorm, post-norm blocks,
    a pooler on the first token."""

    def __init__(self, shape: TransformerShape, n_heads: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(shape.vocab_size, shape.d_model)
        self.positions = nn.Embedding(shape.n_positions, shape.d_model)
        self.segments = nn.Embedding(shape.n_token_types, shape.d_model)
        self.embedding_norm = nn.LayerNorm(shape.d_model)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(shape.d_model, n_heads, shape.d_ff, batch_first=True)
            for _ in range(shape.n_layers))
        self.pooler = nn.Linear(shape.d_model, shape.d_model)


def numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # shared (tied) tensors count once


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("vocab,d,layers,d_ff,ctx,heads",
                         [(97, 32, 1, 128, 16, 4), (211, 48, 3, 96, 40, 6)])
def test_decoder_param_count_matches_numel(tied, vocab, d, layers, d_ff, ctx, heads):
    shape = TransformerShape(vocab, d, layers, d_ff, ctx, tied_output=tied)
    assert transformer_param_count(shape) == numel(TinyGPT(shape, heads))


def test_bert_style_param_count_matches_numel():
    shape = TransformerShape(101, 32, 2, 128, 24, n_token_types=2, final_layer_norm=False,
                             embedding_layer_norm=True, pooler=True)
    assert transformer_param_count(shape) == numel(TinyBERT(shape, 4))


def test_published_shapes():
    # GPT-3 175B, Brown et al. 2020 Table 2.1: 96 layers, d_model 12288, context 2048,
    # BPE vocabulary of 50257 tokens; Table D.1 uses N = 174.6e9 for this model.
    gpt3 = TransformerShape(50257, 12288, 96, 4 * 12288, 2048)
    assert transformer_param_count(gpt3) == pytest.approx(174.6e9, rel=1e-3)
    # BERT-base, Devlin et al. 2019 §3: L=12, H=768, "110M" parameters (WordPiece 30522).
    bert = TransformerShape(30522, 768, 12, 3072, 512, n_token_types=2,
                            final_layer_norm=False, embedding_layer_norm=True, pooler=True)
    assert transformer_param_count(bert) == pytest.approx(110e6, rel=0.01)


def test_bad_shape_is_a_clear_error():
    with pytest.raises(EconomicsError, match="d_model"):
        transformer_param_count(TransformerShape(10, 0, 1, 4, 4))


# --- compute --------------------------------------------------------------------------------

def test_six_n_d_matches_pytorch_flop_counter():
    """Forward + backward matmul FLOP per token of a real model = 6 x its matmul weights,
    plus at most the attention-score term 12·L·T·d that 6ND leaves out."""
    shape = TransformerShape(97, 64, 2, 256, 32, tied_output=True)
    torch.manual_seed(0)
    model = TinyGPT(shape, n_heads=4).double()
    ids = torch.randint(0, shape.vocab_size, (3, shape.n_positions))
    with FlopCounterMode(display=False) as counter:
        model(ids).sum().backward()
    per_token = counter.get_total_flops() / ids.numel()
    d, layers = shape.d_model, shape.n_layers
    matmul_weights = layers * (4 * d * d + 2 * d * shape.d_ff) + shape.vocab_size * d
    six_n = training_flop(matmul_weights, 1)
    assert six_n <= per_token <= (six_n + 12 * layers * shape.n_positions * d) * 1.001


def test_training_flop_gpt3():
    # 6 x 175e9 x 300e9 = 3.15e23 against the 3.14e23 of Brown et al. Table D.1
    assert training_flop(175e9, 300e9) == pytest.approx(3.15e23)
    assert training_flop(174.6e9, 300e9) == pytest.approx(3.14e23, rel=1e-3)


def test_gpu_hours_cost_energy_roundtrip():
    flop = 1e21
    hours = gpu_hours(flop, peak_flop_per_s=1e15, mfu=0.5)
    assert hours == pytest.approx(1e21 / 5e14 / 3600)
    assert implied_mfu(flop, hours, 1e15) == pytest.approx(0.5)
    assert rental_cost_usd(hours, 2.0) == pytest.approx(2 * hours)
    assert energy_kwh(hours, 700, pue=1.1) == pytest.approx(hours * 0.77)


def test_llama_65b_energy_reproduces_paper():
    # Touvron et al. 2023 Table 15: 1,022,362 A100-hours at 400 W, PUE 1.1 -> 449 MWh
    assert energy_kwh(1_022_362, 400, pue=1.1) / 1000 == pytest.approx(449, abs=1)


def test_estimate_training_is_consistent():
    gpu = Accelerator("test", peak_flop_per_s=1e15, power_w=500)
    est = estimate_training(1e9, 2e10, gpu, mfu=0.4, price_usd_per_gpu_hour=3.0, pue=1.2)
    assert est.total_flop == pytest.approx(1.2e20)
    assert est.gpu_hours == pytest.approx(1.2e20 / 4e14 / 3600)
    assert est.cost_usd == pytest.approx(3 * est.gpu_hours)
    assert est.energy_kwh == pytest.approx(est.gpu_hours * 0.6)
    assert est.wall_clock_days(10) == pytest.approx(est.gpu_hours / 240)
    # cost scales as 1/MFU
    half = estimate_training(1e9, 2e10, gpu, mfu=0.2, price_usd_per_gpu_hour=3.0)
    assert half.cost_usd == pytest.approx(2 * est.cost_usd)


@pytest.mark.parametrize("call", [
    lambda: gpu_hours(1e20, 1e15, 40),        # MFU given in percent
    lambda: gpu_hours(1e20, 1e15, 0),
    lambda: rental_cost_usd(10, -1),
    lambda: energy_kwh(10, 700, pue=0.9),
    lambda: training_flop(float("nan"), 1e9),
])
def test_bad_inputs_raise_clear_errors(call):
    with pytest.raises(EconomicsError):
        call()


def test_mfu_error_names_the_fix():
    with pytest.raises(EconomicsError, match="fraction of peak"):
        gpu_hours(1e20, 1e15, 40)


# --- growth ---------------------------------------------------------------------------------

def test_cagr_inverts_compound():
    rate = cagr(36.9, 190.8, 7)
    assert compound(36.9, rate, 7) == pytest.approx(190.8)
    assert years_to_grow(36.9, 190.8, rate) == pytest.approx(7)
    assert cagr(100, 121, 2) == pytest.approx(0.1)


def test_essay_market_figures():
    # 36.9 -> 190.8 B USD over 2021 -> 2028 is 26.5 % a year, not 28.8 %
    assert cagr(36.9, 190.8, 7) == pytest.approx(0.2646, abs=5e-4)
    assert compound(36.9, 0.288, 7) == pytest.approx(217.0, abs=0.5)


# --- compute-optimal split ------------------------------------------------------------------

def test_chinchilla_optimal_recovers_chinchilla():
    n_opt, d_opt = chinchilla_optimal(training_flop(70e9, 1.4e12))
    assert n_opt == pytest.approx(70e9) and d_opt == pytest.approx(1.4e12)
    n_opt, d_opt = chinchilla_optimal(1e24, tokens_per_param=10)
    assert training_flop(n_opt, d_opt) == pytest.approx(1e24)
    assert d_opt / n_opt == pytest.approx(10)
    assert math.isclose(n_opt, math.sqrt(1e24 / 60))
