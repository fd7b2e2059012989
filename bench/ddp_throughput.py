"""Data-parallel throughput: 1 process vs 2 processes (gloo on CPU, NCCL on GPUs), side by side.

Runs the same DDP training (bmlib.train.distributed) with world_size 1 and 2, alternating
(1, 2, 1, 2, ...) so that both see the same machine load, and prints the median training
throughput of each (global examples per second of the training loop, process start-up
excluded) and the ratio. Each rank uses ``--threads`` intra-op threads, so the 2-process run
uses twice the cores of the 1-process run: the honest question it answers is "what does a
second worker buy", not "is DDP faster per core".

    python bench/ddp_throughput.py [--repeats 3] [--steps 60] [--hidden 512] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics

import torch

from bmlib.train.distributed import DataParallelConfig, resolve_backend, run_spawned, \
    synthetic_classification


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per world size")
    parser.add_argument("--steps", type=int, default=60, help="optimiser steps per run")
    parser.add_argument("--global-batch", type=int, default=512, help="examples per step")
    parser.add_argument("--hidden", type=int, default=512, help="hidden units")
    parser.add_argument("--features", type=int, default=256, help="input features")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    parser.add_argument("--backend", default="auto", choices=("auto", "gloo", "nccl"))
    args = parser.parse_args()

    backend = resolve_backend(args.backend)
    features, labels = synthetic_classification(8192, args.features, 10, seed=0)
    sizes = [1, 2]
    if backend == "nccl" and torch.cuda.device_count() < 2:
        print(f"only {torch.cuda.device_count()} GPU: NCCL needs one GPU per rank, "
              "so only world_size 1 is measured")
        sizes = [1]
    rates: dict[int, list[float]] = {size: [] for size in sizes}
    for repeat in range(args.repeats):
        for size in sizes:
            config = DataParallelConfig(world_size=size, global_batch=args.global_batch,
                                        steps=args.steps, hidden=args.hidden, seed=repeat,
                                        dtype="float32", backend=backend,
                                        threads_per_process=args.threads)
            result = run_spawned(features, labels, config)
            rates[size].append(result.examples_per_second)
            print(f"repeat {repeat}: {size} process(es): "
                  f"{result.examples_per_second:,.0f} samples/s "
                  f"({result.train_seconds:.2f} s for {args.steps} steps)", flush=True)
    print(f"\nbackend {backend}, global batch {args.global_batch}, model "
          f"{args.features}-{args.hidden}-10, {args.threads} thread(s) per process, "
          f"median of {args.repeats}:")
    for size in sizes:
        print(f"  {size} process(es): {statistics.median(rates[size]):,.0f} samples/s")
    if len(sizes) == 2:
        speedup = statistics.median(rates[2]) / statistics.median(rates[1])
        print(f"  speed-up 2 vs 1: {speedup:.2f}x (ideal 2.00x)")


if __name__ == "__main__":
    main()
