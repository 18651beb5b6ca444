"""One torch thread per test: the suite runs on a shared 2-core machine, where two threads
spinning at every tiny op make a 16-unit LSTM step take half a second."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
