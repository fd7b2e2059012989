"""Shared fixtures for the unit tests."""

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: on a shared 2-core machine two threads make each step several times
    slower than one, and one thread also makes float reductions order-stable."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
