import random

import numpy as np
import pytest
import torch

from bmlib.core.seeding import seed_everything


def draw():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_same_seed_same_draws_other_seed_other_draws():
    seed_everything(7)
    first = draw()
    seed_everything(7)
    assert draw() == first
    seed_everything(8)
    assert draw() != first


def test_returned_generator_is_seeded():
    a = torch.rand(3, generator=seed_everything(1))
    b = torch.rand(3, generator=seed_everything(1))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True])
def test_bad_seed_is_rejected(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        seed_everything(bad)
