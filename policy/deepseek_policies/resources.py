"""The resource-dict shape `report.check` and `grpc_client.analyze_resources` accept.

    {
      "type":   "aws:ec2/launchTemplate:LaunchTemplate",   # required
      "name":   "gpu-lt",                                   # required (Pulumi logical name)
      "urn":    "urn:pulumi:dev::deepseek-cloud::...",       # optional, synthesized from stack/type/name
      "inputs": {...camelCase engine properties...},        # what resource rules (Analyze) see
      "parent": "urn:...",                                   # optional parent URN
      # optional, used by stack rules (AnalyzeStack) the way the engine uses them:
      "outputs": {...},            # merged over inputs for stack rules (e.g. arnSuffix, bucket, name)
      "id": "...",                 # added to the stack-rule properties as `id`
      "dependencies": ["urn:..."],
      "propertyDependencies": {"bucket": ["urn:..."]},
      "provider": {"type": "pulumi:providers:aws", "name": "...", "urn": "...", "inputs": {...}},
    }

Values may be plain JSON, `pulumi.output.Unknown` (dry-run deserialization), pulumi-policy unknown
sentinels, or Pulumi secret envelopes; all are normalized by `common.plain`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deepseek_policies.common import plain
from deepseek_policies.config import PROJECT


@dataclass
class Resource:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    parent: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: dict[str, Any] | None = None

    @property
    def stack_props(self) -> dict[str, Any]:
        """What the engine sends to AnalyzeStack: the resource's state (inputs + outputs, with `id`)."""
        props = {**self.inputs, **{k: v for k, v in self.outputs.items() if v is not None}}
        if self.id and "id" not in props:
            props["id"] = self.id
        return props


def make_urn(stack: str, resource_type: str, name: str, project: str = PROJECT) -> str:
    return f"urn:pulumi:{stack}::{project}::{resource_type}::{name}"


def normalize(resources: Iterable[Mapping[str, Any]], stack: str = "dev", project: str = PROJECT) -> list[Resource]:
    out: list[Resource] = []
    for i, r in enumerate(resources):
        if not isinstance(r, Mapping) or not r.get("type") or not r.get("name"):
            raise ValueError(f"resource #{i} needs at least 'type' and 'name': {r!r}")
        provider = r.get("provider")
        provider_dict = None
        if isinstance(provider, Mapping):
            provider_dict = {
                "type": str(provider.get("type") or "pulumi:providers:aws"),
                "name": str(provider.get("name") or "default"),
                "urn": str(provider.get("urn") or ""),
                "inputs": plain(provider.get("inputs") or provider.get("props") or {}),
            }
        out.append(
            Resource(
                type=str(r["type"]),
                name=str(r["name"]),
                urn=str(r.get("urn") or make_urn(stack, str(r["type"]), str(r["name"]), project)),
                inputs=plain(r.get("inputs") or {}),
                parent=str(r["parent"]) if r.get("parent") else None,
                outputs=plain(r.get("outputs") or {}),
                id=str(r["id"]) if isinstance(r.get("id"), str) and r.get("id") else None,
                dependencies=[str(d) for d in r.get("dependencies") or []],
                property_dependencies={
                    str(k): [str(u) for u in v] for k, v in (r.get("propertyDependencies") or {}).items() if v
                },
                provider=provider_dict,
            )
        )
    return out
