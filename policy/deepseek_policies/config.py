"""Pack-wide defaults, config resolution and environment detection.

Pulumi policy config is per policy (``{"<policy-name>": {"enforcementLevel": ..., <props>}}``, plus the
special key ``all`` for a pack-wide enforcement level). Every rule merges its own defaults (below) under
whatever the engine sent in ``Configure``, so the pack behaves the same with or without a config file.

Environment ("dev" | "staging" | "prod") of a resource, first match wins:
  1. the policy's config property ``environment`` (``--policy-pack-config``, or ``report.check(...,
     environment)`` / ``grpc_client.analyze_resources(..., environment=...)``, which set it on every
     policy that declares it) - an explicit operator choice pins the environment;
  2. the resource's own ``tags.environment`` (for an autoscaling group, its ``{key: environment}`` tag);
  3. for stack rules, the strictest ``environment`` tag found in the stack (prod > staging > dev);
  4. the stack config key ``deepseek-cloud:environment`` that the engine passes in ``PULUMI_CONFIG``;
  5. ``dev``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel

PACK_NAME = "deepseek-cloud-aws"
PROJECT = "deepseek-cloud"
ENVIRONMENT_CONFIG_KEY = f"{PROJECT}:environment"

ENVIRONMENTS = ("dev", "staging", "prod")
_ENV_ALIASES = {
    "dev": "dev",
    "development": "dev",
    "test": "dev",
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
    "prod": "prod",
    "production": "prod",
    "prd": "prod",
}
_ENV_RANK = {"dev": 0, "staging": 1, "prod": 2}

# Tag conventions the components must follow (documented in policy/README.md).
ROLE_TAG = "deepseek:role"
ROLE_LOAD_BALANCER = "load-balancer"
ROLE_GPU_POOL = "gpu-pool"
ROLE_ACCESS_LOGS = "access-logs"
TARGET_GROUP_TAG = "deepseek:target-group"

REQUIRED_TAGS = ["project", "environment", "owner"]
MAX_SIZE_BY_ENVIRONMENT = {"dev": 4, "staging": 8, "prod": 32}
ALLOWED_GPU_FAMILIES = ["g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200"]
PUBLIC_INGRESS_ALLOWED_PORTS = [80, 443]
# Security Hub ELB.17's sslPolicies parameter ("not customizable"), as listed on
# https://docs.aws.amazon.com/securityhub/latest/userguide/elb-controls.html#elb-17 (read 2026-12-01).
# ELBSecurityPolicy-TLS13-1-2-2021-06 (the ALB guide's general recommendation) is not on it.
ELB_RECOMMENDED_SSL_POLICIES = [
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
]

ENVIRONMENT_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": list(ENVIRONMENTS),
    "description": "Pins the environment for this rule instead of reading the resources' `environment` tag.",
}


def normalize_environment(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return _ENV_ALIASES.get(value.strip().lower())


def strictest(environments: Iterable[str | None]) -> str | None:
    known = [e for e in environments if e in _ENV_RANK]
    return max(known, key=_ENV_RANK.__getitem__) if known else None


def stack_config_environment() -> str | None:
    """`deepseek-cloud:environment` from the stack config the engine passes to policy packs."""
    raw = os.environ.get("PULUMI_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except ValueError:
        return None
    return normalize_environment(config.get(ENVIRONMENT_CONFIG_KEY)) if isinstance(config, dict) else None


def resolve_environment(config: Mapping[str, Any], *tag_sources: Mapping[str, Any] | None) -> str:
    env = normalize_environment(config.get("environment"))
    if env:
        return env
    for tags in tag_sources:
        if isinstance(tags, Mapping):
            env = normalize_environment(tags.get("environment"))
            if env:
                return env
    return stack_config_environment() or "dev"


# -- enforcement levels / per-policy config, shared by report.check and grpc_client -------------------

_LEVELS = {level.value: level for level in EnforcementLevel}


def parse_level(value: Any) -> EnforcementLevel | None:
    if isinstance(value, EnforcementLevel):
        return value
    if isinstance(value, str):
        return _LEVELS.get(value.strip().lower())
    return None


def resolve_policy_config(
    policies: Iterable[tuple[str, EnforcementLevel | str, Iterable[str]]],
    user_config: Mapping[str, Any] | None = None,
    environment: str | None = None,
) -> dict[str, tuple[EnforcementLevel, dict[str, Any]]]:
    """Effective (level, properties) per policy, as the Pulumi CLI computes it before `Configure`.

    ``policies``: (name, default level, config-schema property names). ``user_config`` follows the
    ``--policy-pack-config`` JSON shape. ``environment``, when given, is set as the ``environment``
    property of every policy whose schema declares one (unless the user config sets it explicitly).
    """
    user_config = dict(user_config or {})
    env = normalize_environment(environment) if environment else None
    if environment and not env:
        raise ValueError(f"unknown environment {environment!r}; expected one of {', '.join(ENVIRONMENTS)}")
    all_entry = user_config.get("all")
    all_level = parse_level(all_entry if not isinstance(all_entry, Mapping) else all_entry.get("enforcementLevel"))
    resolved: dict[str, tuple[EnforcementLevel, dict[str, Any]]] = {}
    for name, default_level, schema_props in policies:
        level = all_level or parse_level(default_level) or EnforcementLevel.MANDATORY
        props: dict[str, Any] = {}
        if env and "environment" in set(schema_props):
            props["environment"] = env
        entry = user_config.get(name)
        if isinstance(entry, Mapping):
            entry_level = parse_level(entry.get("enforcementLevel"))
            if entry.get("enforcementLevel") is not None and entry_level is None:
                raise ValueError(f"{name}: invalid enforcementLevel {entry.get('enforcementLevel')!r}")
            level = entry_level or level
            props.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
        elif entry is not None:
            entry_level = parse_level(entry)
            if entry_level is None:
                raise ValueError(f"{name}: invalid enforcement level {entry!r}")
            level = entry_level
        resolved[name] = (level, props)
    unknown = set(user_config) - {"all"} - set(resolved)
    if unknown:
        raise ValueError(f"config for unknown policies: {', '.join(sorted(unknown))}")
    return resolved
