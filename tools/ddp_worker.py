"""DDP worker for torchrun: train the data-parallel classifier on synthetic data.

    torchrun --standalone --nproc_per_node 2 -m tools.ddp_worker --out result.pt

Each rank trains its shard of every global batch through the book's loop
(``bmlib.train.distributed``: ``fit`` on the DDP-wrapped model); rank 0 saves
its :class:`~bmlib.train.distributed.TrainResult` as a plain dict (read it back with
``torch.load(path, weights_only=True)``). Add ``--nnodes``/``--node_rank``/``--master_addr``
to torchrun to spread the ranks over machines.
"""

from __future__ import annotations

import argparse
import os

from bmlib.train.distributed import (BACKENDS, DTYPES, DataParallelConfig, run_rank,
                                     synthetic_classification)


def main(argv: list[str] | None = None) -> None:
    """``torchrun ... -m tools.ddp_worker``: train on synthetic data, save rank 0's result."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--examples", type=int, default=1024)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--global-batch", type=int, default=32)
    parser.add_argument("--dtype", default="float64", choices=sorted(DTYPES))
    parser.add_argument("--backend", default="auto", choices=BACKENDS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="where rank 0 saves its TrainResult")
    args = parser.parse_args(argv)
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    config = DataParallelConfig(world_size=world_size, global_batch=args.global_batch,
                                steps=args.steps, dtype=args.dtype, backend=args.backend,
                                seed=args.seed)
    features, labels = synthetic_classification(args.examples, args.features, args.classes,
                                                args.seed)
    run_rank(rank, world_size, int(os.environ.get("LOCAL_RANK", rank)), "env://",
              features, labels, config, args.out)


if __name__ == "__main__":
    main()
