"""What the gate tests and against what: the stack's SLO section and scaling target (from the stack files,
parsed by stacks/config.py's models), and the endpoint URL and API key (flags, environment, or the stack
outputs and Secrets Manager)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.catalog import load_catalog
from stacks.config import (
    AlarmsConfig,
    ModelConfig,
    ScalingConfig,
    SloConfig,
    _parse_sections,
    _slo_problems,
    with_defaults,
)
from stacks.errors import NAMESPACE, ConfigError
from stacks.yaml_files import read_yaml_mapping

ROOT = Path(__file__).resolve().parent.parent
URL_ENV, KEY_ENV = "GATE_ENDPOINT_URL", "GATE_API_KEY"
SECTIONS = ("model", "scaling", "alarms", "slo")


class GateError(Exception):
    """A one-line reason the gate cannot run or did not pass."""


@dataclass(frozen=True)
class StackSettings:
    stack: str
    model: ModelConfig
    served_model: str
    hf_id: str
    scaling: ScalingConfig
    alarms: AlarmsConfig
    slo: SloConfig


def stack_settings(stack: str, root: Path = ROOT) -> StackSettings:
    """The sections the gate reads, with Pulumi.yaml's defaults filled in; bad values as one ConfigError."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise GateError(f"no stack config {path.name}; stacks: {', '.join(stacks)}")
    prefix = f"{NAMESPACE}:"
    given = read_yaml_mapping(path).get("config") or {}
    raw = {k[len(prefix) :]: v for k, v in given.items() if k.startswith(prefix)}
    sections, problems, _stand_ins = _parse_sections(with_defaults(raw))
    problems = [p for p in problems if p.path.split(".")[0].split("[")[0] in SECTIONS]
    if not problems:
        problems = _slo_problems(sections["slo"], sections["model"])
    if problems:
        raise ConfigError(problems)
    model: ModelConfig = sections["model"]
    spec = load_catalog().resolve(model.name)
    served = model.served_model_name or (spec.key if spec else model.name)
    hf_id = spec.hf_id if spec else model.name
    return StackSettings(stack, model, served, hf_id, sections["scaling"], sections["alarms"], sections["slo"])


@dataclass(frozen=True)
class Endpoint:
    url: str
    api_key: str
    outputs: dict[str, Any]


# Stack outputs a deploy job already has (pulumi/actions sets each as a step output) can come from the environment.
OUTPUT_ENV = {
    "endpointUrl": URL_ENV,
    "apiKeySecretArn": "GATE_API_KEY_SECRET_ARN",
    "clusterName": "GATE_ECS_CLUSTER",
    "serviceName": "GATE_ECS_SERVICE",
}


def resolve_endpoint(stack: str, url: str | None, api_key: str | None) -> Endpoint:
    """Flags first, then the GATE_* environment, then `pulumi stack output`; the key from Secrets Manager."""
    outputs: dict[str, Any] = {k: os.environ[v] for k, v in OUTPUT_ENV.items() if os.environ.get(v)}
    url, api_key = url or outputs.get("endpointUrl"), api_key or os.environ.get(KEY_ENV)
    if not url or not (api_key or outputs.get("apiKeySecretArn")):
        outputs = {**stack_outputs(stack), **outputs}
        url = url or outputs.get("endpointUrl")
    if not url:
        raise GateError(f"stack {stack} has no endpointUrl output (is it deployed?)")
    api_key = api_key or secret_string(str(outputs.get("apiKeySecretArn") or ""))
    return Endpoint(str(url).rstrip("/"), api_key, outputs)


def stack_outputs(stack: str) -> dict[str, Any]:
    if not shutil.which("pulumi"):
        raise GateError(
            f"no pulumi CLI to read stack {stack}'s outputs: pass --url and --api-key (or {URL_ENV}/{KEY_ENV})"
        )
    try:
        done = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--stack", stack],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GateError(f"pulumi stack output --stack {stack}: no answer in 120 s") from exc
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise GateError(f"pulumi stack output --stack {stack}: {last}")
    return json.loads(done.stdout or "{}")


def secret_string(arn: str) -> str:
    """The API key vLLM checks (`--api-key`), read from the stack's Secrets Manager secret."""
    if not arn.startswith("arn:"):
        raise GateError("no apiKeySecretArn output to read the API key from: pass --api-key")
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = boto3.client("secretsmanager", region_name=arn.split(":")[3])
        value = client.get_secret_value(SecretId=arn)["SecretString"]
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise GateError(f"reading the API key from {arn}: {exc}") from exc
    return value.strip()


def running_replicas(outputs: dict[str, Any]) -> int | None:
    """ECS runningCount of the stack's service, when the outputs name it and AWS answers."""
    cluster, service = outputs.get("clusterName"), outputs.get("serviceName")
    if not (cluster and service):
        return None
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = boto3.client("ecs").describe_services(cluster=cluster, services=[service])["services"]
    except (BotoCoreError, ClientError):
        return None
    return int(found[0]["runningCount"]) if found else None
