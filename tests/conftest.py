"""One directory per test session through which the xdist workers share `shared_run` results (offline/harness.py)."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from offline import harness

_KEY = "deepseek_run_cache"


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller's directory
        harness.use_run_cache(workerinput.get(_KEY))
        return
    directory = tempfile.mkdtemp(prefix="deepseek-cloud-runs-")
    config.stash[_STASH] = directory
    harness.use_run_cache(directory)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput[_KEY] = node.config.stash[_STASH]


def pytest_unconfigure(config: pytest.Config) -> None:
    directory = config.stash.get(_STASH, None)
    if directory:
        harness.use_run_cache(None)
        shutil.rmtree(directory, ignore_errors=True)


_STASH = pytest.StashKey[str]()
