"""The language-model run of :mod:`bmlib.train.lm` under DDP: same loop, ranks share batches.

Every rank builds the same GPT (seeded), wraps it in ``DistributedDataParallel`` and calls
:func:`bmlib.train.lm.train_lm` with its rank: the loop's generator, seeded alike on every
rank, draws the same global batch of windows everywhere and each rank trains on its
contiguous share, so gradients averaged by DDP are those of the whole global batch. With
dropout off, two ranks at local batch ``b`` end with the weights one process reaches at
batch ``2 b`` (to rounding; exactly in float64 up to the order of additions).

Launch from Python with :func:`run_lm_spawned` (``torch.multiprocessing.spawn``), or from a
shell with ``torchrun --nproc_per_node 2 -m tools.lm_ddp_worker --out result.pt``.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from bmlib.models.gpt import GPT, GPTConfig
from bmlib.train.distributed import free_port, resolve_backend
from bmlib.train.lm import LMTrainConfig, train_lm


@dataclass(frozen=True)
class LMParallelResult:
    """What rank 0 reports."""

    world_size: int
    backend: str
    final_parameters: torch.Tensor  # flattened, float64, CPU
    final_val_loss: float
    train_seconds: float
    tokens_per_second: float  # global training tokens per second


def _flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).to("cpu", torch.float64)
                      for p in model.parameters()])


def build_model(config: GPTConfig, seed: int, dtype: torch.dtype) -> GPT:
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    model = GPT(config).to(dtype)
    torch.random.set_rng_state(state)
    return model


def train_single(config: GPTConfig, train_config: LMTrainConfig, train_tokens: torch.Tensor,
                 val_tokens: torch.Tensor, dtype: torch.dtype = torch.float32
                 ) -> LMParallelResult:
    """The one-process reference at the global batch."""
    model = build_model(config, train_config.seed, dtype)
    started = time.perf_counter()
    run = train_lm(model, train_tokens, val_tokens, train_config, context=config.context,
                   device=torch.device("cpu"))
    seconds = time.perf_counter() - started
    return LMParallelResult(1, "none", _flat(model), run.final_val_loss, seconds,
                            run.tokens_trained / seconds)


def rank_main(rank: int, world_size: int, init_method: str, config: GPTConfig,
              train_config: LMTrainConfig, train_tokens: torch.Tensor,
              val_tokens: torch.Tensor, dtype: torch.dtype, threads: int,
              out_path: str | None) -> LMParallelResult | None:
    """One rank's run inside a fresh process group (gloo on CPU, NCCL on CUDA)."""
    torch.set_num_threads(threads)
    backend = resolve_backend("auto")
    dist.init_process_group(backend, init_method=init_method, rank=rank,
                            world_size=world_size)
    try:
        device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
        model = build_model(config, train_config.seed, dtype).to(device)
        ddp = DistributedDataParallel(model, device_ids=[rank] if backend == "nccl" else None)
        dist.barrier()
        started = time.perf_counter()
        run = train_lm(ddp, train_tokens, val_tokens, train_config, context=config.context,
                       device=device, rank=rank, world_size=world_size)
        dist.barrier()
        seconds = time.perf_counter() - started
        result = LMParallelResult(world_size, backend, _flat(model), run.final_val_loss,
                                  seconds, run.tokens_trained / seconds)
        if rank == 0 and out_path is not None:
            torch.save(asdict(result), out_path)
        return result
    finally:
        dist.destroy_process_group()


def _spawned(rank: int, world_size: int, port: int, *args: object) -> None:
    rank_main(rank, world_size, f"tcp://127.0.0.1:{port}", *args)  # type: ignore[arg-type]


def run_lm_spawned(config: GPTConfig, train_config: LMTrainConfig, train_tokens: torch.Tensor,
                   val_tokens: torch.Tensor, world_size: int = 2,
                   dtype: torch.dtype = torch.float32, threads: int = 1) -> LMParallelResult:
    """Train with ``world_size`` local processes; rank 0's result."""
    if config.dropout:
        raise ValueError("dropout draws differ between ranks: use dropout=0 for DDP runs "
                         "that must match a single process")
    with tempfile.TemporaryDirectory(prefix="bmlib-lm-ddp-") as folder:
        out = str(Path(folder) / "rank0.pt")
        mp.spawn(_spawned, args=(world_size, free_port(), config, train_config,
                                 train_tokens.cpu(), val_tokens.cpu(), dtype, threads, out),
                 nprocs=world_size, join=True)
        raw = torch.load(out, weights_only=True)
    return LMParallelResult(**raw)
