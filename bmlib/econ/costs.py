"""Back-of-the-envelope economics of large models: growth rates, training compute and cost.

Pure functions with the unit in every name or docstring. The compute rule used throughout
is the standard estimate for a dense Transformer trained on ``D`` tokens with ``N``
parameters (Kaplan et al. 2020, §2.1; Hoffmann et al. 2022):

    C ≈ 6 · N · D   floating-point operations (FLOP).

Derivation. In the forward pass almost every parameter is a weight of a matrix multiply, and
each weight does one multiply and one add per token: ``2N`` FLOP per token. The backward pass
computes two products per weight matrix — the gradient with respect to the layer's input
(to pass on) and with respect to the weight (to update) — each as large as the forward
product: ``4N`` FLOP per token. Forward plus backward is ``6N`` per token, ``6ND`` in all.
What this leaves out (attention scores, ``≈ 12·n_layers·context·d_model`` FLOP per token;
layer norms, softmax, the optimizer update) is a few percent for the models in this book.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

SECONDS_PER_HOUR = 3600.0
FORWARD_FLOP_PER_PARAM_TOKEN = 2.0  # one multiply + one add per weight per token
BACKWARD_FLOP_PER_PARAM_TOKEN = 4.0  # input-gradient and weight-gradient products
TRAINING_FLOP_PER_PARAM_TOKEN = FORWARD_FLOP_PER_PARAM_TOKEN + BACKWARD_FLOP_PER_PARAM_TOKEN
CHINCHILLA_TOKENS_PER_PARAM = 20.0  # compute-optimal ratio D/N (Hoffmann et al. 2022)


class EconomicsError(ValueError):
    """An input to an economics function is out of its meaningful range."""


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 \
            or math.isinf(value):  # numbers.Real admits numpy scalars; NaN fails value > 0
        raise EconomicsError(f"{name}={value!r} must be a finite number > 0")
    return float(value)


def _fraction(name: str, value: float) -> float:
    value = _positive(name, value)
    if value > 1:
        raise EconomicsError(
            f"{name}={value!r} is a fraction of peak: give a number in (0, 1], e.g. 0.4 for 40%")
    return value


# --- growth -----------------------------------------------------------------------------

def cagr(start_value: float, end_value: float, years: float) -> float:
    """Compound annual growth rate (a fraction: 0.265 means 26.5 % a year).

    ``(end / start) ** (1 / years) - 1``; ``years`` is the number of compounding periods,
    e.g. 7 for 2021 -> 2028.
    """
    start, end = _positive("start_value", start_value), _positive("end_value", end_value)
    return (end / start) ** (1.0 / _positive("years", years)) - 1.0


def compound(start_value: float, rate: float, years: float) -> float:
    """Value after ``years`` of growth at annual ``rate`` (a fraction)."""
    if rate <= -1:
        raise EconomicsError(f"rate={rate!r} must be > -1 (a fraction, e.g. 0.288)")
    return _positive("start_value", start_value) * (1.0 + rate) ** years


def years_to_grow(start_value: float, end_value: float, rate: float) -> float:
    """How many years of growth at ``rate`` turn ``start_value`` into ``end_value``."""
    if rate <= 0:
        raise EconomicsError(f"rate={rate!r} must be > 0 to grow")
    ratio = _positive("end_value", end_value) / _positive("start_value", start_value)
    return math.log(ratio) / math.log1p(rate)


# --- compute ----------------------------------------------------------------------------

def training_flop(n_params: float, n_tokens: float,
                  flop_per_param_token: float = TRAINING_FLOP_PER_PARAM_TOKEN) -> float:
    """Training compute in FLOP: ``6 · N · D`` by default (see the module docstring)."""
    return (_positive("flop_per_param_token", flop_per_param_token)
            * _positive("n_params", n_params) * _positive("n_tokens", n_tokens))


def gpu_hours(total_flop: float, peak_flop_per_s: float, mfu: float) -> float:
    """Accelerator-hours to do ``total_flop`` at a fraction ``mfu`` of the peak rate.

    MFU (model FLOP utilisation, Chowdhery et al. 2022) is the model's useful FLOP per second
    divided by the hardware's peak; 0.35-0.55 is typical of large, well-tuned runs.
    """
    effective = _positive("peak_flop_per_s", peak_flop_per_s) * _fraction("mfu", mfu)
    return _positive("total_flop", total_flop) / effective / SECONDS_PER_HOUR


def implied_mfu(total_flop: float, gpu_hours_used: float, peak_flop_per_s: float) -> float:
    """The utilisation a published GPU-hour figure implies: useful FLOP / (hours · peak)."""
    capacity = (_positive("gpu_hours_used", gpu_hours_used) * SECONDS_PER_HOUR
                * _positive("peak_flop_per_s", peak_flop_per_s))
    return _positive("total_flop", total_flop) / capacity


def rental_cost_usd(gpu_hours_used: float, price_usd_per_gpu_hour: float) -> float:
    """Rental cost in US dollars: hours times the price per accelerator-hour."""
    return _positive("gpu_hours_used", gpu_hours_used) * _positive(
        "price_usd_per_gpu_hour", price_usd_per_gpu_hour)


def energy_kwh(gpu_hours_used: float, power_w: float, pue: float = 1.0) -> float:
    """Electricity in kWh: accelerator-hours x board power (W) x data-centre PUE / 1000.

    Using the board's maximum power gives an upper bound for the accelerators; PUE
    (power usage effectiveness, >= 1) adds cooling and facility overhead.
    """
    if pue < 1:
        raise EconomicsError(f"pue={pue!r} must be >= 1 (1.0 means no facility overhead)")
    return _positive("gpu_hours_used", gpu_hours_used) * _positive("power_w", power_w) * pue / 1000.0


@dataclass(frozen=True)
class Accelerator:
    """One accelerator as the cost model sees it."""

    name: str  # e.g. "H100 SXM"
    peak_flop_per_s: float  # dense peak for the training precision, FLOP/s (not TFLOP/s)
    power_w: float  # maximum board power, W


@dataclass(frozen=True)
class TrainingEstimate:
    """What one training run costs under stated assumptions."""

    n_params: float  # parameters N
    n_tokens: float  # training tokens D
    total_flop: float  # training compute, FLOP
    gpu_hours: float  # accelerator-hours at the assumed MFU
    cost_usd: float  # rental cost, US dollars
    energy_kwh: float  # accelerator electricity incl. PUE, kWh

    def wall_clock_days(self, n_gpus: int) -> float:
        """Days on ``n_gpus`` accelerators working in parallel (no failures or restarts)."""
        if n_gpus < 1:
            raise EconomicsError(f"n_gpus={n_gpus!r} must be >= 1")
        return self.gpu_hours / n_gpus / 24.0


def estimate_training(n_params: float, n_tokens: float, accelerator: Accelerator, mfu: float,
                      price_usd_per_gpu_hour: float, pue: float = 1.0) -> TrainingEstimate:
    """Compute, accelerator-hours, rental cost and energy of training one dense model."""
    flop = training_flop(n_params, n_tokens)
    hours = gpu_hours(flop, accelerator.peak_flop_per_s, mfu)
    return TrainingEstimate(
        n_params=float(n_params), n_tokens=float(n_tokens), total_flop=flop, gpu_hours=hours,
        cost_usd=rental_cost_usd(hours, price_usd_per_gpu_hour),
        energy_kwh=energy_kwh(hours, accelerator.power_w, pue),
    )


# --- compute-optimal scaling -------------------------------------------------------------

def chinchilla_optimal(total_flop: float,
                       tokens_per_param: float = CHINCHILLA_TOKENS_PER_PARAM) -> tuple[float, float]:
    """Compute-optimal (N_opt, D_opt) for a budget ``C`` under ``C = 6ND`` and ``D = r·N``.

    Substituting ``D = rN`` gives ``C = 6rN²``, so ``N_opt = sqrt(C / (6r))`` and
    ``D_opt = r · N_opt``; ``r ≈ 20`` tokens per parameter (Hoffmann et al. 2022).
    """
    c = _positive("total_flop", total_flop)
    r = _positive("tokens_per_param", tokens_per_param)
    n_opt = math.sqrt(c / (TRAINING_FLOP_PER_PARAM_TOKEN * r))
    return n_opt, r * n_opt


# --- parameter counts --------------------------------------------------------------------

@dataclass(frozen=True)
class TransformerShape:
    """The shape of a GPT/BERT-style Transformer (learned positions, LayerNorm, biases)."""

    vocab_size: int  # token embedding rows V
    d_model: int  # width of the residual stream d
    n_layers: int  # Transformer blocks L
    d_ff: int  # hidden width of each block's MLP (4d in GPT-2/3 and BERT)
    n_positions: int  # learned position embeddings (context length T)
    n_token_types: int = 0  # BERT's segment embeddings (2); 0 for GPT
    tied_output: bool = True  # output projection shares the token embedding (GPT-2/3, BERT)
    final_layer_norm: bool = True  # a LayerNorm after the last block (GPT-2/3); False for BERT
    embedding_layer_norm: bool = False  # BERT normalises the embeddings
    pooler: bool = False  # BERT's d x d pooler (with bias) on the first token


def transformer_param_count(shape: TransformerShape) -> int:
    """Trainable parameters of a Transformer with biases and LayerNorms (weight + bias).

    Per block: attention ``4d² + 4d`` (query, key, value and output projections with
    biases), MLP ``2·d·d_ff + d_ff + d``, two LayerNorms ``4d``. So for ``d_ff = 4d`` a block
    holds ``12d² + 13d`` and the model ``≈ 12·L·d²`` plus ``(V + T)·d`` embeddings.
    """
    for name in ("vocab_size", "d_model", "n_layers", "d_ff", "n_positions"):
        value = getattr(shape, name)
        if not isinstance(value, int) or value < 1:
            raise EconomicsError(f"TransformerShape.{name}={value!r} must be an int >= 1")
    d, d_ff = shape.d_model, shape.d_ff
    block = (4 * d * d + 4 * d) + (2 * d * d_ff + d_ff + d) + 4 * d
    embeddings = (shape.vocab_size + shape.n_positions + shape.n_token_types) * d
    total = shape.n_layers * block + embeddings
    if shape.embedding_layer_norm:
        total += 2 * d
    if shape.final_layer_norm:
        total += 2 * d
    if not shape.tied_output:
        total += shape.vocab_size * d
    if shape.pooler:
        total += d * d + d
    return total
