"""One torch thread per test: the tensors in the tests are tiny, and on a shared 2-core machine
two OpenMP threads spinning on each other make a tiny step 10-100x slower than one thread."""

import pytest
import torch

from rnnkit.training.config import bf16_kernels

# a tiny text for the char model's runs, in tests that train one through the command line or
# the library (tests/tasks has its own, with a third speech)
TEXT = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\n\n"
    "JULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n"
) * 40


@pytest.fixture
def text_file(tmp_path):
    """``TEXT`` in a file of the test's folder."""
    path = tmp_path / "tiny.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


# bf16 autocast through torch's LSTM needs oneDNN bf16 (AVX-512 or newer); on an AVX2-only CPU
# rnnkit refuses --precision bf16 (tests/training/test_config.py checks the message)
needs_bf16_kernels = pytest.mark.skipif(
    not bf16_kernels(), reason="this CPU's oneDNN kernels have no bf16 (AVX-512 or newer needed)"
)


def _private_caches(tmp_path_factory, patch: pytest.MonkeyPatch) -> None:
    """``$RNNKIT_CACHE`` in this session's temporary folder, shared by its tests: the char
    model's token files never land in the user's ~/.cache (a test may set its own); and the
    compiled time loops (rnnkit.nn.native): one build for all of this run's workers."""
    patch.setenv("RNNKIT_CACHE", str(tmp_path_factory.getbasetemp() / "rnnkit-cache"))
    patch.setenv(
        "RNNKIT_NATIVE_CACHE", str(tmp_path_factory.getbasetemp().parent / "rnnkit-native")
    )


@pytest.fixture(scope="session", autouse=True)
def private_caches_for_wide_fixtures(tmp_path_factory):
    """The caches of :func:`_private_caches` and one torch thread for the session, so that the
    module-scoped fixtures (trained runs), set up before any test's own fixtures, use them too:
    they wrote token files and a second build of the time loops into the user's ~/.cache."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        _private_caches(tmp_path_factory, patch)
        yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """The same caches again for each test (one that changed them without monkeypatch is put
    right)."""
    _private_caches(tmp_path_factory, monkeypatch)


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def rnnkit(capsys):
    """``rnnkit(*argv) -> (exit code, stdout, stderr)``: the command line's real entry point,
    run in this process (every subcommand module is registered by ``rnnkit.cli.main``)."""
    from rnnkit.cli.main import main

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run
