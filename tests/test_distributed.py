"""DDP equivalence: two gloo processes on CPU follow the single-process run step for step."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bmlib.core.paths import repo_root
from bmlib.train.distributed import (
    DataParallelConfig,
    ShardBatches,
    build_classifier,
    global_batch_indices,
    local_slice,
    run_spawned,
    synthetic_classification,
    train_single_process,
)

# float64 losses of the two runs must agree to this (measured differences are ~1e-16:
# only the order of a two-term gradient average differs).
TOLERANCE_FLOAT64 = 1e-9
TOLERANCE_FLOAT32 = 1e-5

CONFIG = DataParallelConfig(world_size=2, global_batch=32, steps=15, lr=0.1, momentum=0.9,
                            hidden=16, seed=3, dtype="float64", backend="gloo")


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    return synthetic_classification(256, 8, 3, seed=1)


@pytest.mark.slow
def test_two_gloo_processes_match_single_process(data):
    features, labels = data
    single = train_single_process(features, labels, CONFIG)
    two = run_spawned(features, labels, CONFIG)
    assert two.world_size == 2 and two.backend == "gloo"
    assert len(two.losses) == CONFIG.steps
    loss_gap = max(abs(a - b) for a, b in zip(two.losses, single.losses))
    param_gap = (two.final_parameters - single.final_parameters).abs().max().item()
    assert loss_gap < TOLERANCE_FLOAT64, f"losses differ by {loss_gap:.3e}"
    assert param_gap < TOLERANCE_FLOAT64, f"parameters differ by {param_gap:.3e}"
    # The run actually learned something (a frozen model would also "match").
    assert single.losses[-1] < 0.5 * single.losses[0]


def test_float32_single_process_is_close_to_float64(data):
    """float32 rounding alone stays far inside the float32 tolerance used in the book."""
    features, labels = data
    f64 = train_single_process(features, labels, CONFIG)
    f32 = train_single_process(features, labels, replace(CONFIG, dtype="float32"))
    assert max(abs(a - b) for a, b in zip(f32.losses, f64.losses)) < TOLERANCE_FLOAT32


def test_a_different_global_batch_does_not_match(data):
    """Negative control: the comparison can fail. Doubling the global batch (what happens
    when every rank, instead of its share, gets a full batch) changes the trajectory."""
    features, labels = data
    single = train_single_process(features, labels, CONFIG)
    other = train_single_process(features, labels, replace(CONFIG, global_batch=64))
    gap = max(abs(a - b) for a, b in zip(other.losses, single.losses))
    assert gap > 1e3 * TOLERANCE_FLOAT64


def test_local_slices_partition_the_global_batch():
    config = replace(CONFIG, world_size=4, global_batch=32)
    batch = global_batch_indices(100, config, step=5)
    shares = [local_slice(batch, r, 4) for r in range(4)]
    assert all(s.numel() == 8 for s in shares)
    assert torch.equal(torch.cat(shares), batch)
    assert len(set(batch.tolist())) == 32


def test_batches_cover_each_epoch_once():
    config = replace(CONFIG, global_batch=10)
    epoch = torch.cat([global_batch_indices(35, config, s) for s in range(3)])
    assert len(set(epoch.tolist())) == 30  # 3 full batches; the tail of 5 is dropped
    assert not torch.equal(global_batch_indices(35, config, 0),
                           global_batch_indices(35, config, 3))  # new epoch, new order


def test_shard_batches_give_each_rank_its_share_of_every_global_batch(data):
    features, labels = data
    config = replace(CONFIG, world_size=4, steps=12)  # 8 steps per data epoch: rolls over
    whole = ShardBatches(features, labels, config)
    shards = [ShardBatches(features, labels, config, rank, 4) for rank in range(4)]
    assert whole.steps_per_epoch == 12 and whole.num_examples == 12 * 32
    assert shards[0].num_examples == 12 * 8
    for step, (x, y) in enumerate(whole.epoch(0, None)):
        batch = global_batch_indices(len(labels), config, step)
        assert torch.equal(x, features[batch]) and torch.equal(y, labels[batch])
    for epoch in (0, 1):  # loop epoch 1 continues at step 12
        per_rank = [list(shard.epoch(epoch, None)) for shard in shards]
        for step, whole_step in enumerate(whole.epoch(epoch, None)):
            assert torch.equal(torch.cat([rank[step][0] for rank in per_rank]), whole_step[0])
            assert torch.equal(torch.cat([rank[step][1] for rank in per_rank]), whole_step[1])


@pytest.mark.parametrize("rank, world_size, message", [
    (2, 2, "rank=2"), (-1, 2, "rank=-1"), (0, 3, "not divisible by world_size=3")])
def test_bad_shards_fail_clearly(data, rank, world_size, message):
    features, labels = data
    with pytest.raises(ValueError, match=message):
        ShardBatches(features, labels, CONFIG, rank, world_size)


def test_the_single_process_run_is_a_plain_sgd_loop_bit_for_bit(data):
    """Through ``fit`` the reference takes exactly the steps of a hand-written SGD loop."""
    features, labels = data
    ported = train_single_process(features, labels, CONFIG)
    x, y = features.to(torch.float64), labels.long()
    model = build_classifier(x.shape[1], 3, CONFIG)
    optimizer = torch.optim.SGD(model.parameters(), lr=CONFIG.lr, momentum=CONFIG.momentum)
    losses = []
    for step in range(CONFIG.steps):
        batch = global_batch_indices(len(y), CONFIG, step)
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert ported.losses == tuple(losses)
    assert torch.equal(ported.final_parameters,
                       torch.cat([p.detach().reshape(-1) for p in model.parameters()]))


@pytest.mark.parametrize("change, message", [
    ({"global_batch": 33}, "not divisible by world_size"),
    ({"world_size": 0}, "world_size=0"),
    ({"dtype": "float16"}, "dtype='float16'"),
    ({"backend": "mpi"}, "backend='mpi'"),
    ({"lr": 0.0}, "lr=0.0"),
])
def test_bad_configs_fail_clearly(change, message):
    with pytest.raises(ValueError, match=message):
        replace(CONFIG, **change).validate()


def test_too_little_data_fails_clearly(data):
    features, labels = data
    with pytest.raises(ValueError, match="only 16 examples"):
        train_single_process(features[:16], labels[:16], CONFIG)


@pytest.mark.slow
def test_torchrun_entry_point(tmp_path: Path):
    """The same module runs under torchrun (2 CPU processes, gloo)."""
    out = tmp_path / "result.pt"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", "-m", "tools.ddp_worker", "--examples", "128",
               "--steps", "5", "--global-batch", "16", "--backend", "gloo",
               "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(command, check=True, capture_output=True, timeout=120, env=env,
                   cwd=repo_root())
    result = torch.load(out, weights_only=True)
    assert result["world_size"] == 2 and len(result["losses"]) == 5
    features, labels = synthetic_classification(128, 16, 3, seed=0)
    single = train_single_process(features, labels, DataParallelConfig(
        world_size=2, global_batch=16, steps=5, backend="gloo"))
    assert max(abs(a - b) for a, b in zip(result["losses"], single.losses)) < TOLERANCE_FLOAT64
