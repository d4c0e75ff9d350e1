"""Drive the policy pack the way the Pulumi engine does, over the analyzer gRPC protocol.

The engine boots a Python policy pack through `pulumi-analyzer-policy-python`, i.e. it runs
`python -u -m pulumi.policy <engine-address> .` with the pack directory as working directory and
PULUMI_CONFIG / PULUMI_PROJECT / PULUMI_STACK / PULUMI_DRY_RUN / PULUMI_ORGANIZATION in the
environment; `pulumi.policy` runs `./__main__.py`, whose `PolicyPack(...)` serves the Analyzer
service on 127.0.0.1 and prints the port as the first stdout line. The engine then calls
Handshake (UNIMPLEMENTED in pulumi-policy 1.21; tolerated), ConfigureStack, GetAnalyzerInfo,
Configure (every policy with its effective enforcement level - an omitted level would decode as
ADVISORY - and config properties), Analyze once per resource (inputs) and AnalyzeStack once with
every resource's state. This module does the same with the protobufs shipped in `pulumi`.

    from deepseek_policies.grpc_client import analyze_resources
    violations = analyze_resources(resources, environment="dev")

Each violation: {policy, level, message, description, urn, type, name, stage, pack}.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from deepseek_policies.config import PROJECT, resolve_policy_config
from deepseek_policies.resources import Resource, normalize

POLICY_DIR = Path(__file__).resolve().parents[1]
_MAX_MESSAGE = 1024 * 1024 * 400
_LEVEL_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
    analyzer_pb2.REMEDIATE: "remediate",
}
_LEVEL_VALUES = {v: k for k, v in _LEVEL_NAMES.items()}


class PolicyPackError(RuntimeError):
    pass


def _struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(dict(data))
    return s


class PolicyPackProcess:
    """One running policy-pack subprocess plus a gRPC channel to it. Use as a context manager."""

    def __init__(
        self,
        policy_dir: str | Path = POLICY_DIR,
        *,
        python: str | None = None,
        stack: str = "dev",
        project: str = PROJECT,
        organization: str = "organization",
        stack_config: Mapping[str, Any] | None = None,
        dry_run: bool = True,
        start_timeout: float = 60.0,
        rpc_timeout: float = 120.0,
    ) -> None:
        self.policy_dir = Path(policy_dir)
        self.python = python or sys.executable
        self.stack, self.project, self.organization = stack, project, organization
        # Stack config as the engine passes it: "<namespace>:<key>" -> string (objects JSON-encoded).
        self.stack_config = {
            str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (stack_config or {}).items()
        }
        self.dry_run = dry_run
        self.start_timeout, self.rpc_timeout = start_timeout, rpc_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self.stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self.info: analyzer_pb2.AnalyzerInfo | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.last_stderr = ""

    # -- lifecycle ------------------------------------------------------------------------------------
    def __enter__(self) -> PolicyPackProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "PULUMI_PROJECT": self.project,
                "PULUMI_STACK": self.stack,
                "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
                "PULUMI_ORGANIZATION": self.organization,
            }
        )
        if self.stack_config:
            env["PULUMI_CONFIG"] = json.dumps(self.stack_config)
        else:
            env.pop("PULUMI_CONFIG", None)
        # No engine runs here; pulumi.policy only needs a well-formed address argument.
        cmd = [self.python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.policy_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,  # own process group, so close() can end the pack and only it
        )
        port = self._read_port()
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{port}",
            options=[("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.max_send_message_length", _MAX_MESSAGE)],
        )
        grpc.channel_ready_future(self.channel).result(timeout=self.start_timeout)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self._handshake()
        self.configure_stack(self.stack)
        self.info = self.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=self.rpc_timeout)

    def configure_stack(self, stack: str) -> None:
        """Send ConfigureStack for `stack`; later `analyze` calls name their resources' URNs after it.

        The engine sends it once per pack process; sending it again lets one running pack analyze several
        stacks in turn (the test suite does, to start one pack instead of one per stack). pulumi-policy 1.21's
        ConfigureStack only records the request's tags, and `analyze` sends Configure (every policy's level and
        config) before each stack, so nothing of the previous stack's configuration remains."""
        assert self.stub is not None
        self.stack = stack
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self.stack,
                project=self.project,
                organization=self.organization,
                dry_run=self.dry_run,
                config=self.stack_config or {},
            ),
            timeout=self.rpc_timeout,
        )

    def _read_port(self) -> int:
        assert self.proc is not None and self.proc.stdout is not None
        lines: queue.Queue[bytes] = queue.Queue()
        stdout = self.proc.stdout
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=self.start_timeout)
        except queue.Empty:
            self.close()
            raise PolicyPackError(f"policy pack did not print its port within {self.start_timeout}s") from None
        try:
            return int(line.decode().strip())
        except ValueError:
            err = self.stderr_text()
            self.close()
            raise PolicyPackError(f"policy pack failed to start (stdout {line!r}):\n{err}") from None

    def _handshake(self) -> None:
        assert self.stub is not None
        try:
            self.stub.Handshake(
                analyzer_pb2.AnalyzerHandshakeRequest(
                    engine_address="127.0.0.1:0",
                    root_directory=str(self.policy_dir),
                    program_directory=str(self.policy_dir),
                ),
                timeout=self.rpc_timeout,
            )
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNIMPLEMENTED:  # the engine falls back the same way
                raise

    def stderr_text(self) -> str:
        if self._stderr.closed:
            return self.last_stderr
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if not self._stderr.closed and proc is not None:
            self.last_stderr = self.stderr_text()
            self._stderr.close()

    # -- protocol --------------------------------------------------------------------------------------
    def policies(self) -> list[tuple[str, str, list[str]]]:
        """(name, default level, config-schema property names) from GetAnalyzerInfo."""
        assert self.info is not None
        return [
            (
                p.name,
                _LEVEL_NAMES[p.enforcementLevel],
                list(json_format.MessageToDict(p.configSchema.properties)) if p.HasField("configSchema") else [],
            )
            for p in self.info.policies
        ]

    def configure(self, environment: str | None = None, config: Mapping[str, Any] | None = None) -> None:
        assert self.stub is not None
        resolved = resolve_policy_config(self.policies(), config, environment)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in resolved.items():
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(enforcementLevel=_LEVEL_VALUES[level.value], properties=_struct(props))
            )
        self.stub.Configure(request, timeout=self.rpc_timeout)

    @staticmethod
    def _options(r: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
        return analyzer_pb2.AnalyzerResourceOptions(parent=r.parent or "")

    @staticmethod
    def _provider(r: Resource) -> analyzer_pb2.AnalyzerProviderResource | None:
        if not r.provider:
            return None
        p = r.provider
        return analyzer_pb2.AnalyzerProviderResource(
            type=p["type"], name=p["name"], urn=p["urn"], properties=_struct(p["inputs"])
        )

    def analyze(
        self,
        resources: Iterable[Mapping[str, Any]],
        environment: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        assert self.stub is not None
        self.configure(environment, config)
        normalized = normalize(resources, stack=self.stack, project=self.project)
        by_urn = {r.urn: r for r in normalized}
        descriptions = {p.name: p.description for p in self.info.policies} if self.info else {}
        out: list[dict[str, Any]] = []

        def collect(response: analyzer_pb2.AnalyzeResponse, stage: str, default_urn: str | None) -> None:
            for d in response.diagnostics:
                urn = d.urn or default_urn or ""
                target = by_urn.get(urn)
                description = d.description or descriptions.get(d.policyName, "")
                message = d.message
                if description and message.startswith(description):
                    message = message[len(description) :].lstrip("\n")  # pulumi-policy prepends the description
                out.append(
                    {
                        "policy": d.policyName,
                        "level": _LEVEL_NAMES[d.enforcementLevel],
                        "message": message,
                        "description": description,
                        "urn": urn,
                        "type": target.type if target else None,
                        "name": target.name if target else None,
                        "stage": stage,
                        "pack": d.policyPackName,
                    }
                )

        for r in normalized:
            request = analyzer_pb2.AnalyzeRequest(
                type=r.type, name=r.name, urn=r.urn, properties=_struct(r.inputs), options=self._options(r)
            )
            provider = self._provider(r)
            if provider is not None:
                request.provider.CopyFrom(provider)
            collect(self.stub.Analyze(request, timeout=self.rpc_timeout), "resource", r.urn)

        stack_request = analyzer_pb2.AnalyzeStackRequest()
        for r in normalized:
            item = analyzer_pb2.AnalyzerResource(
                type=r.type,
                name=r.name,
                urn=r.urn,
                properties=_struct(r.stack_props),
                options=self._options(r),
                parent=r.parent or "",
                dependencies=r.dependencies,
            )
            provider = self._provider(r)
            if provider is not None:
                item.provider.CopyFrom(provider)
            for k, urns in r.property_dependencies.items():
                item.propertyDependencies[k].urns.extend(urns)
            stack_request.resources.append(item)
        collect(self.stub.AnalyzeStack(stack_request, timeout=self.rpc_timeout), "stack", None)
        return out


def analyze_resources(
    resources: list[dict],
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
    *,
    stack: str | None = None,
    policy_dir: str | Path = POLICY_DIR,
    python: str | None = None,
    timeout: float = 120.0,
) -> list[dict]:
    """Start the pack, analyze `resources` (see resources.py for the dict shape) and stop it.

    `environment` pins dev|staging|prod for the environment-aware rules (else resources' `environment`
    tags decide); `config` is policy-pack config (`{"all": "advisory"}`, `{"<policy>": {...}}`).
    Returns the violations as dicts: {policy, level, message, description, urn, type, name, stage, pack}.
    """
    with PolicyPackProcess(
        policy_dir, python=python, stack=stack or environment or "dev", start_timeout=timeout, rpc_timeout=timeout
    ) as pack:
        return pack.analyze(resources, environment, config)
