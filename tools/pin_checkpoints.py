"""Pin the SHA-256 of the CIFAR-10 chapter's full-run checkpoints.

Run after the chapter has trained at ``PROFILE="full"`` (``make execute`` or
``python -m tools.execute --only cifar10_project``)::

    python -m tools.pin_checkpoints [--check]

writes ``data/pins/cifar10_project_checkpoints.json`` (file name -> SHA-256), which
``RETRAIN=False`` and the outlook chapter verify before loading. ``--check`` only compares.
The run's precision is read from the cache: the set of checkpoints (bf16 first, then
float32) that is complete is pinned; ``--precision`` names it instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from bmlib.core.files import sha256_file
from bmlib.core.paths import pins_dir
from bmlib.train.recipes import BookRun, book_checkpoint_paths, load_pins

PRECISIONS = {"bf16": torch.bfloat16, "float32": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--output", default=str(pins_dir() / "cifar10_project_checkpoints.json"),
                        help="the pins file (default: the chapter's)")
    parser.add_argument("--precision", choices=("auto", *PRECISIONS), default="auto",
                        help="the precision the chapter's run trained in (auto: the complete "
                             "set found in the cache)")
    args = parser.parse_args(argv)
    names = list(PRECISIONS) if args.precision == "auto" else [args.precision]
    candidates = [book_checkpoint_paths(BookRun(), precision=PRECISIONS[n]) for n in names]
    paths = min(candidates, key=lambda ps: sum(not p.exists() for p in ps))
    missing = [p for p in paths if not p.exists()]
    if missing:
        print("missing checkpoints (train the chapter at PROFILE='full' first):", file=sys.stderr)
        for path in missing:
            print(f"  {path}", file=sys.stderr)
        return 2
    pins = {p.name: sha256_file(p) for p in paths}
    target = Path(args.output)
    if args.check:
        same = load_pins(target) == pins
        print(f"{target.name}: {'matches' if same else 'DIFFERS from'} the checkpoints in the cache")
        return 0 if same else 1
    target.write_text(json.dumps(pins, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target} ({len(pins)} checkpoints)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
