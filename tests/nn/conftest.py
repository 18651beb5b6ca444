"""Fixtures of the rnnkit.nn tests."""

import os
import shutil

import pytest
import torch

from rnnkit.nn import native


@pytest.fixture(params=["native", "python"])
def route_loops(request, monkeypatch):
    """The whole-sequence routes' time loops: compiled (rnnkit.nn.native, the default) or
    Python (``RNNKIT_NATIVE=0``). A module runs each of its tests on both with
    ``pytestmark = pytest.mark.usefixtures("route_loops")``."""
    if request.param == "python":
        monkeypatch.setenv("RNNKIT_NATIVE", "0")
    elif shutil.which(os.environ.get("CXX", "c++")) is None:
        pytest.skip("no C++ compiler here to build the compiled time loops")
    else:
        assert native.ops() is not None, "the compiled time loops did not build"
    return request.param


@pytest.fixture
def two_threads():
    """Two torch threads (the suite runs on one): the compiled loops split a step's rows, or a
    scan's columns, between them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)
