"""One directory per test session through which the xdist workers share `shared_run` results (offline/harness.py)."""

from __future__ import annotations

import functools
import gc
import shutil
import tempfile

import botocore.loaders
import botocore.session
import pytest

from offline import harness

_KEY = "deepseek_run_cache"


def pytest_configure(config: pytest.Config) -> None:
    # Mock runs allocate hundreds of thousands of short-lived objects beside the provider SDK's classes; at
    # CPython's default GC thresholds (700, 10, 10) the collector keeps re-walking them (as offline/plan.py).
    # A run's objects live until it ends, so a young generation smaller than one run (a prod run leaves ~46k
    # objects in cycles among ~500k allocated) only re-walks survivors: 1M measured 8-20 % less CPU than
    # 100k over the run-heavy files (config_first, name_limits, iam_coverage, network; 2026-12-01), for
    # ~60 MB more peak memory per worker.
    gc.set_threshold(1_000_000, 50, 100)
    _share_botocore_loader()
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller's directory
        harness.use_run_cache(workerinput.get(_KEY))
        return
    if hasattr(config.option, "loadscopereorder"):
        # pytest-xdist (3.8) hands out `--dist loadfile` files by their number of tests unless told not to
        # (`--no-loadscope-reorder`): keep the collection order below, which puts the longest files first.
        config.option.loadscopereorder = False
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


def _share_botocore_loader() -> None:
    """One botocore model loader per test process, as one boto3 session would have.

    botocore parses a service's JSON model once per session (ec2's is 3 MB), and moto's `mock_aws` starts
    with no boto3 default session (moto 5.2.5 core/models.py: `patch("boto3.DEFAULT_SESSION", None)`), so
    every fixture that builds clients under moto re-read
    ecs, ec2, iam, lambda and secretsmanager. The models are files in the pinned botocore: sharing the loader
    (its cache keyed by service, type and API version) changes what is parsed how often, not what."""
    botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


# `make test` hands whole files to the two workers in collection order (`--dist loadfile`), so a long file
# collected last leaves one worker idle at the end. The longest files go first; the rest keep their order, and
# so does every file's tests. Order: seconds per file (the larger of its tests' wall time and their CPU time,
# subprocesses included, so a policy pack serving the file counts), measured 2026-12-01 in
# `pytest -n 2 --dist loadfile` with the runs shared, largest first (a file also pays for the shared runs it
# is first to ask for).
LONGEST_FIRST = (
    "test_policy_grpc_stacks.py",  # 11.4 s
    "test_iam_coverage.py",  # 9.6 s
    "test_config_first.py",  # 8.0 s
    "test_tco.py",  # 4.2 s
    "test_name_limits.py",  # 3.1 s
    "test_plan.py",  # 2.8 s
    "test_policy_grpc.py",  # 2.7 s
    "test_gpu_node_pool.py",  # 2.1 s
    "test_eks_serving.py",  # 2.0 s
    "test_ecs_validation.py",  # 1.9 s
    "test_preview.py",  # 1.9 s
    "test_az_offerings.py",  # 1.6 s
    "test_workflows.py",  # 1.5 s
    "test_model_service.py",  # 1.5 s
    "test_config.py",  # 1.4 s
    "test_github_oidc_role.py",  # 1.4 s
    "test_policy_plan.py",  # 1.3 s
    "test_warm_pool.py",  # 1.3 s
    "test_inference_alarms.py",  # 1.2 s
    "test_eks_program.py",  # 1.2 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
    gc.freeze()  # what collection imported (provider SDKs, test modules) lives all session: never re-walk it
