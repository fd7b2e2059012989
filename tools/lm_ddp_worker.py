"""DDP worker for torchrun: train a small GPT on the fortunes-zh corpus, ranks sharing batches.

    torchrun --standalone --nproc_per_node 2 -m tools.lm_ddp_worker --out result.pt

Each rank trains its share of every global batch through the book's loop
(:mod:`bmlib.train.lm_distributed`); rank 0 saves its result as a plain dict (read it back
with ``torch.load(path, weights_only=True)``). Add ``--nnodes``/``--node_rank``/
``--master_addr`` to torchrun to spread the ranks over machines (gloo on CPU, NCCL on GPUs).
"""

from __future__ import annotations

import argparse
import os

import torch

from bmlib.models.gpt import GPTConfig
from bmlib.studies.language_model import prepare_text
from bmlib.train.lm import LMTrainConfig
from bmlib.train.lm_distributed import rank_main


def main(argv: list[str] | None = None) -> None:
    """``torchrun ... -m tools.lm_ddp_worker``: train, save rank 0's result."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--global-batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True, help="where rank 0 saves its result")
    args = parser.parse_args(argv)
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    data = prepare_text("chinese", args.vocab, seed=0)
    config = GPTConfig(vocab_size=data.tokenizer.vocab_size, context=args.context,
                       d_model=args.width, n_layers=args.layers, n_heads=4)
    train_config = LMTrainConfig(steps=args.steps, batch_size=args.global_batch,
                                 eval_every=args.steps, eval_windows=16, seed=args.seed)
    rank_main(rank, world_size, "env://", config, train_config, data.train, data.validation,
              torch.float32, args.threads, args.out)


if __name__ == "__main__":
    main()
