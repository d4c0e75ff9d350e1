"""One directory per test session through which the xdist workers share `shared_run` results (offline/harness.py)."""

from __future__ import annotations

import gc
import shutil
import tempfile

import pytest

from offline import harness

_KEY = "deepseek_run_cache"


def pytest_configure(config: pytest.Config) -> None:
    # Mock runs allocate hundreds of thousands of short-lived objects beside the provider SDK's classes; at
    # CPython's default GC thresholds (700, 10, 10) the collector keeps re-walking them (as offline/plan.py).
    gc.set_threshold(100_000, 50, 100)
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


# `make test` hands whole files to the two workers in collection order (`--dist loadfile`), so a long file
# collected last leaves one worker idle at the end. The longest files go first (largest CPU time per file
# measured 2026-12-01 with the runs shared); the rest keep their order, and so does every file's tests.
LONGEST_FIRST = (
    "test_policy_grpc_stacks.py",
    "test_config_first.py",
    "test_ecs_validation.py",
    "test_iam_coverage.py",
    "test_eks_serving.py",
    "test_name_limits.py",
    "test_model_service.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
    gc.freeze()  # what collection imported (provider SDKs, test modules) lives all session: never re-walk it
