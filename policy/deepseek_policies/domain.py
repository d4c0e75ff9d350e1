"""deepseek-cloud platform rules: GPU pool sizing/purchasing, instance families, tags, endpoint alarms."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from deepseek_policies import taggable
from deepseek_policies.common import (
    Ctx,
    Res,
    as_list,
    as_number,
    dig,
    fmt_num,
    is_set,
    is_unknown,
    known_tags,
    refers_to,
    resource_policy,
    stack_policy,
    tags_of,
)
from deepseek_policies.config import (
    ALLOWED_GPU_FAMILIES,
    ENVIRONMENT_SCHEMA,
    ENVIRONMENTS,
    MAX_SIZE_BY_ENVIRONMENT,
    REQUIRED_TAGS,
    ROLE_GPU_POOL,
    ROLE_TAG,
    TARGET_GROUP_TAG,
    resolve_environment,
)

ASG = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

# Accelerated-computing families: NVIDIA (g*, p*), Trainium/Inferentia, Gaudi (dl*), FPGA (f*), video (vt*).
_ACCELERATED_RE = re.compile(r"^(g\d+[a-z]*|gr\d+|p\d+[a-z]*(-[a-z0-9]+)?|inf\d+|trn\d+[a-z]*|dl\d+[a-z]*|f\d+|vt\d+)$")

_ENV_SCHEMA = {"environment": ENVIRONMENT_SCHEMA}


def instance_family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0].lower()


def is_accelerated(instance_type: Any) -> bool:
    return isinstance(instance_type, str) and bool(_ACCELERATED_RE.match(instance_family(instance_type)))


def asg_instance_types(props: Mapping[str, Any]) -> list[Any]:
    overrides = dig(props, "mixedInstancesPolicy", "launchTemplate", "overrides")
    return [dig(o, "instanceType") for o in as_list(overrides)]


def is_gpu_pool(props: Mapping[str, Any]) -> bool:
    """Tag `deepseek:role=gpu-pool`, or any accelerated instance type among the mixed-instances overrides."""
    if known_tags(ASG, props).get(ROLE_TAG) == ROLE_GPU_POOL:
        return True
    return any(is_accelerated(t) for t in asg_instance_types(props))


def _env(ctx: Ctx) -> str:
    return resolve_environment(ctx.config, known_tags(ctx.type, ctx.props))


# -- GPU pools -----------------------------------------------------------------------------------------


def _gpu_pool_max_size(ctx: Ctx, report: Callable[[str], None]) -> None:
    if not is_gpu_pool(ctx.props):
        return
    env = _env(ctx)
    caps = {**MAX_SIZE_BY_ENVIRONMENT, **(ctx.config.get("maxSizeByEnvironment") or {})}
    cap = as_number(caps.get(env))
    size = as_number(ctx.props.get("maxSize"))
    if cap is not None and size is not None and size > cap:
        report(f"{ctx.name}: maxSize {fmt_num(size)} exceeds the {env} cap of {fmt_num(cap)} GPU instances")


def _gpu_pool_prod_on_demand(ctx: Ctx, report: Callable[[str], None]) -> None:
    if not is_gpu_pool(ctx.props) or _env(ctx) != "prod":
        return
    mip = ctx.props.get("mixedInstancesPolicy")
    if mip is None or is_unknown(mip):
        return  # no mixed-instances policy: every instance is on-demand
    base = dig(mip, "instancesDistribution", "onDemandBaseCapacity", default=0)
    if is_unknown(base):
        return
    if (as_number(base) or 0) < 1:
        report(f"{ctx.name}: prod GPU pool has onDemandBaseCapacity {fmt_num(as_number(base))}; keep at least 1")


def _gpu_pool_nonprod_spot(ctx: Ctx, report: Callable[[str], None]) -> None:
    if not is_gpu_pool(ctx.props) or _env(ctx) == "prod":
        return
    mip = ctx.props.get("mixedInstancesPolicy")
    if is_unknown(mip):
        return
    if mip is None:
        report(f"{ctx.name}: non-prod GPU pool has no mixedInstancesPolicy, so it runs on-demand only")
        return
    pct = dig(mip, "instancesDistribution", "onDemandPercentageAboveBaseCapacity", default=100)
    if is_unknown(pct):
        return
    if (as_number(pct) or 0) >= 100:
        report(f"{ctx.name}: non-prod GPU pool has onDemandPercentageAboveBaseCapacity 100 (no spot capacity)")


def _gpu_allow_list(ctx: Ctx, report: Callable[[str], None]) -> None:
    allowed = {str(f).lower() for f in as_list(ctx.config.get("allowedFamilies")) if isinstance(f, str)}
    if ctx.type == ASG:
        gpu_pool = is_gpu_pool(ctx.props)
        overrides = dig(ctx.props, "mixedInstancesPolicy", "launchTemplate", "overrides")
        if is_unknown(overrides):
            return
        for i, o in enumerate(as_list(overrides)):
            t = dig(o, "instanceType")
            if is_unknown(t):
                continue
            if t is None:
                if gpu_pool and dig(o, "instanceRequirements") is not None:
                    report(
                        f"{ctx.name}: overrides[{i}] uses instanceRequirements, which cannot be checked against "
                        "the GPU allow-list; list instanceType overrides"
                    )
                continue
            if (gpu_pool or is_accelerated(t)) and instance_family(t) not in allowed:
                report(f"{ctx.name}: instance type {t} is not in the allowed GPU families {sorted(allowed)}")
        return
    t = ctx.props.get("instanceType")
    if isinstance(t, str) and not is_unknown(t) and is_accelerated(t) and instance_family(t) not in allowed:
        report(f"{ctx.name}: instance type {t} is not in the allowed GPU families {sorted(allowed)}")


# -- tags ----------------------------------------------------------------------------------------------


def is_taggable(resource_type: str, props: Mapping[str, Any]) -> bool:
    if not resource_type.startswith("aws:"):
        return False
    if "tags" in props:
        return True
    return bool(taggable.sdk_accepts_tags(resource_type))


def _required_tags(ctx: Ctx, report: Callable[[str], None]) -> None:
    if not is_taggable(ctx.type, ctx.props):
        return
    tags = tags_of(ctx.type, ctx.props)
    if is_unknown(tags):
        return
    effective: dict[str, Any] = {}
    if ctx.type != ASG:  # the AWS provider does not apply default_tags to autoscaling groups
        default_tags = dig(ctx.provider_props, "defaultTags", "tags")
        if is_unknown(default_tags):
            return
        if isinstance(default_tags, Mapping):
            effective.update(default_tags)
    effective.update(tags or {})
    required = [str(t) for t in as_list(ctx.config.get("requiredTags")) if isinstance(t, str)]
    missing = [t for t in required if not is_set(effective.get(t))]
    if missing:
        report(f"{ctx.name} ({ctx.type}): missing tags {', '.join(missing)}")
    env = effective.get("environment")
    allowed_envs = [str(e) for e in as_list(ctx.config.get("allowedEnvironments"))]
    if isinstance(env, str) and env and not is_unknown(env) and env not in allowed_envs:
        report(f"{ctx.name}: tag environment={env!r} is not one of {allowed_envs}")


# -- endpoint alarms -------------------------------------------------------------------------------------


def _alarm_target_group_dims(alarm: Res) -> list[Any]:
    values = [dig(alarm.props, "dimensions", "TargetGroup")]
    for q in as_list(alarm.props.get("metricQueries")):
        values.append(dig(q, "metric", "dimensions", "TargetGroup"))
    return [v for v in values if v is not None]


def alarm_covers(alarm: Res, tg: Res, single_target_group: bool) -> bool:
    """Alarm <-> target group, first decisive signal wins:
    1. property dependencies of `dimensions` / `metricQueries` (engine-provided) contain the TG's URN;
    2. a known `TargetGroup` dimension equals the TG's known `arnSuffix`;
    3. convention: the alarm's tag `deepseek:target-group` equals the TG's logical (Pulumi) name, or the
       alarm's logical name / `name` contains the TG's logical name as a dash-separated part;
    4. an alarm whose TargetGroup dimension is unknown covers the TG when the stack has only one.
    """
    for prop in ("dimensions", "metricQueries"):
        if tg.urn in (alarm.property_dependencies.get(prop) or []):
            return True
    dims = _alarm_target_group_dims(alarm)
    for d in dims:
        if refers_to(Res(alarm.type, alarm.name, alarm.urn, {"TargetGroup": d}), "TargetGroup", tg, ("arnSuffix",)):
            return True
    if alarm.tags.get(TARGET_GROUP_TAG) == tg.name:
        return True
    for label in (alarm.name, alarm.props.get("name")):
        if isinstance(label, str) and not is_unknown(label) and _contains_part(label, tg.name):
            return True
    return single_target_group and any(is_unknown(d) for d in dims)


def _contains_part(label: str, part: str) -> bool:
    return bool(re.search(rf"(^|[-_.:/]){re.escape(part)}([-_.:/]|$)", label))


def _endpoint_alarms(resources: list[Res], config: dict[str, Any], report: Callable[[str, str | None], None]) -> None:
    tgs = [r for r in resources if r.type in TARGET_GROUPS]
    alarms = [r for r in resources if r.type == METRIC_ALARM]
    for tg in tgs:
        if not any(alarm_covers(a, tg, len(tgs) == 1) for a in alarms):
            report(
                f"{tg.name}: no aws:cloudwatch/metricAlarm:MetricAlarm with dimensions.TargetGroup = this target "
                f"group's arnSuffix (or tag {TARGET_GROUP_TAG}={tg.name})",
                tg.urn,
            )


# -- policy objects --------------------------------------------------------------------------------------

gpu_pool_max_size = resource_policy(
    name="gpu-pool-max-size",
    summary="GPU autoscaling groups must keep maxSize at or below the environment's cap "
    f"(default {MAX_SIZE_BY_ENVIRONMENT}).",
    remediation="lower gpuPool.maxSize in the stack config, or raise the cap in the policy config "
    "(gpu-pool-max-size.maxSizeByEnvironment) after a capacity/cost review.",
    types=[ASG],
    check=_gpu_pool_max_size,
    severity=Severity.HIGH,
    defaults={"maxSizeByEnvironment": dict(MAX_SIZE_BY_ENVIRONMENT)},
    schema={
        **_ENV_SCHEMA,
        "maxSizeByEnvironment": {
            "type": "object",
            "properties": {e: {"type": "integer", "minimum": 0} for e in ENVIRONMENTS},
            "description": "Largest maxSize a GPU pool may have, per environment.",
        },
    },
    tags=["cost"],
)

gpu_pool_prod_on_demand = resource_policy(
    name="gpu-pool-prod-on-demand-base",
    summary="Prod GPU pools must keep at least one on-demand instance (onDemandBaseCapacity >= 1) so a spot "
    "reclaim cannot take the endpoint to zero.",
    remediation="set gpuPool.spot.onDemandBaseCapacity >= 1 for prod "
    "(mixedInstancesPolicy.instancesDistribution.onDemandBaseCapacity).",
    types=[ASG],
    check=_gpu_pool_prod_on_demand,
    severity=Severity.HIGH,
    schema=_ENV_SCHEMA,
    tags=["availability"],
)

gpu_pool_nonprod_spot = resource_policy(
    name="gpu-pool-nonprod-spot",
    summary="ADVISORY: non-prod GPU pools should run on spot capacity.",
    remediation="enable gpuPool.spot with onDemandPercentageAboveBaseCapacity 0 and "
    "spotAllocationStrategy price-capacity-optimized across several GPU types.",
    types=[ASG],
    check=_gpu_pool_nonprod_spot,
    level=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    schema=_ENV_SCHEMA,
    tags=["cost"],
)

gpu_instance_allow_list = resource_policy(
    name="gpu-instance-type-allow-list",
    summary="GPU instance types must come from the allowed families "
    f"(default {', '.join(ALLOWED_GPU_FAMILIES)}); a GPU pool may contain only those.",
    remediation="pick gpuPool.instanceTypes from the allowed families, or extend "
    "gpu-instance-type-allow-list.allowedFamilies in the policy config.",
    types=[ASG, LAUNCH_TEMPLATE, INSTANCE],
    check=_gpu_allow_list,
    severity=Severity.MEDIUM,
    defaults={"allowedFamilies": list(ALLOWED_GPU_FAMILIES)},
    schema={
        "allowedFamilies": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Instance families (the part before the dot) allowed for GPU capacity.",
        }
    },
    tags=["cost"],
)

required_tags = resource_policy(
    name="required-tags",
    summary="Every taggable AWS resource must carry the tags project, environment and owner (resource tags "
    "merged with the provider's defaultTags; environment one of dev/staging/prod).",
    remediation="pass the stack's tags (project, environment, owner) to every component and resource - or set "
    "them as aws provider defaultTags - and give autoscaling groups a `tags` list entry per key.",
    types=[],
    check=_required_tags,
    severity=Severity.LOW,
    defaults={"requiredTags": list(REQUIRED_TAGS), "allowedEnvironments": list(ENVIRONMENTS)},
    schema={
        "requiredTags": {"type": "array", "items": {"type": "string"}},
        "allowedEnvironments": {"type": "array", "items": {"type": "string"}},
    },
)

serving_endpoint_alarm = stack_policy(
    name="serving-endpoint-alarm",
    summary="Every serving endpoint (target group) must have at least one CloudWatch metric alarm on it.",
    remediation="add an aws:cloudwatch/metricAlarm:MetricAlarm in namespace AWS/ApplicationELB with "
    "dimensions={TargetGroup: tg.arn_suffix, LoadBalancer: alb.arn_suffix} (e.g. UnHealthyHostCount > 0, "
    f"HTTPCode_Target_5XX_Count, TargetResponseTime) and tag it {TARGET_GROUP_TAG}=<target group resource name>.",
    check=_endpoint_alarms,
    severity=Severity.MEDIUM,
    tags=["observability"],
)

POLICIES = [
    gpu_pool_max_size,
    gpu_pool_prod_on_demand,
    gpu_pool_nonprod_spot,
    gpu_instance_allow_list,
    required_tags,
    serving_endpoint_alarm,
]

__all__ = ["POLICIES", "alarm_covers", "instance_family", "is_accelerated", "is_gpu_pool", "is_taggable"]
