"""One intra-op thread per test: these tensors are tiny, and on a shared machine two OpenMP
threads waiting on each other make a test 10-100x slower than one thread alone."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
