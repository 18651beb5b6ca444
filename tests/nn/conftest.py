"""Fixtures of the rnnkit.nn tests."""

import os
import shutil

import pytest

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
