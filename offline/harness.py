"""Run the real `__main__.py` under Pulumi's mock runtime with a stack's config, as the engine would.

`run_program("dev")` reads Pulumi.dev.yaml (plus Pulumi.yaml defaults, as the CLI applies them) and
returns every registration with its inputs as the engine would receive them, the stack outputs, and the
set of values only AWS would know. Each call is a fresh mock run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import copy
import fcntl
import functools
import hashlib
import json
import os
import pickle
import runpy
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import ESTABLISHED, AccountFixture, RecordedAwsMocks, RecordingMonitor, Registration
from stacks.yaml_files import YamlFileError, read_yaml_mapping

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "deepseek-cloud"


@dataclass
class ProgramRun:
    stack: str
    region: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    computed: set[str]
    calls: list[str] = field(default_factory=list)
    program_globals: dict[str, Any] = field(default_factory=dict)  # __main__.py's module namespace after the run
    invokes: list[tuple[str, dict]] = field(default_factory=list)  # data-source calls with their arguments

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str, under: str = "") -> Registration:
        """The one resource of a type (`under`: of those whose parent URN names this component type/name)."""
        found = [r for r in self.of_type(type_token) if under in r.parent]
        assert len(found) == 1, f"expected one {type_token}, found {len(found)}"
        return found[0]

    def by_name(self, name: str) -> Registration:
        return next(r for r in self.registrations if r.name == name)


def stack_names(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def platform_stacks(platform: str, root: Path = ROOT) -> list[str]:
    """The shipped stacks of one platform (ecs | eks), e.g. for checks of what only ECS declares."""
    return [s for s in stack_names(root) if stack_config(s, root).get(f"{PROJECT}:platform") == platform]


def stack_config(stack: str, root: Path = ROOT, stack_file: str | Path | None = None) -> dict[str, Any]:
    """The config map the CLI would hand the program: project defaults, then the stack's values."""
    path = Path(stack_file) if stack_file else root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack config {path.name}; stacks: {', '.join(stack_names(root))}")
    project = _config_section(root / "Pulumi.yaml")
    declared = {k if ":" in k else f"{PROJECT}:{k}": v for k, v in project.items()}
    config = {k: copy.deepcopy(v["default"]) for k, v in declared.items() if isinstance(v, dict) and "default" in v}
    config.update(_config_section(path))
    return config


def _config_section(path: Path) -> dict[str, Any]:
    section = read_yaml_mapping(path).get("config") or {}
    if not isinstance(section, dict):
        raise YamlFileError(path, f"config: must be a mapping of keys, not a {type(section).__name__}")
    return section


def set_path(config: dict[str, Any], dotted: str, value: Any) -> None:
    """`pulumi config set --path` semantics: `deepseek-cloud:gpuPool.spot.enabled`."""
    key, _, rest = dotted.partition(".")
    if not rest:
        config[key] = value
        return
    node = config.setdefault(key, {})
    parts = rest.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _wire(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def run_program(
    stack: str = "dev",
    overrides: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    main: Path = ROOT / "__main__.py",
    project: str = PROJECT,
    account: AccountFixture = ESTABLISHED,
    preview: bool = False,
) -> ProgramRun:
    """Run `main` under mocks. `overrides` use `pulumi config set --path` keys; `config` replaces the file;
    `project` is the Pulumi project the program belongs to (URNs, `pulumi.get_project()`); `account` is
    what the account already holds (default: its service-linked roles exist; `FRESH`: a new account);
    `preview` runs it as `pulumi preview` would: what AWS assigns is unknown, and `apply` callbacks on it
    do not run.

    The program runs at the bottom of a thread of its own, with its own event loop, as the language host
    runs it at the bottom of its process. Pulumi records a stack trace for every resource (`_get_stack_trace`
    walks every frame): called from inside pytest, a run paid for ~36 more frames per resource (58 instead
    of 22, counted 2026-12-01). What the program sets in Pulumi's context variables (settings, monitor) is
    copied back into the caller's context, so the caller sees the run's monitor as if it ran in place; an
    exception reaches the caller as raised."""
    values = copy.deepcopy(config) if config is not None else stack_config(stack)
    for dotted, value in (overrides or {}).items():
        set_path(values, dotted, value)
    context = contextvars.copy_context()
    outcome: dict[str, Any] = {}

    def target() -> None:
        loop = asyncio.new_event_loop()
        # The SDK sends each RPC to the mock monitor from the loop's default executor; a mock that awaits
        # something there (the stack transforms serialize with `_sync_await`) gets an event loop of that
        # worker thread. Each worker's loop is made here and closed with the run, not left to the collector.
        worker_loops: list[asyncio.AbstractEventLoop] = []

        def worker_loop() -> None:
            worker_loops.append(asyncio.new_event_loop())
            asyncio.set_event_loop(worker_loops[-1])

        executor = concurrent.futures.ThreadPoolExecutor(
            thread_name_prefix=f"mock-rpc-{stack}", initializer=worker_loop
        )
        loop.set_default_executor(executor)
        asyncio.set_event_loop(loop)
        try:
            outcome["run"] = context.run(_run_in_place, stack, values, main, project, account, preview)
        except BaseException as exc:  # handed to the caller below, as raised
            outcome["error"] = exc
        finally:
            asyncio.set_event_loop(None)
            loop.close()
            executor.shutdown(wait=True)
            for each in worker_loops:
                each.close()

    thread = threading.Thread(target=target, name=f"pulumi-program-{stack}")
    thread.start()
    thread.join()
    for var, value in context.items():
        var.set(value)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["run"]


def _run_in_place(
    stack: str, values: dict[str, Any], main: Path, project: str, account: AccountFixture, preview: bool
) -> ProgramRun:
    region = values.get("aws:region") or ""
    mocks = RecordedAwsMocks(region=region, account=account, preview=preview)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_all_config({k: _wire(v) for k, v in values.items()})
    # A fresh root stack per run: set_mocks reuses an existing one, which would carry the last run's outputs.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    namespace: dict[str, Any] = {}
    _sync_await(run_pulumi_func(lambda: namespace.update(runpy.run_path(str(main), run_name="__main__"))))
    root = pulumi.runtime.get_root_resource()
    outputs = {}
    for name, value in (root.outputs if root is not None else {}).items():
        output = pulumi.Output.from_input(value)
        # A preview leaves what AWS assigns unknown; keep it as the engine's unknown sentinel, not None.
        outputs[name] = _sync_await(output.future()) if _sync_await(output.is_known()) else rpc.UNKNOWN
    return ProgramRun(
        stack, region, monitor.registrations, outputs, mocks.computed, mocks.calls, namespace, mocks.invokes
    )


def tree_order(registrations: list[Registration]) -> list[Registration]:
    """Parents before their children, siblings by type and name. The SDK sends RegisterResource from a
    thread pool (pulumi/runtime/resource.py, `do_register` → `loop.run_in_executor`), so arrival order
    (`ProgramRun.registrations`) changes from run to run; what a plan or a policy report lists must not."""
    by_parent: dict[str, list] = {}
    urns = {r.urn for r in registrations}
    for r in registrations:
        by_parent.setdefault(r.parent if r.parent in urns else "", []).append(r)
    ordered: list = []
    pending = sorted(by_parent.get("", []), key=lambda r: (r.type, r.name), reverse=True)
    while pending:
        r = pending.pop()
        ordered.append(r)
        pending.extend(sorted(by_parent.get(r.urn, []), key=lambda c: (c.type, c.name), reverse=True))
    return ordered


def engine_inputs(registration: Registration) -> dict[str, Any]:
    """Inputs with secrets unwrapped to their values, as a policy analyzer sees them."""
    return rpc.unwrap_rpc_secret(registration.inputs) if isinstance(registration.inputs, dict) else {}


def _freeze(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


_SHARED: dict[tuple[str, str, str], ProgramRun] = {}
_RUN_CACHE: dict[str, Path | None] = {"dir": None}
# What a run depends on: the program, its components and stack code, the mocks and recorded data, the config.
_SOURCES = ("__main__.py", "Pulumi*.yaml", "components/**/*", "stacks/**/*", "offline/**/*", "requirements.lock")


def use_run_cache(directory: str | Path | None) -> None:
    """Share `shared_run` results through `directory` (pickles), e.g. between the test session's xdist workers.

    tests/conftest.py points both workers at one fresh directory per session and removes it afterwards, so a
    stack+config runs once per session instead of once per worker; entries are also keyed by a hash of every
    source file a run depends on (`_SOURCES`), so an edit during the session is never served a stale run.
    """
    _RUN_CACHE["dir"] = Path(directory) if directory else None


@functools.cache
def source_fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    files = sorted(
        {p for pattern in _SOURCES for p in root.glob(pattern) if p.is_file() and "__pycache__" not in p.parts}
    )
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _shareable(run: ProgramRun) -> ProgramRun:
    """What tests read of a shared run: registrations, outputs, calls, invokes, and the StackContext."""
    run.program_globals = {"context": run.program_globals["context"]} if "context" in run.program_globals else {}
    return run


def _disk_cached(key: tuple[str, str, str], compute) -> ProgramRun:
    directory = _RUN_CACHE["dir"]
    if directory is None:
        return compute()
    name = hashlib.sha256(json.dumps([source_fingerprint(), *key]).encode()).hexdigest()
    path = directory / f"{name}.pickle"
    with open(directory / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits for this run rather than repeating it
        if path.exists():
            return pickle.loads(path.read_bytes())
        run = compute()
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(run))
        os.replace(partial, path)
        return run


def shared_run(stack: str = "dev", overrides: dict[str, Any] | None = None, preview: bool = False) -> ProgramRun:
    """One mock run per (stack, overrides, preview) per test session, for tests that only read the result.

    Per process it is kept in memory; with `use_run_cache` (the test session) it is also shared between
    processes. Only the StackContext of `__main__.py`'s globals is kept (`program_globals["context"]`).
    Tests that mutate a run, pass their own program (`main=`) or a replacement config call `run_program`.
    """
    key = (stack, _freeze(overrides or {}), "preview" if preview else "up")
    if key not in _SHARED:
        _SHARED[key] = _disk_cached(key, lambda: _shareable(run_program(stack, overrides=overrides, preview=preview)))
    return _SHARED[key]
