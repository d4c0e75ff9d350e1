"""Stack config: declared once in Pulumi.yaml, parsed once here into frozen typed objects.

`load_stack()` reads the `deepseek-cloud:*` keys (and `aws:region`), fills what a stack leaves out from
Pulumi.yaml's defaults, validates types and ranges with pydantic, then checks the values against AWS's
own facts (regions, AZs, instance types) and the GPU sizing. Every problem is collected and raised as
one ConfigError before any resource is declared.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import ipaddress
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pulumi
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError
from pydantic.alias_generators import to_camel

from components.ecs.autoscaling import CRON as SCHEDULE_CRON
from components.ecs.capacity import AMI_SNAPSHOT_GIB
from components.shared.ebs import GP3_MAX_GIB
from components.shared.image import base_image
from components.shared.inference_alarms import SNS_TOPIC_ARN
from components.shared.model_secrets import SECRET_ARN
from components.shared.web_acl import ALB_BODY_INSPECTION_BYTES, COMMON_RULES, MIN_BODY_BYTES_PER_TOKEN
from stacks import aws_facts
from stacks.account import service_linked_role_problems
from stacks.aws_facts import InstanceFacts
from stacks.catalog import ModelSpec, load_catalog
from stacks.eks_checks import eks_problems, eks_warnings
from stacks.errors import NAMESPACE, ConfigError, Problem, allowed_list, did_you_mean, show
from stacks.names import stack_name_problems
from stacks.sizing import Sizing, fitting_alternatives, size_across_nodes, size_pool
from stacks.yaml_files import read_yaml

PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"

Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
Percent = Annotated[int, Strict(), Field(ge=0, le=100)]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=False)


class ModelConfig(_Config):
    name: Str = Field(min_length=1)
    max_model_len: Int = Field(gt=0)
    gpu_memory_utilization: Float = Field(gt=0, le=1)
    served_model_name: Str
    load_from: Literal["s3", "hub"]


class PullThroughCacheConfig(_Config):
    credential_arn: Str = Field(
        pattern=r"^(|arn:aws[\w-]*:secretsmanager:[\w-]+:\d{12}:secret:ecr-pullthroughcache/.+)$"
    )


class ImageConfig(_Config):
    source: Literal["build", "uri"]
    uri: Str = Field(pattern=r"^(|[\w.:/-]+?(:[\w.-]+)?@sha256:[0-9a-f]{64})$")
    pull_through_cache: PullThroughCacheConfig


class SpotConfig(_Config):
    enabled: Bool
    on_demand_base_capacity: Int = Field(ge=0)
    on_demand_percentage_above_base_capacity: Percent
    spot_allocation_strategy: Literal[
        "price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"
    ]


class WarmPoolConfig(_Config):
    enabled: Bool
    min_size: Int = Field(ge=0)
    max_group_prepared_capacity: Int = Field(ge=0)


class GpuPoolConfig(_Config):
    instance_types: tuple[Str, ...] = Field(min_length=1)
    min_size: Int = Field(ge=0)
    max_size: Int = Field(ge=1)
    target_capacity: Int = Field(ge=1, le=100)
    root_volume_gib: Int = Field(ge=0, le=GP3_MAX_GIB, alias="rootVolumeGiB")
    spot: SpotConfig
    warm_pool: WarmPoolConfig


class ScheduledScaling(_Config):
    name: Str = Field(pattern=r"^[A-Za-z0-9-]{1,40}$")
    cron: Str = Field(min_length=9)
    min_replicas: Int = Field(ge=0)
    max_replicas: Int = Field(ge=0)


class ScalingConfig(_Config):
    metric: Literal["qps", "queueDepth"]
    target_qps_per_replica: Float = Field(gt=0)
    target_queue_depth_per_replica: Float = Field(gt=0)
    min_replicas: Int = Field(ge=0)
    max_replicas: Int = Field(ge=1)
    scale_out_cooldown_seconds: Int = Field(ge=0, le=3600)
    scale_in_cooldown_seconds: Int = Field(ge=0, le=86400)
    schedule: tuple[ScheduledScaling, ...]


class NetworkConfig(_Config):
    cidr: ipaddress.IPv4Network
    az_count: Int = Field(ge=2, le=6)
    nat_gateways: Literal["auto", "single", "perAz"]
    vpc_id: Str
    public_subnet_ids: tuple[Str, ...]
    private_subnet_ids: tuple[Str, ...]

    @property
    def adopts_existing(self) -> bool:
        return bool(self.vpc_id)


class WafConfig(_Config):
    enabled: Literal["auto", True, False]
    rate_limit_per5_min: Int = Field(ge=10, le=2_000_000_000, alias="rateLimitPer5Min")
    max_body_bytes: Int = Field(ge=0, le=2_000_000_000)
    count_rules: tuple[Str, ...]

    def enabled_in(self, environment: str) -> bool:
        """auto: prod only."""
        return self.enabled is True or (self.enabled == "auto" and environment == "prod")


class ServingConfig(_Config):
    image: Str = Field(pattern=r"^[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$")
    allowed_cidrs: tuple[ipaddress.IPv4Network, ...]
    certificate_arn: Str = Field(pattern=r"^(|arn:aws[\w-]*:acm:[\w-]+:\d{12}:certificate/[\w-]+)$")
    api_key_secret_arn: Str = Field(pattern=r"^(|arn:aws[\w-]*:secretsmanager:.+)$")
    hf_token_secret_arn: Str = Field(pattern=r"^(|arn:aws[\w-]*:secretsmanager:.+)$")
    secrets_kms_key_arns: tuple[
        Annotated[str, Strict(), Field(pattern=r"^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key/[\w-]+$")], ...
    ]
    # Secrets Manager's AutomaticallyAfterDays is 1-1000; SecretsManager.4's default maxDaysSinceRotation is 90.
    api_key_rotation_days: Int = Field(ge=1, le=90)
    waf: WafConfig


class AlarmsConfig(_Config):
    emails: tuple[Annotated[str, Strict(), Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")], ...]
    topic_arn: Str = Field(pattern=r"^(|arn:aws[\w-]*:sns:.+)$")
    error_rate_percent: Float = Field(gt=0, le=100)
    p99_latency_seconds: Float = Field(gt=0, le=3600)
    gpu_utilization_high_percent: Percent
    gpu_utilization_low_percent: Percent
    replica_startup_minutes: Int = Field(ge=0, le=1440)  # 0: from the cold-start estimate


class SloConfig(_Config):
    """The deploy gate's service-level objectives and the traffic shape the load test offers (gate/)."""

    ttft_p99_seconds: Float = Field(gt=0, le=600, alias="ttftP99Seconds")
    tpot_p99_seconds: Float = Field(gt=0, le=60, alias="tpotP99Seconds")
    input_tokens: Int = Field(ge=1)
    output_tokens: Int = Field(ge=1)
    request_rate: Float = Field(ge=0)
    concurrency: Int = Field(ge=0)
    duration_seconds: Int = Field(ge=10, le=3600)


class SystemPoolConfig(_Config):
    instance_type: Str = Field(min_length=1)
    size: Int = Field(ge=1, le=10)


class EksConfig(_Config):
    kubernetes_version: Str
    endpoint_public_access: Bool
    public_access_cidrs: tuple[ipaddress.IPv4Network, ...]
    system_pool: SystemPoolConfig
    admin_role_arn: Str = Field(pattern=r"^(|arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+)$")


class IamConfig(_Config):
    # Must equal the ci stack's deepseek-cloud-ci:permissionsBoundaryArn when that is set, or CreateRole is denied.
    permissions_boundary_arn: Str = Field(pattern=r"^(|arn:aws[\w-]*:iam::(\d{12}|aws):policy/[\w+=,.@/-]+)$")


def _not_aws_prefixed(key: str) -> str:
    if key.lower().startswith("aws:"):
        raise ValueError("the aws: prefix is reserved for AWS")
    return key


TagKey = Annotated[
    str, Strict(), Field(min_length=1, max_length=128, pattern=r"^[\w .:/=+\-@]+$"), AfterValidator(_not_aws_prefixed)
]
TagValue = Annotated[str, Strict(), Field(max_length=256)]


class TierCapacity(_Config):
    kind: Literal["cpu", "gpu"]
    instance_types: tuple[Str, ...] = Field(min_length=1)
    min_size: Int = Field(ge=0)
    max_size: Int = Field(ge=1)
    spot: Bool = False


class TierScaling(_Config):
    min_replicas: Int = Field(ge=0)
    max_replicas: Int = Field(ge=1)
    target_qps_per_replica: Float = Field(gt=0)


class TierConfig(_Config):
    """One extra tier (list items get no Pulumi.yaml defaults: the optional keys default here)."""

    # Short: it lands in resource names (ds-<stack>-<name>-alb-<suffix> within the ALB's 32 characters).
    name: Str = Field(pattern=r"^[a-z][a-z0-9]{0,3}$")
    model: Str = Field(min_length=1)
    max_model_len: Int = Field(gt=0)
    served_model_name: Str = ""
    capacity: TierCapacity
    scaling: TierScaling
    traffic_share: Float = Field(default=0.0, ge=0, le=1)


class RoutingRule(_Config):
    match: Literal["model", "header", "promptTokens"]
    header: Str = Field(default="", pattern=r"^$|^[A-Za-z0-9-]{1,64}$")
    max_prompt_tokens: Int = Field(default=0, ge=0)
    tier: Str = ""


class RouterConfig(_Config):
    min_replicas: Int = Field(ge=1)
    max_replicas: Int = Field(ge=1)
    target_qps_per_replica: Float = Field(gt=0)
    cpu: Literal[256, 512, 1024, 2048, 4096]
    memory_mib: Int = Field(ge=512, le=30720)
    fallback_alarm_per5_min: Int = Field(ge=1, alias="fallbackAlarmPer5Min")


class TiersConfig(_Config):
    """deepseek-cloud:tiers: the stack's model is the default tier; `extra` adds tiers behind a router."""

    default_name: Str = Field(pattern=r"^[a-z][a-z0-9]{0,7}$")
    default_traffic_share: Float = Field(ge=0, le=1)
    router_model: Str = Field(min_length=1)
    extra: tuple[TierConfig, ...]
    rules: tuple[RoutingRule, ...]
    fallbacks: dict[Str, tuple[Str, ...]]
    router: RouterConfig

    @property
    def enabled(self) -> bool:
        return bool(self.extra)


class StackConfig(_Config):
    """Everything under the `deepseek-cloud:` namespace."""

    environment: Literal["dev", "staging", "prod"]
    platform: Literal["ecs", "eks"]
    model: ModelConfig
    gpu_pool: GpuPoolConfig
    scaling: ScalingConfig
    network: NetworkConfig
    serving: ServingConfig
    image: ImageConfig
    alarms: AlarmsConfig
    slo: SloConfig
    iam: IamConfig
    eks: EksConfig
    tiers: TiersConfig
    tags: dict[TagKey, TagValue]


@dataclass(frozen=True)
class StackContext:
    """The validated config plus the AWS facts and sizing it was checked against."""

    project: str
    stack: str
    region: str
    config: StackConfig
    model: ModelSpec
    instances: tuple[InstanceFacts, ...]
    sizing: Sizing
    pool_sizing: tuple[Sizing, ...]
    availability_zones: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())
    tiers: tuple[Any, ...] = field(default=())  # the extra tiers (stacks/tiers.py Tier), resolved and sized

    @property
    def short_name(self) -> str:
        """Prefix of resource names: short, because ALB and target group names stop at 32 characters."""
        return f"ds-{self.stack}"

    @property
    def is_prod(self) -> bool:
        return self.config.environment == "prod"

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.project, "environment": self.config.environment, **self.config.tags}


# --- reading ---------------------------------------------------------------------------------


@functools.cache
def project_defaults(path: Path = PROJECT_FILE) -> dict[str, Any]:
    """`{key: default}` for every `deepseek-cloud:` key declared in Pulumi.yaml."""
    declared = read_yaml(path)["config"]
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix) :]: v["default"] for k, v in declared.items() if k.startswith(prefix)}


def _decode(value: Any) -> Any:
    # The engine hands structured config to the program as JSON text.
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def read_pulumi_config() -> tuple[dict[str, Any], str | None]:
    """Every `deepseek-cloud:` key the engine passed, and `aws:region`."""
    from pulumi.runtime import config as runtime_config

    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    raw = {k[len(prefix) :]: _decode(v) for k, v in everything.items() if k.startswith(prefix)}
    return raw, everything.get("aws:region")


def _merge(default: Any, given: Any) -> Any:
    """Stack values over project defaults, key by key for objects; lists and scalars replace."""
    if isinstance(default, dict) and isinstance(given, dict):
        return {**default, **{k: _merge(default.get(k), v) for k, v in given.items()}}
    return given


def with_defaults(raw: Mapping[str, Any]) -> dict[str, Any]:
    defaults = project_defaults()
    merged = {key: _merge(value, raw[key]) if key in raw else value for key, value in defaults.items()}
    merged.update({k: v for k, v in raw.items() if k not in defaults})  # unknown keys: reported below
    return merged


# --- pydantic errors as one line each --------------------------------------------------------


def _annotation_at(loc: tuple[Any, ...]) -> tuple[Any, type[BaseModel] | None]:
    """The annotation of the field at `loc` and the model that holds it."""
    annotation: Any = StackConfig
    holder: type[BaseModel] | None = None
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            holder = annotation
            match = [f for f in annotation.model_fields.values() if f.alias == part]
            if not match:
                return None, holder
            annotation = match[0].annotation
            if match[0].metadata:
                annotation = Annotated[(annotation, *match[0].metadata)]
        elif typing.get_origin(annotation) in (tuple, list):
            annotation = typing.get_args(annotation)[0]
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
    return annotation, holder


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _constraints(annotation: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    stack = [annotation]
    while stack:
        item = stack.pop()
        if typing.get_origin(item) is Annotated:
            args = typing.get_args(item)
            stack.append(args[0])
            stack.extend(args[1:])
        elif hasattr(item, "metadata") and isinstance(getattr(item, "metadata", None), list):
            stack.extend(item.metadata)
        else:
            for attr in ("gt", "ge", "lt", "le", "pattern", "min_length", "max_length"):
                if getattr(item, attr, None) is not None:
                    found[attr] = getattr(item, attr)
    return found


def _allowed(annotation: Any) -> str:
    base = _unwrap(annotation)
    if typing.get_origin(base) is Literal:
        return ", ".join(str(a) for a in typing.get_args(base))
    c = _constraints(annotation)
    low = f"> {c['gt']}" if "gt" in c else (f"≥ {c['ge']}" if "ge" in c else "")
    high = f"< {c['lt']}" if "lt" in c else (f"≤ {c['le']}" if "le" in c else "")
    if "ge" in c and "le" in c:
        return f"{c['ge']}–{c['le']}"
    if "gt" in c and "le" in c:
        return f"({c['gt']}, {c['le']}]"
    if low or high:
        return " and ".join(x for x in (low, high) if x)
    if isinstance(base, type) and issubclass(base, BaseModel):
        return "an object with keys " + ", ".join(f.alias or n for n, f in base.model_fields.items())
    names = {
        int: "an integer",
        float: "a number",
        bool: "true or false",
        str: "a string",
        ipaddress.IPv4Network: "an IPv4 CIDR such as 10.40.0.0/16",
    }
    if base in names:
        return names[base]
    if typing.get_origin(base) in (tuple, list):
        return "a list"
    if typing.get_origin(base) is dict:
        return "a map of strings"
    return ""


_REASONS = {
    "missing": "required key is missing",
    "literal_error": "not an allowed value",
    "greater_than": "out of range",
    "greater_than_equal": "out of range",
    "less_than": "out of range",
    "less_than_equal": "out of range",
    "string_pattern_mismatch": "wrong format",
    "too_short": "too short",
    "too_long": "too long",
    "ip_v4_network": "not a valid IPv4 CIDR block",
}


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problems(error: ValidationError, prefix: tuple[str, ...] = ()) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = prefix + tuple(part for part in item["loc"] if part != "[key]")
        kind = item["type"]
        if kind == "extra_forbidden":
            _, holder = _annotation_at((*loc[:-1], "\x00"))
            keys = [f.alias for f in holder.model_fields.values()] if holder else []
            problems.append(
                Problem(_path(loc), "unknown key", loc[-1], ", ".join(keys), hint=did_you_mean(str(loc[-1]), keys))
            )
            continue
        annotation, _ = _annotation_at(loc)
        if kind.endswith("_type") or kind.endswith("_parsing") or kind in ("model_attributes_type", "dict_type"):
            reason = "wrong type"
        else:
            reason = _REASONS.get(kind, item["msg"].removeprefix("Value error, "))
        allowed = _allowed(annotation)
        if kind == "string_pattern_mismatch":  # "a string" says nothing: the pattern is what is allowed
            allowed = f"matching {item['ctx']['pattern']}"
        problems.append(Problem(_path(loc), reason, None if kind == "missing" else item.get("input"), allowed))
    return problems


# --- checks beyond types -----------------------------------------------------------------------


def _cross_field_problems(sections: dict[str, Any]) -> list[Problem]:
    p: list[Problem] = []
    pool, scaling, net = sections.get("gpu_pool"), sections.get("scaling"), sections.get("network")
    if pool:
        p.extend(_pool_problems(pool, sections.get("platform")))
    if scaling:
        p.extend(_scaling_problems(scaling))
    if net:
        p.extend(_network_problems(net))
        p.extend(_adopted_network_id_problems(net))
    if pool:
        p.extend(_root_volume_problems(pool))
    if scaling:
        p.extend(_schedule_rule_problems(scaling))
    if sections.get("alarms"):
        p.extend(_alarm_threshold_problems(sections["alarms"]))
    if sections.get("serving"):
        p.extend(_serving_value_problems(sections["serving"]))
    if sections.get("serving") and sections.get("model"):
        p.extend(_waf_problems(sections["serving"].waf, sections["model"]))
    if sections.get("slo") and sections.get("model"):
        p.extend(_slo_problems(sections["slo"], sections["model"]))
    if scaling and sections.get("platform") == "ecs" and scaling.metric == "queueDepth":
        p.extend(_ecs_queue_depth_problems(scaling))
    return p


def _ecs_queue_depth_problems(scaling: ScalingConfig) -> list[Problem]:
    """On ECS, queue depth is reported by each task's metrics sidecar: at zero tasks no task reports a queue,
    so target tracking has no data and never scales out (components/ecs/autoscaling.py). EKS pairs KEDA with
    an ALB request-count trigger for that; on ECS a service that must wake from zero uses metric qps."""
    why = "queueDepth on ECS cannot scale from zero: at zero tasks no task reports a queue"
    p: list[Problem] = []
    if scaling.min_replicas == 0:
        p.append(Problem("scaling.minReplicas", why + " (or use scaling.metric qps)", 0, "≥ 1 with queueDepth on ECS"))
    for i, rule in enumerate(scaling.schedule):
        if rule.min_replicas == 0 and rule.max_replicas > 0:
            p.append(
                Problem(
                    f"scaling.schedule[{i}].minReplicas",
                    why + "; a rule may scale to zero only with maxReplicas 0 (off)",
                    0,
                    "≥ 1, or maxReplicas 0",
                )
            )
    return p


def _slo_problems(slo: SloConfig, model: ModelConfig) -> list[Problem]:
    """The load test's requests must fit the context vLLM serves, or every one of them is refused (400)."""
    if slo.input_tokens + slo.output_tokens <= model.max_model_len:
        return []
    return [
        Problem(
            "slo.inputTokens",
            f"slo.inputTokens + slo.outputTokens ({slo.output_tokens}) exceed model.maxModelLen {model.max_model_len}",
            slo.input_tokens,
            f"1–{max(1, model.max_model_len - slo.output_tokens)}",
        )
    ]


def _waf_problems(waf: WafConfig, model: ModelConfig) -> list[Problem]:
    """WAF values that AWS would accept but that would refuse real traffic."""
    p: list[Problem] = []
    least = model.max_model_len * MIN_BODY_BYTES_PER_TOKEN
    if waf.max_body_bytes and waf.max_body_bytes < max(least, ALB_BODY_INSPECTION_BYTES + 1):
        p.append(
            Problem(
                "serving.waf.maxBodyBytes",
                f"refuses prompts that fit model.maxModelLen {model.max_model_len} "
                f"({MIN_BODY_BYTES_PER_TOKEN} bytes a token)",
                waf.max_body_bytes,
                f"0 (sized from model.maxModelLen) or ≥ {max(least, ALB_BODY_INSPECTION_BYTES + 1)}",
            )
        )
    for i, rule in enumerate(waf.count_rules):
        if rule not in COMMON_RULES:
            p.append(
                Problem(
                    f"serving.waf.countRules[{i}]",
                    "not a rule of AWSManagedRulesCommonRuleSet",
                    rule,
                    allowed_list(sorted(COMMON_RULES)),
                    hint=did_you_mean(rule, sorted(COMMON_RULES)),
                )
            )
    return p


def _pool_problems(pool: GpuPoolConfig, platform: str | None) -> list[Problem]:
    p: list[Problem] = []
    if pool.min_size > pool.max_size:
        p.append(Problem("gpuPool.minSize", "larger than gpuPool.maxSize", pool.min_size, f"0–{pool.max_size}"))
    if pool.spot.on_demand_base_capacity > pool.max_size:
        p.append(
            Problem(
                "gpuPool.spot.onDemandBaseCapacity",
                "larger than gpuPool.maxSize",
                pool.spot.on_demand_base_capacity,
                f"0–{pool.max_size}",
            )
        )
    if len(set(pool.instance_types)) != len(pool.instance_types):
        p.append(Problem("gpuPool.instanceTypes", "lists a type twice", list(pool.instance_types), "distinct types"))
    return p + _warm_pool_problems(pool, platform)


def _warm_pool_problems(pool: GpuPoolConfig, platform: str | None) -> list[Problem]:
    """EC2 Auto Scaling refuses a warm pool on a group with a mixed instances policy or Spot (PutWarmPool). On EKS
    there is no group at all (stacks/eks_checks.py says so in one line): the group's conditions would only suggest
    a way out that does not exist."""
    warm, p = pool.warm_pool, []
    if platform == "eks":
        return []
    if warm.enabled and pool.spot.enabled:
        p.append(
            Problem(
                "gpuPool.warmPool.enabled",
                "AWS refuses a warm pool on a group that requests Spot instances (PutWarmPool)",
                True,
                "false, or gpuPool.spot.enabled false",
            )
        )
    if warm.enabled and len(pool.instance_types) != 1:
        p.append(
            Problem(
                "gpuPool.instanceTypes",
                "a warm-pool group launches one type (no mixed instances policy)",
                list(pool.instance_types),
                "exactly one type while gpuPool.warmPool.enabled is true",
            )
        )
    if warm.min_size > pool.max_size:
        p.append(
            Problem("gpuPool.warmPool.minSize", "larger than gpuPool.maxSize", warm.min_size, f"0–{pool.max_size}")
        )
    if 0 < warm.max_group_prepared_capacity < pool.min_size:
        p.append(
            Problem(
                "gpuPool.warmPool.maxGroupPreparedCapacity",
                "below gpuPool.minSize: the pool would stay empty",
                warm.max_group_prepared_capacity,
                f"0 (maxSize - desired) or ≥ {pool.min_size}",
            )
        )
    return p


def _scaling_problems(scaling: ScalingConfig) -> list[Problem]:
    p: list[Problem] = []
    if scaling.min_replicas > scaling.max_replicas:
        p.append(
            Problem(
                "scaling.minReplicas",
                "larger than scaling.maxReplicas",
                scaling.min_replicas,
                f"0–{scaling.max_replicas}",
            )
        )
    for i, rule in enumerate(scaling.schedule):
        if rule.min_replicas > rule.max_replicas:
            p.append(
                Problem(
                    f"scaling.schedule[{i}].minReplicas",
                    "larger than its maxReplicas",
                    rule.min_replicas,
                    f"0–{rule.max_replicas}",
                )
            )
        if rule.max_replicas > scaling.max_replicas:
            p.append(
                Problem(
                    f"scaling.schedule[{i}].maxReplicas",
                    "larger than scaling.maxReplicas",
                    rule.max_replicas,
                    f"0–{scaling.max_replicas}",
                )
            )
        if not (rule.cron.startswith("cron(") and rule.cron.endswith(")") and len(rule.cron[5:-1].split()) == 6):
            p.append(
                Problem(
                    f"scaling.schedule[{i}].cron",
                    "not an Application Auto Scaling cron expression",
                    rule.cron,
                    "cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 20 ? * MON-FRI *)",
                )
            )
    return p


def _network_problems(net: NetworkConfig) -> list[Problem]:
    p: list[Problem] = []
    if net.adopts_existing:
        for key, ids in (("publicSubnetIds", net.public_subnet_ids), ("privateSubnetIds", net.private_subnet_ids)):
            if len(ids) < 2:
                p.append(
                    Problem(
                        f"network.{key}",
                        "an adopted VPC needs subnets in at least two AZs",
                        list(ids),
                        "two or more subnet ids",
                    )
                )
    else:
        if not net.cidr.is_private:
            p.append(
                Problem(
                    "network.cidr",
                    "not a private address range",
                    str(net.cidr),
                    "inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
                )
            )
        if not 16 <= net.cidr.prefixlen <= 22:
            p.append(
                Problem(
                    "network.cidr", "prefix leaves no room for two subnets per AZ", str(net.cidr), "a /16 to /22 block"
                )
            )
        if net.public_subnet_ids or net.private_subnet_ids:
            p.append(
                Problem(
                    "network.privateSubnetIds",
                    "subnet ids without network.vpcId",
                    list(net.private_subnet_ids + net.public_subnet_ids),
                    "set vpcId too, or leave both empty",
                )
            )
    return p


# The limits the components check on their typed args (components/*.py `_validate`), reported here first
# against the config value that sets them. tests/test_config_first.py maps every component check to one
# of these (or to the schema above) and fails when a new component check has no counterpart.


def _root_volume_problems(pool: GpuPoolConfig) -> list[Problem]:
    if pool.root_volume_gib == 0 or pool.root_volume_gib >= AMI_SNAPSHOT_GIB:
        return []
    return [
        Problem(
            "gpuPool.rootVolumeGiB",
            f"smaller than the ECS GPU AMI's {AMI_SNAPSHOT_GIB} GiB root snapshot",
            pool.root_volume_gib,
            f"0 (sized from image + weights) or {AMI_SNAPSHOT_GIB}–{GP3_MAX_GIB}",
        )
    ]


def _schedule_rule_problems(scaling: ScalingConfig) -> list[Problem]:
    p: list[Problem] = []
    seen: dict[str, int] = {}
    for i, rule in enumerate(scaling.schedule):
        if rule.name in seen:
            p.append(
                Problem(
                    f"scaling.schedule[{i}].name",
                    f"already names scaling.schedule[{seen[rule.name]}]",
                    rule.name,
                    "a name no other rule of the schedule uses",
                )
            )
        seen.setdefault(rule.name, i)
        fields = rule.cron[5:-1].split() if rule.cron.startswith("cron(") and rule.cron.endswith(")") else []
        if len(fields) == 6 and not SCHEDULE_CRON.match(rule.cron):  # six fields, but not single-spaced
            p.append(
                Problem(
                    f"scaling.schedule[{i}].cron",
                    "fields must be separated by single spaces",
                    rule.cron,
                    f"cron({' '.join(fields)})",
                )
            )
    return p


def _alarm_threshold_problems(alarms: AlarmsConfig) -> list[Problem]:
    p: list[Problem] = []
    if alarms.gpu_utilization_low_percent >= alarms.gpu_utilization_high_percent:
        p.append(
            Problem(
                "alarms.gpuUtilizationLowPercent",
                "not below alarms.gpuUtilizationHighPercent",
                alarms.gpu_utilization_low_percent,
                f"0–{max(0, alarms.gpu_utilization_high_percent - 1)}",
            )
        )
    if alarms.topic_arn and not SNS_TOPIC_ARN.match(alarms.topic_arn):
        p.append(
            Problem(
                "alarms.topicArn", "not an SNS topic ARN", alarms.topic_arn, "arn:aws:sns:<region>:<account>:<topic>"
            )
        )
    return p


def _serving_value_problems(serving: ServingConfig) -> list[Problem]:
    p: list[Problem] = []
    if serving.image.endswith(":latest"):
        p.append(
            Problem(
                "serving.image",
                "latest is not a pinned version: replicas started later may run another image",
                serving.image,
                "a version tag (e.g. vllm/vllm-openai:v0.11.0) or @sha256 digest",
            )
        )
    for key, arn in (
        ("apiKeySecretArn", serving.api_key_secret_arn),
        ("hfTokenSecretArn", serving.hf_token_secret_arn),
    ):
        if arn and not SECRET_ARN.match(arn):
            p.append(
                Problem(
                    f"serving.{key}",
                    "not a Secrets Manager secret ARN",
                    arn,
                    "arn:aws:secretsmanager:<region>:<account>:secret:<name>",
                )
            )
    return p


def _adopted_network_id_problems(net: NetworkConfig) -> list[Problem]:
    if not net.adopts_existing:
        return []
    p: list[Problem] = []
    if not net.vpc_id.startswith("vpc-"):
        p.append(Problem("network.vpcId", "not a VPC id", net.vpc_id, "vpc-<hex>, or empty to create a VPC"))
    for key, ids in (("publicSubnetIds", net.public_subnet_ids), ("privateSubnetIds", net.private_subnet_ids)):
        bad = [i for i in ids if not i.startswith("subnet-")]
        if bad:
            p.append(Problem(f"network.{key}", "not subnet ids", ", ".join(bad), "subnet-<hex> ids"))
    return p


def _derived_problems(sections: dict[str, Any], instances: tuple[InstanceFacts, ...], stack: str) -> list[Problem]:
    """Limits on what the builder derives from config values, the AWS facts and the stack name."""
    p: list[Problem] = []
    pool = sections.get("gpu_pool")
    if sections.get("platform") == "ecs" and pool:
        for facts in instances:
            if "x86_64" not in facts.architectures:
                p.append(
                    Problem(
                        f"gpuPool.instanceTypes[{pool.instance_types.index(facts.instance_type)}]",
                        f"is {facts.architectures[0]}; the ECS GPU-optimized AMI is x86_64 only",
                        facts.instance_type,
                        "x86_64 NVIDIA GPU types such as g6e.xlarge, g5.xlarge",
                    )
                )
    # Stack-name limits (ALB/target group 32, alarm prefixes 40, dashboard characters): stacks/names.py.
    p.extend(stack_name_problems(stack))
    return p


def _aws_problems(
    sections: dict[str, Any], region: str | None
) -> tuple[list[Problem], tuple[InstanceFacts, ...], tuple[str, ...]]:
    p: list[Problem] = []
    network, pool = sections.get("network"), sections.get("gpu_pool")
    known_regions = aws_facts.regions()
    if not region:
        p.append(Problem("region", "required key is missing", None, "an AWS region such as us-east-1", namespace="aws"))
        return p, (), ()
    if region not in known_regions:
        p.append(
            Problem(
                "region",
                "unknown region",
                region,
                allowed_list(known_regions),
                namespace="aws",
                hint=did_you_mean(region, known_regions),
            )
        )
        return p, (), ()
    zones = aws_facts.availability_zones()
    if network and not network.adopts_existing and network.az_count > len(zones):
        p.append(
            Problem(
                "network.azCount",
                f"{region} has only {len(zones)} availability zones",
                network.az_count,
                f"2–{len(zones)}",
            )
        )
    instances: list[InstanceFacts] = []
    for i, name in enumerate(pool.instance_types if pool else ()):
        facts = aws_facts.instance_type(name)
        path = f"gpuPool.instanceTypes[{i}]"
        if facts is None:
            p.append(
                Problem(
                    path,
                    "unknown instance type",
                    name,
                    "an EC2 instance type with an NVIDIA GPU",
                    hint=did_you_mean(name, _priced_gpu_types()),
                )
            )
        elif not facts.has_nvidia_gpu:
            p.append(
                Problem(
                    path,
                    f"has no NVIDIA GPU ({facts.describe_gpu()})",
                    name,
                    "NVIDIA GPU types such as " + ", ".join(_priced_gpu_types()[:6]),
                )
            )
        else:
            instances.append(facts)
    archs = {f.instance_type: f.architectures[0] for f in instances}
    if len(set(archs.values())) > 1:
        p.append(
            Problem(
                "gpuPool.instanceTypes",
                "mixes CPU architectures; one AMI serves the pool",
                ", ".join(f"{k} ({v})" for k, v in archs.items()),
                "types of one architecture",
            )
        )
    offering_problems, usable = _offering_problems(pool, network, region, instances, zones)
    p.extend(offering_problems)
    return p, tuple(instances), usable[: network.az_count if network else 2]


def _offering_problems(
    pool: GpuPoolConfig | None,
    network: NetworkConfig | None,
    region: str,
    instances: list[InstanceFacts],
    zones: tuple[str, ...],
) -> tuple[list[Problem], tuple[str, ...]]:
    """The AZs that offer every pool type (the only ones the network may use: an ASG subnet in an AZ
    without the type never launches there), and a problem for each type the region cannot host."""
    if pool is None or not instances:
        return [], zones
    p: list[Problem] = []
    offered = {f.instance_type: aws_facts.offered_zones(f.instance_type) for f in instances}
    for name, azs in offered.items():
        if not azs:
            p.append(
                Problem(
                    f"gpuPool.instanceTypes[{pool.instance_types.index(name)}]",
                    f"not offered in any availability zone of {region}",
                    name,
                    f"a GPU type {region} offers, or another aws:region",
                )
            )
    common = tuple(az for az in zones if all(az in azs for azs in offered.values()))
    wanted = network.az_count if network and not network.adopts_existing else 0
    if not p and wanted and len(common) < wanted <= len(zones):
        where = "; ".join(f"{name} in {', '.join(azs)}" for name, azs in offered.items())
        p.append(
            Problem(
                "network.azCount",
                f"{region} offers every gpuPool.instanceTypes type in only {len(common)} availability zone(s) "
                f"({where})",
                wanted,
                (f"2–{len(common)}" if len(common) > 2 else "2")
                if len(common) >= 2
                else "none: choose types offered in two common AZs",
            )
        )
    return p, common


def _secret_key_problems(serving: ServingConfig | None, region: str | None) -> list[Problem]:
    """serving.secretsKmsKeyArns serve adopted secrets only, and a secret's key lives in its region."""
    if serving is None or not serving.secrets_kms_key_arns:
        return []
    p: list[Problem] = []
    if not (serving.api_key_secret_arn or serving.hf_token_secret_arn):
        p.append(
            Problem(
                "serving.secretsKmsKeyArns",
                "no adopted secret to decrypt: created secrets use the stack key",
                list(serving.secrets_kms_key_arns),
                "[] unless serving.apiKeySecretArn or serving.hfTokenSecretArn is set",
            )
        )
    for i, arn in enumerate(serving.secrets_kms_key_arns):
        if region and arn.split(":")[3] != region:
            p.append(
                Problem(
                    f"serving.secretsKmsKeyArns[{i}]",
                    f"a key outside {region} cannot encrypt a secret the {region} tasks read",
                    arn,
                    f"a KMS key ARN in {region}",
                )
            )
    return p


def _priced_gpu_types() -> list[str]:
    from stacks.cost import load_prices

    return load_prices().gpu_instance_types()


def _sizing_problems(
    sections: dict[str, Any], model: ModelSpec, instances: tuple[InstanceFacts, ...]
) -> tuple[list[Problem], tuple[Sizing, ...]]:
    p: list[Problem] = []
    mcfg, pool, scaling = sections["model"], sections["gpu_pool"], sections.get("scaling")
    if mcfg.max_model_len > model.max_context:
        p.append(
            Problem(
                "model.maxModelLen",
                f"longer than {model.key}'s context window",
                mcfg.max_model_len,
                f"1–{model.max_context}",
            )
        )
        return p, ()
    sizings = tuple(size_pool(model, instances, mcfg.max_model_len, mcfg.gpu_memory_utilization))
    across = _across_nodes(model, instances, mcfg) if any(not s.fits for s in sizings) else None
    if across and sections.get("platform") == "eks":
        sizings = across  # a LeaderWorkerSet group per replica (components/eks/workload.py)
    misfits = [s for s in sizings if not s.fits]
    if misfits:
        from stacks.cost import load_prices
        from stacks.policy_facts import allowed_gpu_families, allows_gpu_type

        # Alternatives: types the policy pack allows, the region prices and offers, cheapest hour first.
        region = aws_facts.region()
        prices = load_prices().raw["onDemandHourly"].get(region) or {}
        names = [
            t for t in prices if t not in pool.instance_types and allows_gpu_type(t) and aws_facts.offered_zones(t)
        ]
        candidates = [f for f in (aws_facts.instance_type(t) for t in names) if f and f.has_nvidia_gpu]
        alternatives = fitting_alternatives(model, candidates, mcfg.max_model_len, mcfg.gpu_memory_utilization, prices)
        allowed = ", ".join(
            f"{a.sizing.instance_type} (TP {a.sizing.tensor_parallel_size}, {a.sizing.gpu}, ${a.hourly_usd:g}/h)"
            for a in alternatives[:5]
        )
        nothing = (
            f"no instance type that the policy pack allows ({', '.join(allowed_gpu_families())}) and {region} "
            "offers fits; lower model.maxModelLen"
        )
        multi = f"; or platform eks across nodes: {across[0].layout}" if across else ""
        for s in misfits:
            i = pool.instance_types.index(s.instance_type)
            p.append(
                Problem(
                    f"gpuPool.instanceTypes[{i}]",
                    f"{model.key} does not fit: {s.reason}",
                    s.instance_type,
                    (allowed or nothing) + multi,
                )
            )
    elif scaling and scaling.max_replicas > _replica_slots(pool.max_size, sizings):
        hosts = _replica_slots(pool.max_size, sizings)
        p.append(
            Problem(
                "scaling.maxReplicas",
                f"gpuPool.maxSize {pool.max_size} hosts at most {hosts} replicas",
                scaling.max_replicas,
                f"1–{hosts}",
            )
        )
    return p, sizings


def _weights_and_image_problems(sections: dict[str, Any], model: ModelSpec | None) -> list[Problem]:
    """Loading from S3 needs the catalog's pinned revision (the bucket prefix); a given image needs a uri
    and, from Docker Hub through the pull-through cache, its credentials secret."""
    problems: list[Problem] = []
    model_cfg, image = sections.get("model"), sections.get("image")
    if model_cfg and model is not None and model_cfg.load_from == "s3" and not model.revision:
        problems.append(
            Problem(
                "model.loadFrom",
                f"{model.key} has no pinned revision in stacks/models.yaml, so it has no S3 prefix",
                "s3",
                "hub, or a model with a revision",
            )
        )
    serving = sections.get("serving")
    if image and image.source == "build" and serving:
        base = base_image()
        pinned = f"{base['image']}:{base['tag']}"
        if serving.image != pinned:
            problems.append(
                Problem("serving.image", "is not the base images/vllm/Dockerfile pins", serving.image, pinned)
            )
    if image and image.source == "uri":
        if not image.uri:
            problems.append(Problem("image.uri", "is required with source uri", "", "<image>[:tag]@sha256:<digest>"))
        if not image.pull_through_cache.credential_arn:
            problems.append(
                Problem(
                    "image.pullThroughCache.credentialArn",
                    "Docker Hub pull-through cache rules need credentials",
                    "",
                    "a Secrets Manager secret ARN named ecr-pullthroughcache/…",
                )
            )
    return problems


def _across_nodes(model: ModelSpec, instances: tuple[InstanceFacts, ...], mcfg: Any) -> tuple[Sizing, ...] | None:
    """Every pool type sized across nodes (EKS multi-node), when all of them fit that way with one layout."""
    found = [size_across_nodes(model, i, mcfg.max_model_len, mcfg.gpu_memory_utilization) for i in instances]
    if not found or any(s is None for s in found) or len({s.nodes_per_replica for s in found}) != 1:
        return None
    return tuple(s for s in found if s is not None)


def _replica_slots(max_size: int, sizings: tuple[Sizing, ...]) -> int:
    """Replicas maxSize instances hold: several per instance, or one per group of nodes."""
    nodes = max(s.nodes_per_replica for s in sizings)
    return max_size // nodes if nodes > 1 else max_size * min(s.replicas_per_instance for s in sizings)


def _parse_sections(merged: dict[str, Any]) -> tuple[dict[str, Any], list[Problem], tuple[str, ...]]:
    """Validate each top-level key on its own, so one bad section does not hide problems in others.

    A section that fails is validated again with its unknown keys dropped and each badly typed or out-of-range
    value replaced by its project default (a stand-in), so the section's cross-field and AWS checks still run
    on everything else in it; returns the stand-ins' paths, whose findings `load_stack` leaves out."""
    problems: list[Problem] = []
    sections: dict[str, Any] = {}
    stand_ins: list[str] = []
    defaults = project_defaults()
    aliases = {f.alias: name for name, f in StackConfig.model_fields.items()}
    unknown = {k: v for k, v in merged.items() if k not in aliases}
    try:
        StackConfig.model_validate(unknown)
    except ValidationError as exc:
        problems.extend(p for p in _pydantic_problems(exc) if p.reason == "unknown key")
    for alias, name in aliases.items():
        adapter = _adapter(name)
        try:
            sections[name] = adapter.validate_python(merged.get(alias))
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, prefix=(alias,)))
            repaired, replaced = _with_stand_ins(alias, merged.get(alias), defaults.get(alias), exc)
            with contextlib.suppress(ValidationError):
                sections[name] = adapter.validate_python(repaired)
                stand_ins.extend(replaced)
    return sections, problems, tuple(stand_ins)


def _with_stand_ins(alias: str, given: Any, default: Any, error: ValidationError) -> tuple[Any, list[str]]:
    """`given` without its unknown keys, each bad value (the field holding it, a whole list for a bad item)
    replaced by the project default; and the paths replaced."""
    repaired = copy.deepcopy(given)
    replaced: list[str] = []
    for e in error.errors(include_url=False):
        loc = tuple(part for part in e["loc"] if part != "[key]")
        if e["type"] == "extra_forbidden":
            node = repaired
            for part in loc[:-1]:
                node = node[part]
            node.pop(loc[-1], None)
            continue
        field = loc[: next((i for i, part in enumerate(loc) if isinstance(part, int)), len(loc))]
        replaced.append(_path((alias, *field)))
        if not field:
            return copy.deepcopy(default), [alias]
        node, fallback = repaired, default
        for part in field[:-1]:
            node, fallback = node[part], (fallback or {}).get(part)
        if isinstance(fallback, dict) and field[-1] in fallback:
            node[field[-1]] = copy.deepcopy(fallback[field[-1]])
        else:
            node.pop(field[-1], None)
    return repaired, replaced


def _reads_stand_in(problem: Problem, stand_ins: tuple[str, ...]) -> bool:
    """A finding about a stand-in value, or one that compares with it (its path named in the reason)."""
    text = f"{problem.reason} {problem.allowed}"
    return any(problem.path == s or problem.path.startswith((f"{s}.", f"{s}[")) or s in text for s in stand_ins)


@functools.cache
def _adapter(field_name: str):
    from pydantic import TypeAdapter

    info = StackConfig.model_fields[field_name]
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(annotation)


def load_stack(
    raw: Mapping[str, Any] | None = None,
    region: str | None = None,
    project: str | None = None,
    stack: str | None = None,
) -> StackContext:
    """Parse and check the whole stack config; raise ConfigError listing every problem."""
    if raw is None:
        raw, region = read_pulumi_config()
    aws_facts.clear_caches()
    merged = with_defaults(raw)
    sections, problems, stand_ins = _parse_sections(merged)
    parsed = len(problems)
    catalog = load_catalog()
    model_cfg = sections.get("model")
    model = catalog.resolve(model_cfg.name) if model_cfg else None
    if model_cfg and model is None:
        problems.append(
            Problem(
                "model.name",
                "unknown model",
                model_cfg.name,
                ", ".join(catalog.names()),
                hint=did_you_mean(model_cfg.name, catalog.names()),
            )
        )
    problems.extend(_cross_field_problems(sections))
    problems.extend(_weights_and_image_problems(sections, model))
    aws_problems, instances, zones = _aws_problems(sections, region)
    problems.extend(aws_problems)
    if not aws_problems:
        problems.extend(service_linked_role_problems(sections.get("platform")))
    problems.extend(_secret_key_problems(sections.get("serving"), region))
    problems.extend(eks_problems(sections, aws_known=bool(region) and region in aws_facts.regions()))
    problems.extend(_derived_problems(sections, instances, stack or pulumi.get_stack()))
    sizings: tuple[Sizing, ...] = ()
    pool = sections.get("gpu_pool")
    if model is not None and model_cfg and pool and instances and len(instances) == len(pool.instance_types):
        sizing_problems, sizings = _sizing_problems(sections, model, instances)
        problems.extend(sizing_problems)
    tier_warnings: list[str] = []
    tiers: tuple[Any, ...] = ()
    if not aws_problems and region and model_cfg and sections.get("slo") and sections.get("alarms"):
        from stacks.tiers import tier_problems

        found, tiers, tier_warnings = tier_problems(
            sections.get("tiers"),
            model_cfg,
            sections.get("platform"),
            sections["slo"],
            sections["alarms"],
            scaling=sections.get("scaling"),
        )
        problems.extend(found)
    problems[parsed:] = [p for p in problems[parsed:] if not _reads_stand_in(p, stand_ins)]
    if problems:
        raise ConfigError(problems)
    cfg = StackConfig.model_construct(**sections)
    assert model is not None and region is not None
    warnings = []
    if not cfg.serving.certificate_arn:
        warnings.append("serving.certificateArn is empty: the load balancer serves plain HTTP")
    if not cfg.serving.allowed_cidrs:
        warnings.append("serving.allowedCidrs is empty: the load balancer admits no client")
    if cfg.model.load_from == "hub" and not model.revision:
        warnings.append(
            f"model {model.hf_id} has no pinned revision in stacks/models.yaml: each replica downloads the Hub's "
            "default branch when it starts, so replicas may serve different commits"
        )
    warnings.extend(eks_warnings(cfg))
    warnings.extend(tier_warnings)
    return StackContext(
        project=project or pulumi.get_project(),
        stack=stack or pulumi.get_stack(),
        region=region,
        config=cfg,
        model=model,
        instances=instances,
        sizing=sizings[0],
        pool_sizing=sizings,
        availability_zones=zones,
        warnings=tuple(warnings),
        tiers=tiers,
    )


__all__ = ["ConfigError", "StackConfig", "StackContext", "load_stack", "show"]
