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


@pytest.fixture(scope="module")
def module_cache_dir(tmp_path_factory):
    """A fresh BMLIB_CACHE_DIR for a whole test module (checkpoints trained once, shared by
    its tests), restored afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        path = tmp_path_factory.mktemp("cache")
        patch.setenv("BMLIB_CACHE_DIR", str(path))
        yield path
