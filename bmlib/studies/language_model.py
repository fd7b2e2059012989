"""The language-model chapter's experiments: corpus, tokenizer, pre-training, sampling,
inference speed, int8, fine-tuning (LoRA against full), as functions returning values.

Corpus: Debian ``fortunes-zh`` (:mod:`bmlib.data.text_corpus`); pre-training on its modern
Chinese file, fine-tuning on its Tang and Song poems. Everything is seeded; the tokenizer
and the token streams are cached by corpus digest, vocabulary size and seed.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from bmlib.core.files import atomic_write
from bmlib.core.paths import cache_dir
from bmlib.data.text_corpus import Corpus, DocumentSplit, load_corpus, split_documents
from bmlib.data.tokenizer import BPETokenizer, train_bpe
from bmlib.models.gpt import GPT, GPTConfig, flops_per_token, generate, parameter_count
from bmlib.train.lm import (LMTrainConfig, LMTrainResult, evaluate_lm, evaluation_windows,
                            token_tensor, train_lm)


@dataclass
class TextData:
    """A corpus split by document, its tokenizer, and the three token streams."""

    corpus: Corpus
    split: DocumentSplit
    tokenizer: BPETokenizer
    train: torch.Tensor
    validation: torch.Tensor
    test: torch.Tensor
    seed: int

    def summary(self) -> dict[str, float | int | str]:
        return {
            "package": self.corpus.package, "file": self.corpus.name,
            "documents": len(self.corpus.documents), "characters": self.corpus.characters,
            "utf8_bytes": self.corpus.utf8_bytes,
            "distinct_characters": len(set("".join(self.corpus.documents))),
            "train_documents": len(self.split.train),
            "validation_documents": len(self.split.validation),
            "test_documents": len(self.split.test),
            "vocab_size": self.tokenizer.vocab_size, "train_tokens": int(self.train.numel()),
            "validation_tokens": int(self.validation.numel()),
            "test_tokens": int(self.test.numel()),
            "bytes_per_token_validation": self.tokenizer.bytes_per_token(self.split.validation),
        }


def _tokenizer_for(corpus: Corpus, split: DocumentSplit, vocab_size: int, seed: int,
                   cache: Path | None) -> BPETokenizer:
    if cache is None:
        return train_bpe(split.train, vocab_size)
    path = cache / f"bpe-{corpus.name}-{corpus.sha256[:12]}-v{vocab_size}-s{seed}.json"
    if path.exists():
        return BPETokenizer.load(path)
    tokenizer = train_bpe(split.train, vocab_size)
    tokenizer.save(path)
    return tokenizer


def combined_corpus(names: Sequence[str]) -> Corpus:
    """The pinned files ``names`` read as one corpus (their documents in order)."""
    parts = [load_corpus(n) for n in names]
    if len(parts) == 1:
        return parts[0]
    digest = hashlib.sha256("".join(p.sha256 for p in parts).encode()).hexdigest()
    return Corpus("+".join(names), tuple(d for p in parts for d in p.documents),
                  ";".join(p.path for p in parts), digest, parts[0].package, parts[0].licence)


def prepare_text(name: str | Sequence[str] = "chinese", vocab_size: int = 4096, seed: int = 0,
                 tokenizer: BPETokenizer | None = None, use_cache: bool = True,
                 validation: float = 0.05, test: float = 0.05) -> TextData:
    """Load ``name`` (one pinned file or several), split it by document with ``seed``,
    train (or reuse) a byte-level BPE on the training documents only - or encode with the
    given ``tokenizer`` - and encode the three splits."""
    corpus = combined_corpus([name] if isinstance(name, str) else list(name))
    split = split_documents(corpus.documents, seed, validation, test)
    cache = cache_dir() / "lm" if use_cache else None
    tok = tokenizer or _tokenizer_for(corpus, split, vocab_size, seed, cache)
    streams = []
    for part, docs in (("train", split.train), ("validation", split.validation),
                       ("test", split.test)):
        if cache is not None:
            key = hashlib.sha256(tok.backend.to_str().encode() + corpus.sha256.encode()
                                 + f"{seed}{validation}{test}{part}".encode()).hexdigest()[:16]
            path = cache / f"tokens-{corpus.name}-{key}.npy"
            if path.exists():
                streams.append(token_tensor(np.load(path)))
                continue
            stream = tok.encode_documents(docs)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path, "wb") as handle:  # parallel sweep runs share the cache
                np.save(handle, stream)
        else:
            stream = tok.encode_documents(docs)
        streams.append(token_tensor(stream))
    return TextData(corpus, split, tok, *streams, seed)


def tokenizer_report(data: TextData, others: dict[str, Sequence[str]]) -> list[dict]:
    """Bytes per token of the tokenizer on its validation documents and on ``others``, and
    whether every document decodes back to itself."""
    rows = []
    for label, docs in {"validation (same domain)": data.split.validation, **others}.items():
        exact = all(data.tokenizer.decode(data.tokenizer.encode(d)) == d for d in docs)
        rows.append({"text": label, "documents": len(docs),
                     "bytes_per_token": round(data.tokenizer.bytes_per_token(docs), 3),
                     "round_trip_exact": exact})
    return rows


def build_gpt(config: GPTConfig, seed: int, device: torch.device) -> GPT:
    """A freshly initialised GPT; ``seed`` alone fixes its weights."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = GPT(config)
    torch.random.set_rng_state(state)
    return model.to(device)


@dataclass
class PretrainResult:
    """The chapter's main model after pre-training."""

    model: GPT
    run: LMTrainResult
    config: GPTConfig
    train_config: LMTrainConfig
    parameters: int
    non_embedding_parameters: int
    test_loss: float  # nats per token, measured once, on the test split
    peak_flops: float  # measured matmul peak of this machine
    mfu: float  # model FLOP utilisation of training, at the median block's speed

    @property
    def median_block_minutes(self) -> float:
        """The run's length at its median block's speed: what it takes on a quiet machine
        when some blocks were slowed by other work on the same cores."""
        import statistics

        seconds = statistics.median(r.seconds for r in self.run.history)
        return seconds * len(self.run.history) / 60

    @property
    def median_tokens_per_second(self) -> float:
        """Training tokens per second of the median block (the quiet-machine speed)."""
        import statistics

        tokens_per_block = self.run.tokens_trained / len(self.run.history)
        return tokens_per_block / statistics.median(r.seconds for r in self.run.history)

    def glue_values(self) -> dict[str, float | int]:
        return {"lm_train_minutes_median": round(self.median_block_minutes, 1),
                "lm_tokens_per_second_median": round(self.median_tokens_per_second),
                "lm_slowest_block_s": round(max(r.seconds for r in self.run.history)),
                "lm_fastest_block_s": round(min(r.seconds for r in self.run.history)),
                "lm_parameters": self.parameters,
                "lm_non_embedding_parameters": self.non_embedding_parameters,
                "lm_val_loss": round(self.run.final_val_loss, 3),
                "lm_test_loss": round(self.test_loss, 3),
                "lm_train_minutes": round(self.run.train_seconds / 60, 1),
                "lm_tokens_per_second": round(self.run.tokens_per_second),
                "lm_tokens_trained": self.run.tokens_trained,
                "lm_mfu_percent": round(100 * self.mfu, 1),
                "lm_peak_gflops": round(self.peak_flops / 1e9, 1)}


def checkpoint_path(config: GPTConfig, train_config: LMTrainConfig, data: TextData) -> Path:
    """``<cache>/lm/gpt-<hash>.pt``: one file per model, run and token stream."""
    key = hashlib.sha256(repr((asdict(config), asdict(train_config), data.corpus.sha256,
                               data.tokenizer.vocab_size, data.seed,
                               int(data.train.numel()))).encode()).hexdigest()[:12]
    return cache_dir() / "lm" / f"gpt-{key}.pt"


def pretrain(data: TextData, config: GPTConfig, train_config: LMTrainConfig, *,
             device: torch.device, precision: torch.dtype | None, peak_flops: float,
             checkpoint: Path | None, show_progress: bool = True) -> PretrainResult:
    """Train the main model (resuming ``checkpoint`` if it holds this run), then measure its
    test loss once."""
    model = build_gpt(config, train_config.seed, device)
    run = train_lm(model, data.train, data.validation, train_config, context=config.context,
                   device=device, precision=precision, checkpoint_path=checkpoint,
                   show_progress=show_progress,
                   identity={"lm": asdict(train_config), "model": asdict(config),
                             "tokens": int(data.train.numel())})
    # the test split once over: evenly spaced windows, as many as fit side by side
    windows = evaluation_windows(data.test.to(device), config.context,
                                 max(1, data.test.numel() // config.context))
    test_loss = evaluate_lm(model, windows, precision=precision)
    result = PretrainResult(model, run, config, train_config, parameter_count(config),
                            parameter_count(config, embedding=False), test_loss, peak_flops,
                            math.nan)
    # MFU at the median block's speed: blocks slowed by other work would understate it
    result.mfu = flops_per_token(config) * result.median_tokens_per_second / peak_flops
    return result


def samples(model: GPT, tokenizer: BPETokenizer, prompts: Sequence[str], new_tokens: int,
            temperature: float, top_k: int | None, seed: int) -> list[dict[str, str]]:
    """One seeded continuation per prompt (the empty prompt starts at end-of-text)."""
    device = next(model.parameters()).device
    rows = []
    for index, prompt in enumerate(prompts):
        ids = [tokenizer.end_of_text] + tokenizer.encode(prompt)
        out = generate(model, torch.tensor([ids], device=device), new_tokens,
                       temperature=temperature, top_k=top_k, seed=seed + index)
        text = tokenizer.decode(out[0, 1:].tolist()).split("<|endoftext|>")[0]
        rows.append({"prompt": prompt or "(none)", "sample": text})
    return rows


def _time_generation(model: nn.Module, prompt: torch.Tensor, new_tokens: int,
                     use_cache: bool, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        generate(model, prompt, new_tokens, temperature=0.0, use_cache=use_cache)
        best = min(best, time.perf_counter() - started)
    return best


def inference_speed(model: GPT, prompt_tokens: int, new_tokens: int,
                    batch_sizes: Sequence[int], repeats: int = 2, seed: int = 0
                    ) -> list[dict[str, float | int | str]]:
    """Generated tokens per second and milliseconds per step, with and without the KV
    cache, at each batch size (greedy decoding, best of ``repeats``)."""
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for batch in batch_sizes:
        prompt = torch.randint(0, model.config.vocab_size, (batch, prompt_tokens),
                               generator=generator).to(device)
        for use_cache in (False, True):
            seconds = _time_generation(model, prompt, new_tokens, use_cache, repeats)
            rows.append({"batch": batch, "kv_cache": use_cache,
                         "tokens_per_second": batch * new_tokens / seconds,
                         "ms_per_step": 1000 * seconds / new_tokens})
    return rows


def quantised_int8(model: GPT) -> nn.Module:
    """A copy with every ``nn.Linear`` dynamically quantised to int8 (weights int8,
    activations quantised per batch), as ``torch.ao.quantization.quantize_dynamic`` does."""
    import copy
    import warnings

    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # PyTorch points to torchao, which this book does not use
        warnings.filterwarnings("ignore", message=".*(deprecat|torchao).*")
        return quantize_dynamic(copy.deepcopy(model).cpu().eval(), {nn.Linear},
                                dtype=torch.qint8)


def int8_effect(model: GPT, validation: torch.Tensor, prompt_tokens: int, new_tokens: int,
                batch: int, windows: int = 256, repeats: int = 2) -> dict[str, float]:
    """Validation loss and cached-generation speed of float32 against int8 (CPU)."""
    cpu_model = model.cpu().eval()
    q = quantised_int8(cpu_model)
    eval_windows = evaluation_windows(validation.cpu(), model.config.context, windows)
    prompt = torch.randint(0, model.config.vocab_size, (batch, prompt_tokens),
                           generator=torch.Generator().manual_seed(0))
    fp32_s = _time_generation(cpu_model, prompt, new_tokens, True, repeats)
    int8_s = _time_generation(q, prompt, new_tokens, True, repeats)

    def size_mb(m: nn.Module) -> float:
        import io

        buffer = io.BytesIO()
        torch.save(m.state_dict(), buffer)
        return buffer.tell() / 1e6

    return {"fp32_val_loss": evaluate_lm(cpu_model, eval_windows),
            "int8_val_loss": evaluate_lm(q, eval_windows),
            "fp32_tokens_per_second": batch * new_tokens / fp32_s,
            "int8_tokens_per_second": batch * new_tokens / int8_s,
            "fp32_state_mb": size_mb(cpu_model), "int8_state_mb": size_mb(q)}


LORA_TARGETS = ("qkv", "proj", "fc", "out")  # every linear layer of every block


def lora_model(model: GPT, rank: int, alpha: float, seed: int) -> nn.Module:
    """``model`` (a copy) with LoRA adapters (PEFT) on every block's linear layers: the base
    weights frozen, ``B A`` trained, ``B`` starting at zero so the model starts unchanged."""
    import copy

    from peft import LoraConfig, get_peft_model

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0,
                        target_modules=list(LORA_TARGETS), bias="none")
    wrapped = get_peft_model(copy.deepcopy(model), config)
    torch.random.set_rng_state(state)
    return wrapped


def trainable_share(model: nn.Module) -> tuple[int, int]:
    """(trainable parameters, all parameters), shared tensors counted once."""
    seen: dict[int, torch.Tensor] = {id(p): p for p in model.parameters()}
    total = sum(p.numel() for p in seen.values())
    return sum(p.numel() for p in seen.values() if p.requires_grad), total


@dataclass
class FineTuneResult:
    """Pre-trained model against LoRA and full fine-tuning on the second domain."""

    rows: list[dict]
    base_loss: float

    def glue_values(self) -> dict[str, float]:
        by = {r["method"]: r for r in self.rows}
        return {"ft_base_loss": round(self.base_loss, 3),
                "ft_lora_loss": round(by["LoRA"]["val_loss_after"], 3),
                "ft_full_loss": round(by["full"]["val_loss_after"], 3),
                "ft_lora_share_percent": round(100 * by["LoRA"]["trained_share"], 2),
                "ft_scratch_loss": round(by["from scratch"]["val_loss_after"], 3)}


def fine_tune(model: GPT, target: TextData, train_config: LMTrainConfig, lora_rank: int,
              lora_alpha: float, lora_lr: float, *, device: torch.device,
              precision: torch.dtype | None) -> FineTuneResult:
    """LoRA, full fine-tuning and training from scratch on ``target`` (the same steps and
    batches), each measured on ``target``'s validation split before and after."""
    import copy
    from dataclasses import replace

    context = model.config.context
    windows = evaluation_windows(target.validation.to(device), context,
                                 max(1, target.validation.numel() // context))
    base = evaluate_lm(model, windows, precision=precision)
    runs = {
        "LoRA": (lora_model(model, lora_rank, lora_alpha, train_config.seed),
                 replace(train_config, lr=lora_lr, weight_decay=0.0)),
        "full": (copy.deepcopy(model), train_config),
        "from scratch": (build_gpt(model.config, train_config.seed, device), train_config),
    }
    rows = []
    for method, (candidate, config) in runs.items():
        before = evaluate_lm(candidate, windows, precision=precision)
        trained, total = trainable_share(candidate)
        run = train_lm(candidate, target.train, target.validation, config, context=context,
                       device=device, precision=precision)
        rows.append({"method": method, "val_loss_before": before,
                     "val_loss_after": evaluate_lm(candidate, windows, precision=precision),
                     "trained_parameters": trained, "trained_share": trained / total,
                     "train_seconds": run.train_seconds,
                     "curve": run.curve(config.eval_every)})
    return FineTuneResult(rows, base)


def unigram_loss(train: torch.Tensor, validation: torch.Tensor, vocab_size: int) -> float:
    """Cross-entropy (nats per token) of ``validation`` under the training split's token
    frequencies (add-one smoothed): what a model that ignores context can reach."""
    counts = torch.bincount(train, minlength=vocab_size).double() + 1.0
    log_p = torch.log(counts / counts.sum())
    return float(-log_p[validation].mean())


def data_parallel_check(vocab_size: int, stream: torch.Tensor, validation: torch.Tensor,
                        steps: int, batch: int, seed: int) -> dict[str, float | int | str]:
    """Two DDP processes against one at the doubled batch: the largest weight difference
    (float64) and the training throughput of each (float32, one thread per process)."""
    from bmlib.train.lm_distributed import run_lm_spawned, train_single

    config = GPTConfig(vocab_size=vocab_size, context=64, d_model=64, n_layers=2, n_heads=4)
    train_config = LMTrainConfig(steps=steps, batch_size=batch, eval_every=steps,
                                 eval_windows=8, seed=seed)
    single64 = train_single(config, train_config, stream, validation, dtype=torch.float64)
    double64 = run_lm_spawned(config, train_config, stream, validation, 2, torch.float64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single32 = train_single(config, train_config, stream, validation)
    finally:
        torch.set_num_threads(threads)
    double32 = run_lm_spawned(config, train_config, stream, validation, 2, torch.float32)
    return {"backend": double64.backend,
            "max_weight_difference": float((single64.final_parameters
                                            - double64.final_parameters).abs().max()),
            "one_process_tokens_per_second": single32.tokens_per_second,
            "two_processes_tokens_per_second": double32.tokens_per_second,
            "speedup": double32.tokens_per_second / single32.tokens_per_second}
