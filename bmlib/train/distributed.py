"""Data-parallel training with ``torch.nn.parallel.DistributedDataParallel`` (DDP).

Every process (rank) holds a full copy of a small classifier. At each optimiser step the
*same global batch* is drawn on every rank from a seeded permutation and split into
``world_size`` equal, contiguous local batches; each rank computes the gradient of its local
mean loss, DDP averages the gradients across ranks (an all-reduce), and every rank applies
the same update. Because the local batches are equal in size, the averaged gradient equals
the gradient of the mean loss over the whole global batch, so a two-process run follows the
single-process run with the same global batch step for step, up to rounding. The test suite
checks exactly that (``tests/test_distributed.py``).

Both runs train through the book's one loop, :func:`bmlib.train.loop.fit`: the model (wrapped
in DDP on every rank of a process group, bare for the single-process reference) gets a
:class:`ShardBatches` source that yields the rank's share of each global batch, plain SGD with
momentum (:class:`~bmlib.train.config.OptimConfig`) and one loop epoch of ``steps`` steps that
records every step's loss (:class:`~bmlib.train.config.LoopConfig`).

Backends: gloo on CPU, NCCL on CUDA GPUs (one GPU per rank). Launch either way:

* from Python (a notebook, a test): :func:`run_spawned` starts ``world_size`` processes with
  ``torch.multiprocessing.spawn`` and returns rank 0's :class:`TrainResult`;
* from a shell: ``torchrun --nproc_per_node 2 -m tools.ddp_worker --out result.pt`` (add
  ``--nnodes``, ``--node_rank``, ``--master_addr``, ``--master_port`` for several machines);
  ``tools.ddp_worker``'s ``main`` reads torchrun's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` variables.
"""

from __future__ import annotations

import socket
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from bmlib.train.config import LoopConfig, OptimConfig
from bmlib.train.loop import Batch, FitResult, fit

BACKENDS = ("auto", "gloo", "nccl")
DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class DataParallelConfig:
    """One data-parallel training run."""

    world_size: int = 2  # number of processes (ranks); 1 = plain single-process DDP
    global_batch: int = 32  # examples per optimiser step, summed over all ranks
    steps: int = 20  # optimiser steps
    lr: float = 0.1  # SGD learning rate (per step, applied to the global-batch mean gradient)
    momentum: float = 0.9  # SGD momentum
    hidden: int = 32  # hidden units of the two-layer tanh classifier
    seed: int = 0  # seeds the model's initial weights and the batch order
    dtype: str = "float64"  # "float64" (equivalence checks) or "float32" (speed)
    backend: str = "auto"  # "gloo" (CPU), "nccl" (CUDA) or "auto": nccl if CUDA, else gloo
    threads_per_process: int = 1  # torch intra-op threads in each rank

    def validate(self, num_examples: int | None = None) -> None:
        """Raise ``ValueError`` naming the bad field and what to do."""
        for name in ("world_size", "global_batch", "steps", "hidden", "threads_per_process"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}={value!r}: must be an int >= 1")
        if self.global_batch % self.world_size:
            raise ValueError(
                f"global_batch={self.global_batch} is not divisible by world_size="
                f"{self.world_size}: equal local batches are what make DDP's averaged "
                "gradient equal the global-batch gradient; choose a multiple")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r}: choose one of {', '.join(DTYPES)}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend={self.backend!r}: choose one of {', '.join(BACKENDS)}")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r}: must be > 0")
        if num_examples is not None and num_examples < self.global_batch:
            raise ValueError(
                f"only {num_examples} examples for global_batch={self.global_batch}: "
                "use a smaller batch or more data")


@dataclass(frozen=True)
class TrainResult:
    """What rank 0 reports after training."""

    world_size: int  # processes that trained
    backend: str  # "none" for the single-process reference, else "gloo"/"nccl"
    losses: tuple[float, ...]  # global-batch mean loss before each step
    final_parameters: torch.Tensor  # all parameters flattened (float64, CPU)
    train_seconds: float  # wall time of the training loop on rank 0 (after a barrier)
    examples_per_second: float  # global examples processed per second of train_seconds


def resolve_backend(backend: str) -> str:
    """``auto`` -> ``nccl`` when CUDA is available, else ``gloo``."""
    if backend == "auto":
        return "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl" and not torch.cuda.is_available():
        raise RuntimeError("backend 'nccl' needs CUDA GPUs; use 'gloo' on CPU")
    return backend


def build_classifier(num_features: int, num_classes: int, config: DataParallelConfig
                     ) -> nn.Sequential:
    """The two-layer tanh classifier, initialised from ``config.seed`` (same on every rank)."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(config.seed)
    model = nn.Sequential(nn.Linear(num_features, config.hidden), nn.Tanh(),
                          nn.Linear(config.hidden, num_classes))
    torch.random.set_rng_state(generator_state)
    return model.to(DTYPES[config.dtype])


def global_batch_indices(num_examples: int, config: DataParallelConfig, step: int
                         ) -> torch.Tensor:
    """Indices of the global batch of ``step``: epochs of seeded permutations, tail dropped.

    Every rank computes the same indices, so no sampler state needs to be communicated.
    """
    per_epoch = num_examples // config.global_batch
    epoch, position = divmod(step, per_epoch)
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    order = torch.randperm(num_examples, generator=generator)
    return order[position * config.global_batch:(position + 1) * config.global_batch]


def local_slice(indices: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Rank ``rank``'s contiguous share of a global batch (equal shares)."""
    share = indices.numel() // world_size
    return indices[rank * share:(rank + 1) * share]


@dataclass
class ShardBatches:
    """:func:`~bmlib.train.loop.fit`'s batches for one rank: its share of every global batch.

    Step ``s`` takes the global batch :func:`global_batch_indices` draws for ``s`` (the same on
    every rank) and yields this rank's :func:`local_slice` of it; ``rank=0, world_size=1``
    yields the whole global batch (the single-process reference). One loop epoch is the run's
    ``config.steps`` steps (the data epochs, fresh permutations, roll over inside it); epoch
    ``e`` continues at step ``e * config.steps``. The loop's generator is not used: the order
    depends on ``config.seed`` alone, so no sampler state has to cross ranks.
    """

    x: torch.Tensor  # every example, on this rank's device
    y: torch.Tensor  # their class labels
    config: DataParallelConfig  # global_batch, steps and seed fix the global batches
    rank: int = 0  # this process
    world_size: int = 1  # processes sharing each global batch

    def __post_init__(self) -> None:
        self.config.validate(len(self.y))
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"{self.x.shape[0]} inputs but {self.y.shape[0]} labels")
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank={self.rank}: must be in 0..{self.world_size - 1} "
                             f"for world_size={self.world_size}")
        if self.config.global_batch % self.world_size:
            raise ValueError(f"global_batch={self.config.global_batch} is not divisible by "
                             f"world_size={self.world_size}: the shares must be equal")

    @property
    def steps_per_epoch(self) -> int:
        return self.config.steps

    @property
    def num_examples(self) -> int:
        """Examples this rank trains on per loop epoch."""
        return self.steps_per_epoch * (self.config.global_batch // self.world_size)

    def epoch(self, epoch: int, generator: torch.Generator | None) -> Iterator[Batch]:
        first = epoch * self.steps_per_epoch
        for step in range(first, first + self.steps_per_epoch):
            batch = local_slice(global_batch_indices(len(self.y), self.config, step)
                                .to(self.x.device), self.rank, self.world_size)
            yield self.x[batch], self.y[batch]


def _flat_parameters(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).to("cpu", torch.float64)
                      for p in model.parameters()])


def _fit_sgd(model: nn.Module, batches: ShardBatches) -> FitResult:
    """``fit`` with the run's SGD (momentum, no Nesterov), one epoch of ``config.steps``
    steps, every step's loss recorded; ``seed=None``: the loop leaves all generators alone.

    ``record_steps`` also measures the gradient norm, which with no ``grad_clip`` scales the
    gradients by exactly 1: the steps are those of a plain SGD loop, bit for bit."""
    config = batches.config
    optim = OptimConfig(optimizer="sgd", lr=config.lr, momentum=config.momentum,
                        nesterov=False)
    return fit(model, batches, optim, LoopConfig(epochs=1, seed=None, record_steps=True))


def train_single_process(features: torch.Tensor, labels: torch.Tensor,
                         config: DataParallelConfig) -> TrainResult:
    """The reference: one process, no torch.distributed, the whole global batch per step."""
    config.validate(len(labels))
    dtype = DTYPES[config.dtype]
    x, y = features.to(dtype), labels.long()
    model = build_classifier(x.shape[1], int(y.max()) + 1, config)
    batches = ShardBatches(x, y, config)
    started = time.perf_counter()
    fitted = _fit_sgd(model, batches)
    seconds = time.perf_counter() - started
    return TrainResult(1, "none", tuple(fitted.step_losses), _flat_parameters(model), seconds,
                       config.steps * config.global_batch / seconds)


def train_data_parallel(features: torch.Tensor, labels: torch.Tensor,
                        config: DataParallelConfig, rank: int, world_size: int,
                        device: torch.device) -> TrainResult:
    """The DDP run, by every rank of an initialised process group: ``fit`` on the
    DDP-wrapped model with this rank's :class:`ShardBatches`."""
    config.validate(len(labels))
    dtype = DTYPES[config.dtype]
    x, y = features.to(device, dtype), labels.long().to(device)
    model = build_classifier(x.shape[1], int(y.max()) + 1, config).to(device)
    ddp_model = DistributedDataParallel(model, device_ids=[device.index]
                                        if device.type == "cuda" else None)
    batches = ShardBatches(x, y, config, rank, world_size)
    dist.barrier()
    started = time.perf_counter()
    fitted = _fit_sgd(ddp_model, batches)  # DDP all-reduces (averages) the gradients
    dist.barrier()
    seconds = time.perf_counter() - started
    # The global-batch loss for the record: the mean of the ranks' equal-sized local means.
    local_losses = torch.tensor(fitted.step_losses, dtype=dtype, device=device)
    dist.all_reduce(local_losses)
    return TrainResult(world_size, dist.get_backend(),
                       tuple(total / world_size for total in local_losses.tolist()),
                       _flat_parameters(model), seconds,
                       config.steps * config.global_batch / seconds)


def _rank_device(backend: str, local_rank: int) -> torch.device:
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def run_rank(rank: int, world_size: int, local_rank: int, init_method: str,
              features: torch.Tensor, labels: torch.Tensor, config: DataParallelConfig,
              out_path: str) -> None:
    torch.set_num_threads(config.threads_per_process)
    backend = resolve_backend(config.backend)
    dist.init_process_group(backend, init_method=init_method, rank=rank,
                            world_size=world_size)
    try:
        result = train_data_parallel(features, labels, config, rank, world_size,
                                     _rank_device(backend, local_rank))
        if rank == 0:
            torch.save(asdict(result), out_path)
    finally:
        dist.destroy_process_group()


def spawn_worker(rank: int, port: int, features: torch.Tensor, labels: torch.Tensor,
                 config: DataParallelConfig, out_path: str) -> None:
    """Entry point for ``torch.multiprocessing.spawn`` (which passes ``rank`` first)."""
    run_rank(rank, config.world_size, rank, f"tcp://127.0.0.1:{port}", features, labels,
              config, out_path)


def free_port() -> int:
    """A TCP port on localhost that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_spawned(features: torch.Tensor, labels: torch.Tensor, config: DataParallelConfig
                ) -> TrainResult:
    """Train with ``config.world_size`` local processes; returns rank 0's result."""
    config.validate(len(labels))
    if resolve_backend(config.backend) == "nccl" and \
            torch.cuda.device_count() < config.world_size:
        raise RuntimeError(f"NCCL needs one GPU per rank: world_size={config.world_size} "
                           f"but {torch.cuda.device_count()} GPU(s); use backend 'gloo'")
    with tempfile.TemporaryDirectory(prefix="bmlib-ddp-") as folder:
        out_path = str(Path(folder) / "rank0.pt")
        mp.spawn(spawn_worker, args=(free_port(), features.cpu(), labels.cpu(), config,
                                     out_path), nprocs=config.world_size, join=True)
        raw = torch.load(out_path, weights_only=True)  # a dict of numbers and one tensor
    raw["losses"] = tuple(raw["losses"])
    return TrainResult(**raw)


def synthetic_classification(num_examples: int, num_features: int, num_classes: int,
                             seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian blobs around random class centres (seeded), float64 features."""
    generator = torch.Generator().manual_seed(seed)
    centres = 2.0 * torch.randn(num_classes, num_features, generator=generator,
                                dtype=torch.float64)
    labels = torch.randint(num_classes, (num_examples,), generator=generator)
    noise = torch.randn(num_examples, num_features, generator=generator, dtype=torch.float64)
    return centres[labels] + noise, labels
