"""Language-model speed: the book's training loop against a plain loop, and the KV cache.

Prints figures (it is not a timed test). Run from the repository root:

    python -m bench.lm_bench [--steps 30] [--width 192] [--layers 4] [--tiny]

* training tokens per second of the same GPT, same batches and same optimiser settings, in
  the same run, alternating: (a) a plain loop the way a tutorial writes it (AdamW,
  clipping, no schedule, no validation, no checkpoints) and (b) ``bmlib.train.lm.train_lm``
  through the book's one loop (``fit``: schedule, clipping, per-block validation kept off
  the clock); the ratio b/a says what the loop's bookkeeping costs;
* generated tokens per second with and without the KV cache at batch 1 and 8, and the ratio;
* the machine: CPU name and flags, threads, the measured matmul peak, the load average.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from bench._machine import vector_flags
from bmlib.core.device import hardware_name, select_device
from bmlib.core.peak import matmul_peak_flops
from bmlib.models.gpt import GPT, GPTConfig, flops_per_token, generate
from bmlib.train.lm import LMTrainConfig, lm_loss, train_lm


def plain_loop(model: GPT, tokens: torch.Tensor, context: int, batch: int, steps: int,
               lr: float, seed: int) -> float:
    """Tokens per second of the loop a tutorial writes."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95),
                                  weight_decay=0.1)
    span = torch.arange(context + 1)
    model.train()
    started = time.perf_counter()
    for _ in range(steps):
        starts = torch.randint(0, tokens.numel() - context - 1, (batch,), generator=generator)
        windows = tokens[starts[:, None] + span]
        loss = lm_loss(model(windows[:, :-1]), windows[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return steps * batch * context / (time.perf_counter() - started)


def book_loop(model: GPT, tokens: torch.Tensor, context: int, batch: int, steps: int,
              lr: float, seed: int) -> float:
    config = LMTrainConfig(steps=steps, batch_size=batch, lr=lr, eval_every=steps,
                           eval_windows=2, seed=seed)
    return train_lm(model, tokens, tokens, config, context=context,
                    device=torch.device("cpu")).tokens_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--width", type=int, default=192)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=4096)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke settings")
    args = parser.parse_args()
    if args.tiny:
        args.steps, args.batch, args.width, args.layers, args.vocab, args.context = \
            4, 4, 32, 1, 300, 32
    choice = select_device("cpu")
    print(f"machine: {hardware_name(choice.device)}; flags: {vector_flags()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    peak = matmul_peak_flops()
    print(f"measured float32 matmul peak: {peak / 1e9:.1f} GFLOP/s")
    config = GPTConfig(vocab_size=args.vocab, context=args.context, d_model=args.width,
                       n_layers=args.layers, n_heads=4)
    tokens = torch.randint(0, args.vocab, (200_000,), generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    start = GPT(config).state_dict()
    rows: dict[str, list[float]] = {"plain": [], "book": []}
    for _ in range(args.repeats):  # alternate, so drifting load hits both alike
        for name, loop in (("plain", plain_loop), ("book", book_loop)):
            model = GPT(config)
            model.load_state_dict(start)
            rows[name].append(loop(model, tokens, args.context, args.batch, args.steps,
                                   3e-3, 0))
    plain, book = max(rows["plain"]), max(rows["book"])
    per_token = flops_per_token(config)
    print(f"\ntraining, {args.steps} steps of {args.batch} x {args.context} tokens, "
          f"best of {args.repeats} (alternating):")
    print(f"  plain loop    {plain:9.0f} tokens/s  MFU {per_token * plain / peak:6.1%}")
    print(f"  book's loop   {book:9.0f} tokens/s  MFU {per_token * book / peak:6.1%}")
    print(f"  ratio book/plain: {book / plain:.3f}")
    model = GPT(config).eval()
    new = min(64, args.context - 16)
    print(f"\ngeneration, 16-token prompt + {new} tokens, greedy, best of {args.repeats}:")
    for batch in (1, 8):
        prompt = torch.randint(0, args.vocab, (batch, 16))
        speed = {}
        for cache in (False, True):
            best = float("inf")
            for _ in range(args.repeats):
                started = time.perf_counter()
                generate(model, prompt, new, temperature=0.0, use_cache=cache)
                best = min(best, time.perf_counter() - started)
            speed[cache] = batch * new / best
        print(f"  batch {batch}: no cache {speed[False]:8.0f} tokens/s, cache "
              f"{speed[True]:8.0f} tokens/s, ratio {speed[True] / speed[False]:.2f}")


if __name__ == "__main__":
    main()
