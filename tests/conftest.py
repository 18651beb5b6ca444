"""One torch thread per test: the tensors in the tests are tiny, and on a shared 2-core machine
two OpenMP threads spinning on each other make a tiny step 10-100x slower than one thread."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
