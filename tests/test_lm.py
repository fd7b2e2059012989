"""The language-model stack: corpus, tokenizer, GPT formulas, KV cache, resume, LoRA, DDP,
and the IsoFLOP fit."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from bmlib.data.text_corpus import (CorpusError, corpus_pin, load_corpus, parse_fortunes,
                                    split_documents)
from bmlib.data.tokenizer import train_bpe
from bmlib.models.gpt import GPT, GPTConfig, flops_per_token, generate, parameter_count
from bmlib.train.config import TrainingError
from bmlib.train.lm import LMTrainConfig, WindowBatches, train_lm

CORPUS_PRESENT = Path(corpus_pin()["folder"], "chinese").is_file()
needs_corpus = pytest.mark.skipif(not CORPUS_PRESENT, reason="fortunes-zh not installed "
                                  "(apt-get install fortunes-zh)")
TEXTS = ["床前明月光，疑是地上霜。\n举头望明月，低头思故乡。", "Debian 是一个自由的操作系统。",
         "emoji 🙂 and tabs\tand trailing spaces   ", "《静夜思》 李白 ７０１－７６２"]


def tiny(vocab: int = 300, **kw) -> GPTConfig:
    return GPTConfig(**{"vocab_size": vocab, "context": 32, "d_model": 32, "n_layers": 2,
                        "n_heads": 4, **kw})


# --- corpus -------------------------------------------------------------------------------

def test_parse_fortunes_strips_colour_codes_and_splits_on_percent_lines():
    raw = "\x1b[32m《题》\x1b[m\n第一首\n%\n第二首\n  缩进\n%\n\n%\n"
    assert parse_fortunes(raw) == ["《题》\n第一首", "第二首\n  缩进"]


def test_missing_corpus_says_how_to_install(tmp_path):
    with pytest.raises(CorpusError, match="apt-get install fortunes-zh"):
        load_corpus("chinese", folder=tmp_path)


def test_a_changed_file_is_refused(tmp_path):
    (tmp_path / "song100").write_text("不是钉住的文件\n%\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="not the pinned fortunes-zh 2.98 file"):
        load_corpus("song100", folder=tmp_path)
    with pytest.raises(CorpusError, match="unknown corpus file"):
        load_corpus("english")


def test_split_is_by_document_disjoint_and_complete():
    docs = [f"doc {i}" for i in range(100)]
    split = split_documents(docs, seed=3)
    parts = [set(split.train), set(split.validation), set(split.test)]
    assert sum(map(len, parts)) == 100 and set().union(*parts) == set(docs)
    assert len(split.validation) == len(split.test) == 5
    assert split == split_documents(docs, seed=3) and split != split_documents(docs, seed=4)


@needs_corpus
def test_pinned_corpus_loads_with_its_digest():
    corpus = load_corpus("song100")
    assert corpus.sha256 == corpus_pin()["files"]["song100"]["sha256"]
    assert len(corpus.documents) == 96 and "\x1b" not in "".join(corpus.documents)


# --- tokenizer ----------------------------------------------------------------------------

def test_byte_level_bpe_round_trips_every_character():
    tokenizer = train_bpe(TEXTS * 20, vocab_size=320)
    for text in TEXTS + ["没见过的字：龘靐齉 and ünïcödé"]:
        assert tokenizer.decode(tokenizer.encode(text)) == text
    stream = tokenizer.encode_documents(TEXTS)
    assert (stream == tokenizer.end_of_text).sum() == len(TEXTS)
    assert tokenizer.bytes_per_token(TEXTS) > 1.0  # merges compress


def test_tokenizer_rejects_a_vocabulary_without_room_for_merges():
    with pytest.raises(ValueError, match="at least 258"):
        train_bpe(TEXTS, vocab_size=256)


@needs_corpus
def test_corpus_tokenizer_round_trips_all_documents():
    corpus = load_corpus("tang300")
    tokenizer = train_bpe(corpus.documents, vocab_size=600)
    assert all(tokenizer.decode(tokenizer.encode(d)) == d for d in corpus.documents)


# --- model ---------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [tiny(), tiny(vocab=513, d_model=48, n_layers=3,
                                                 n_heads=6, context=20)])
def test_parameter_count_formula_matches_numel(config):
    model = GPT(config)
    unique = {id(p): p for p in model.parameters()}
    assert sum(p.numel() for p in unique.values()) == parameter_count(config)
    embedding = config.vocab_size * config.d_model + config.context * config.d_model
    assert parameter_count(config, embedding=False) == parameter_count(config) - embedding
    assert model.head.weight is model.tokens.weight  # tied


@pytest.mark.parametrize("training", [False, True])
def test_flops_formula_matches_pytorchs_counter(training):
    config = tiny()
    model = GPT(config)
    ids = torch.randint(0, config.vocab_size, (3, config.context))
    with sdpa_kernel(SDPBackend.MATH):  # the math kernel's matmuls are what the counter sees
        with FlopCounterMode(display=False) as counter:
            out = model(ids)
            if training:
                out.sum().backward()
    per_token = counter.get_total_flops() / ids.numel()
    assert per_token == flops_per_token(config, training=training)


def test_causal_attention_ignores_the_future():
    model = GPT(tiny()).eval()
    ids = torch.randint(0, 300, (1, 16))
    changed = ids.clone()
    changed[0, 10:] = (changed[0, 10:] + 1) % 300
    assert torch.allclose(model(ids)[0, :10], model(changed)[0, :10], atol=1e-6)


def test_kv_cache_generates_exactly_the_same_tokens():
    model = GPT(tiny()).double()
    prompt = torch.randint(0, 300, (3, 4), generator=torch.Generator().manual_seed(1))
    for temperature, top_k in ((0.0, None), (1.0, 20), (0.7, None)):
        cached = generate(model, prompt, 25, temperature=temperature, top_k=top_k, seed=5)
        plain = generate(model, prompt, 25, temperature=temperature, top_k=top_k, seed=5,
                         use_cache=False)
        assert torch.equal(cached, plain)
    # and the cached logits equal the full forward's at every position (float64)
    ids = torch.randint(0, 300, (2, 12))
    full = model(ids)
    logits, cache = model(ids[:, :7], return_cache=True)
    rest, _ = model(ids[:, 7:], cache=cache, return_cache=True)
    assert torch.allclose(torch.cat([logits, rest], 1), full, atol=1e-12)


def test_sampling_is_seeded_and_top_k_restricts():
    model = GPT(tiny())
    prompt = torch.zeros(1, 1, dtype=torch.long)
    assert torch.equal(generate(model, prompt, 10, seed=2), generate(model, prompt, 10, seed=2))
    logits = model(prompt)[0, -1]
    allowed = set(torch.topk(logits, 3).indices.tolist())
    sampled = generate(model, prompt, 20, top_k=3, seed=0, use_cache=False)
    assert int(sampled[0, 1]) in allowed


def test_bad_generation_requests_are_refused():
    model = GPT(tiny())
    with pytest.raises(ValueError, match="exceed the context"):
        generate(model, torch.zeros(1, 30, dtype=torch.long), 5)
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(vocab_size=10, d_model=30, n_heads=4)


# --- training ------------------------------------------------------------------------------

def _stream(n: int = 4000, vocab: int = 300) -> torch.Tensor:
    rng = np.random.default_rng(0)
    pattern = rng.integers(0, vocab, 50)
    return torch.from_numpy(np.tile(pattern, n // 50 + 1)[:n]).long()


def test_training_learns_a_repeating_stream():
    stream = _stream()
    model = GPT(tiny())
    result = train_lm(model, stream, stream, LMTrainConfig(steps=60, batch_size=8, lr=3e-3,
                                                           eval_every=30, eval_windows=8),
                      context=32, device=torch.device("cpu"))
    assert result.history[0].val_loss > result.final_val_loss
    assert result.final_val_loss < 0.5 * math.log(300)
    assert result.tokens_trained == 60 * 8 * 32


def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    stream = _stream()
    config = LMTrainConfig(steps=30, batch_size=4, eval_every=10, eval_windows=4)
    torch.manual_seed(0)
    reference = GPT(tiny(dropout=0.1))
    start = {k: v.clone() for k, v in reference.state_dict().items()}
    train_lm(reference, stream, stream, config, context=32, device=torch.device("cpu"))

    class Stop(Exception):
        pass

    def stop_after_two(record):
        if record.epoch == 2:
            raise Stop

    path = tmp_path / "lm.pt"
    first = GPT(tiny(dropout=0.1))
    first.load_state_dict(start)
    with pytest.raises(Stop):
        train_lm(first, stream, stream, config, context=32, device=torch.device("cpu"),
                 checkpoint_path=path, on_block_end=stop_after_two)
    second = GPT(tiny(dropout=0.1))
    second.load_state_dict(start)
    resumed = train_lm(second, stream, stream, config, context=32,
                       device=torch.device("cpu"), checkpoint_path=path)
    assert resumed.resumed_from_step == 20
    for key, value in reference.state_dict().items():
        assert torch.equal(value, second.state_dict()[key]), key


def test_bad_training_configs_are_refused():
    with pytest.raises(TrainingError, match="multiple of eval_every"):
        LMTrainConfig(steps=25, eval_every=10)
    with pytest.raises(TrainingError, match="too few"):
        WindowBatches(torch.arange(10), context=32, batch_size=2, steps_per_epoch=1)
    with pytest.raises(TrainingError, match="not divisible"):
        WindowBatches(torch.arange(100), context=8, batch_size=3, steps_per_epoch=1,
                      world_size=2)


# --- LoRA ----------------------------------------------------------------------------------

def test_lora_equals_the_dense_update_and_trains_only_the_adapters():
    from bmlib.studies.language_model import LORA_TARGETS, lora_model, trainable_share

    base = GPT(tiny()).double()
    adapted = lora_model(base, rank=4, alpha=8.0, seed=0).double()
    ids = torch.randint(0, 300, (2, 16))
    assert torch.allclose(adapted(ids), base(ids))  # B starts at zero
    with torch.no_grad():  # give B values, then merge by hand: W + (alpha / r) B A
        for name, module in adapted.named_modules():
            if hasattr(module, "lora_B") and "default" in module.lora_B:
                module.lora_B["default"].weight.normal_(0, 0.1)
    dense = GPT(tiny()).double()
    dense.load_state_dict(base.state_dict())
    with torch.no_grad():
        for name, module in adapted.named_modules():
            if hasattr(module, "lora_B") and "default" in module.lora_B:
                delta = module.lora_B["default"].weight @ module.lora_A["default"].weight
                target = dense.get_submodule(name.split("base_model.model.", 1)[1])
                target.weight += (8.0 / 4) * delta
    assert torch.allclose(adapted(ids), dense(ids), atol=1e-10)
    trained, total = trainable_share(adapted)
    d, layers = 32, 2
    per_block = 4 * (d + 3 * d) + 4 * (d + d) + 4 * (d + 4 * d) + 4 * (4 * d + d)
    assert trained == layers * per_block  # r (in + out) per adapted layer
    assert all(("lora_" in n) == p.requires_grad for n, p in adapted.named_parameters())
    assert set(LORA_TARGETS) == {"qkv", "proj", "fc", "out"}


# --- DDP -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_two_processes_take_the_steps_of_one_at_the_doubled_batch():
    from bmlib.train.lm_distributed import run_lm_spawned, train_single

    stream = _stream()
    config = tiny()
    train_config = LMTrainConfig(steps=6, batch_size=8, eval_every=6, eval_windows=4)
    single = train_single(config, train_config, stream, stream, dtype=torch.float64)
    double = run_lm_spawned(config, train_config, stream, stream, world_size=2,
                            dtype=torch.float64)
    assert double.world_size == 2 and double.backend == "gloo"
    assert torch.allclose(single.final_parameters, double.final_parameters, atol=1e-9)
    moved = (single.final_parameters - train_single(
        config, replace(train_config, steps=6, lr=1e-9), stream, stream,
        dtype=torch.float64).final_parameters).abs().max()
    assert moved > 1e-4  # the runs did move the weights


# --- IsoFLOP fit ---------------------------------------------------------------------------

def _synthetic_sweep(seeds: int = 2) -> pd.DataFrame:
    """Losses from a Chinchilla-form law L = E + A/N^a + B/D^b with D = C/(6N)."""
    rng = np.random.default_rng(0)
    rows = []
    for budget in (1e12, 1e13, 1e14):
        n_star = math.sqrt(budget / 120)  # where D = 20 N when a = b
        for n in n_star * np.geomspace(0.25, 4, 5):
            for seed in range(seeds):
                d = budget / (6 * n)
                loss = 1.0 + 400 / n ** 0.5 + 400 / (d / 20) ** 0.5 + rng.normal(0, 1e-4)
                rows.append({"budget": budget, "parameters": n, "seed": seed,
                             "val_loss": loss})
    return pd.DataFrame(rows)


def test_isoflop_fit_recovers_a_known_law():
    from bmlib.studies.lm_scaling import fit_isoflop

    fit = fit_isoflop(_synthetic_sweep(), draws=50)
    assert fit.alpha == pytest.approx(0.5, abs=0.02)
    assert fit.beta == pytest.approx(0.5, abs=0.02)
    assert fit.tokens_per_param == pytest.approx(20, rel=0.1)
    lo, hi = fit.tokens_per_param_interval
    assert lo <= fit.tokens_per_param <= hi
    assert not fit.edge_budgets


def test_isoflop_design_and_bad_input():
    from bmlib.models.gpt import flops_per_token as fpt
    from bmlib.studies.lm_scaling import (ScalingError, fit_isoflop, isoflop_grid,
                                          shape_config, steps_for_budget)

    grid = isoflop_grid([1e9, 3e9], [0, 1], sizes=4, seeds=[0, 1])
    assert len(grid) == 16 and {p["SHAPE"] for p in grid if p["BUDGET"] == 3e9} == {1, 2, 3, 4}
    config = shape_config(2, 512, 64)
    steps = steps_for_budget(config, 1e10, 16 * 64)
    assert abs(steps * 16 * 64 * fpt(config) / 1e10 - 1) < 0.5 / steps + 1e-9
    with pytest.raises(ScalingError, match="at least 3 sizes"):
        isoflop_grid([1e9], [0], sizes=2, seeds=[0])
    with pytest.raises(ScalingError, match="run past"):
        isoflop_grid([1e9], [5], sizes=4, seeds=[0])
    with pytest.raises(ScalingError, match="lack columns"):
        fit_isoflop(pd.DataFrame({"budget": [1.0]}))
    with pytest.raises(ScalingError, match="less than one step"):
        steps_for_budget(config, 1.0, 1024)


def test_pin_file_names_the_licence_and_every_digest():
    pin = corpus_pin()
    assert pin["licence"].startswith("GPL-3.0+") and len(pin["deb_sha256"]) == 64
    assert all(len(f["sha256"]) == 64 for f in pin["files"].values())
    assert json.loads(json.dumps(pin)) == pin


def test_a_valley_without_a_bottom_is_flagged_and_uses_the_best_sampled_size():
    from bmlib.studies.lm_scaling import fit_isoflop

    rows = [{"budget": b, "parameters": n, "seed": 0, "val_loss": 5.0 - 0.1 * i + b * 0}
            for b in (1e9, 1e10) for i, n in enumerate((1e4, 2e4, 4e4))]  # still falling
    fit = fit_isoflop(pd.DataFrame(rows), draws=5)
    assert fit.edge_budgets == [1e9, 1e10]
    assert list(fit.optima.n_opt) == [4e4, 4e4] and not fit.optima.inside.any()
