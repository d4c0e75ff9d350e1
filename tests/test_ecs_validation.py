"""The ECS stacks' API payloads checked against AWS's own service models (botocore), and every IAM
policy document the stacks emit checked with parliament.

botocore's ParamValidator checks types, required members, unknown members, lengths and ranges but
not enum values, so `shape_problems` also walks the shape and checks every enum-typed string. A few
AWS enums are documented but not encoded in the model (the EC2 Auto Scaling allocation strategies are
plain strings there); DOCUMENTED_ENUMS adds those from the API reference.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import botocore.session
import pytest
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator
from parliament import analyze_policy_string, enhance_finding
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from offline.harness import ProgramRun, shared_run, stack_config, stack_names

ECS_STACKS = [s for s in stack_names() if stack_config(s).get("deepseek-cloud:platform", "ecs") == "ecs"]
# Each stack as `pulumi up` plans it and as `pulumi preview` does (what AWS assigns is unknown).
PLANS = [pytest.param(s, p, id=f"{s}-{'preview' if p else 'up'}") for s in ECS_STACKS for p in (False, True)]

# CreateAutoScalingGroup API reference, InstancesDistribution ("Valid values: ..."); the botocore model
# types both members as plain strings.
DOCUMENTED_ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("InstancesDistribution", "SpotAllocationStrategy"): frozenset(
        {"capacity-optimized", "capacity-optimized-prioritized", "lowest-price", "price-capacity-optimized"}
    ),
    ("InstancesDistribution", "OnDemandAllocationStrategy"): frozenset({"lowest-price", "prioritized"}),
}
SEVERITY = {"MUTE": 0, "INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}


@functools.cache
def _model(service: str):
    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str) -> StructureShape:
    return _model(service).operation_model(operation).input_shape


def member_shape(service: str, operation: str, *path: str) -> Shape:
    shape: Shape = input_shape(service, operation)
    for part in path:
        shape = shape.member if isinstance(shape, ListShape) else shape.members[part]
    return shape


def enum_problems(value: Any, shape: Shape, where: str = "", parent: str = "") -> list[str]:
    """Every string whose shape (or the API reference) names its allowed values, checked."""
    problems: list[str] = []
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                problems += enum_problems(item, shape.members[key], f"{where}.{key}", shape.name)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for i, item in enumerate(value):
            problems += enum_problems(item, shape.member, f"{where}[{i}]", parent)
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, item in value.items():
            problems += enum_problems(item, shape.value, f"{where}.{key}", parent)
    elif isinstance(value, str):
        member = where.rsplit(".", 1)[-1].split("[")[0]
        allowed = set(getattr(shape, "enum", None) or ()) or DOCUMENTED_ENUMS.get((parent, member), set())
        if allowed and value not in allowed:
            problems.append(f"{where}: {value!r} is not one of {sorted(allowed)}")
    return problems


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or value == UNKNOWN


def unknown_paths(value: Any, where: str = "") -> list[str]:
    """Where a preview left a value unknown (AWS assigns it at deploy)."""
    if is_unknown(value):
        return [where]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in unknown_paths(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in unknown_paths(v, f"{where}[{i}]")]
    return []


def _placeholder(shape: Shape) -> Any:
    """Some value of `shape`'s type: what an unknown becomes at deploy, so the rest is still checked."""
    low = shape.metadata.get("min", 0)
    return {
        "string": "x" * max(1, int(low)),
        "integer": int(low),
        "long": int(low),
        "boolean": False,
        "double": float(low),
        "float": float(low),
        "list": [],
        "map": {},
        "structure": {},
    }.get(shape.type_name, "x")


def fill_unknowns(value: Any, shape: Shape) -> Any:
    if is_unknown(value):
        return _placeholder(shape)
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {k: fill_unknowns(v, shape.members[k]) if k in shape.members else v for k, v in value.items()}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [fill_unknowns(v, shape.member) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: fill_unknowns(v, shape.value) for k, v in value.items()}
    return value


def shape_problems(value: Any, shape: Shape) -> list[str]:
    """ParamValidator's report plus the enum walk: empty when AWS's model accepts `value`. Unknowns (a
    preview) stand for some value of their member's type; `unknown_paths` says which they are."""
    value = fill_unknowns(value, shape)
    report = ParamValidator().validate(value, shape)
    problems = [line for line in report.generate_report().splitlines() if line.strip()] if report.has_errors() else []
    return problems + enum_problems(value, shape)


def as_api(value: Any) -> Any:
    """Engine inputs → API params: camelCase keys to PascalCase, integral JSON numbers back to ints."""
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: as_api(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_api(v) for v in value]
    return integral(value)


def integral(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def planned(stack: str, preview: bool = False) -> ProgramRun:
    """One run per stack (and mode) for this module's read-only checks."""
    return shared_run(stack, preview=preview)


def task_definition_params(run: ProgramRun) -> dict[str, Any]:
    """The model server's task definition (a stack with one ModelService)."""
    return _task_definition_params(run.one("aws:ecs/taskDefinition:TaskDefinition", under="ModelService").inputs)


def _task_definition_params(td: dict[str, Any]) -> dict[str, Any]:
    return integral(
        {
            "family": td["family"],
            "taskRoleArn": td["taskRoleArn"],
            "executionRoleArn": td["executionRoleArn"],
            "networkMode": td["networkMode"],
            "requiresCompatibilities": td["requiresCompatibilities"],
            "runtimePlatform": td["runtimePlatform"],
            **({"cpu": td["cpu"], "memory": td["memory"]} if "cpu" in td else {}),
            "containerDefinitions": td["containerDefinitions"]
            if is_unknown(td["containerDefinitions"])
            else json.loads(td["containerDefinitions"]),
            "volumes": [  # a Fargate task's volume is task storage (no host path)
                {"name": v["name"], **({"host": {"sourcePath": v["hostPath"]}} if "hostPath" in v else {})}
                for v in td.get("volumes", [])
            ],
        }
    )


# CreateService member <- the provider's input, for the members a service may leave unset (the router's
# Fargate service has no capacity provider or placement).
OPTIONAL_SERVICE_MEMBERS = {
    "capacityProviderStrategy": "capacityProviderStrategies",
    "placementStrategy": "orderedPlacementStrategies",
    "launchType": "launchType",
    "healthCheckGracePeriodSeconds": "healthCheckGracePeriodSeconds",
    "enableECSManagedTags": "enableEcsManagedTags",
    "propagateTags": "propagateTags",
    "availabilityZoneRebalancing": "availabilityZoneRebalancing",
}


def _service_params(svc: dict[str, Any]) -> dict[str, Any]:
    net = svc["networkConfiguration"]
    return integral(
        {
            "cluster": svc["cluster"],
            "serviceName": "vllm",
            "taskDefinition": svc["taskDefinition"],
            "loadBalancers": svc["loadBalancers"],
            "desiredCount": svc["desiredCount"],
            **{api: svc[key] for api, key in OPTIONAL_SERVICE_MEMBERS.items() if svc.get(key) not in (None, [])},
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": svc["deploymentCircuitBreaker"],
                "maximumPercent": svc["deploymentMaximumPercent"],
                "minimumHealthyPercent": svc["deploymentMinimumHealthyPercent"],
            },
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": net["subnets"],
                    "securityGroups": net["securityGroups"],
                    "assignPublicIp": "ENABLED" if net["assignPublicIp"] else "DISABLED",
                }
            },
        }
    )


def service_params(run: ProgramRun) -> dict[str, Any]:
    return _service_params(run.one("aws:ecs/service:Service").inputs)


def scaling_params(run: ProgramRun) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one scalable target and policy (a stack with one ModelService)."""
    return _scaling_params(
        run.one("aws:appautoscaling/target:Target").inputs, run.one("aws:appautoscaling/policy:Policy").inputs
    )


def _scaling_params(target_inputs: dict[str, Any], policy_inputs: dict[str, Any]) -> tuple[dict, dict]:
    inputs = dict(target_inputs)
    tags = inputs.pop("tags", None)  # a map of tag values: keep its keys as they are
    target = as_api(inputs)
    if tags:
        target["Tags"] = tags
    policy = as_api(policy_inputs)
    policy["PolicyName"] = "requests"  # autonamed by the provider
    return target, policy


def mixed_instances_policy(run: ProgramRun) -> dict[str, Any]:
    return as_api(run.one("aws:autoscaling/group:Group").inputs["mixedInstancesPolicy"])


# A tiered stack (Pulumi.hybrid.yaml) declares one of each per tier (a ModelService each) and the router's
# task, service and scaling on Fargate: every one of them is checked.
def every(run: ProgramRun, token: str) -> list[dict[str, Any]]:
    found = [r.inputs for r in run.of_type(token)]
    assert found, token
    return found


# --- the validator itself can fail ---------------------------------------------------------------


def test_validator_catches_bad_enum_type_and_documented_enum() -> None:
    run = planned("dev")
    params = task_definition_params(run)
    shape = input_shape("ecs", "RegisterTaskDefinition")
    assert shape_problems(params, shape) == []

    bad = copy.deepcopy(params)
    bad["containerDefinitions"][0]["ulimits"][0]["name"] = "memlocks"
    bad["containerDefinitions"][0]["logConfiguration"]["logDriver"] = "cloudwatch"
    problems = shape_problems(bad, shape)
    assert any("memlocks" in p for p in problems) and any("cloudwatch" in p for p in problems), problems

    bad = copy.deepcopy(params)
    bad["containerDefinitions"][0]["memoryReservation"] = "lots"
    assert any("memoryReservation" in p for p in shape_problems(bad, shape))

    mip = mixed_instances_policy(run)
    mip_shape = member_shape("autoscaling", "CreateAutoScalingGroup", "MixedInstancesPolicy")
    assert shape_problems(mip, mip_shape) == []
    mip["InstancesDistribution"]["SpotAllocationStrategy"] = "cheapest"
    assert any("cheapest" in p for p in shape_problems(mip, mip_shape))

    _, policy = scaling_params(run)
    policy_shape = input_shape("application-autoscaling", "PutScalingPolicy")
    spec = policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
    spec["PredefinedMetricType"] = "ALBRequestCount"
    assert any("ALBRequestCount" in p for p in shape_problems(policy, policy_shape))


# --- every shipped ECS stack -----------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "preview"), PLANS)
def test_task_definition_matches_register_task_definition(stack: str, preview: bool) -> None:
    for td in every(planned(stack, preview), "aws:ecs/taskDefinition:TaskDefinition"):
        params = _task_definition_params(td)
        # In a preview the containers embed role and secret ARNs AWS has not assigned: the whole JSON is unknown.
        # Otherwise one container, or vLLM and its non-essential metrics sidecar (tests/test_ecs_metrics.py).
        assert (
            is_unknown(params["containerDefinitions"])
            if preview
            else [(c["name"], c["essential"]) for c in params["containerDefinitions"][1:]]
            in ([], [("adot-collector", False)])
        )
        assert shape_problems(params, input_shape("ecs", "RegisterTaskDefinition")) == []


@pytest.mark.parametrize(("stack", "preview"), PLANS)
def test_service_matches_create_service(stack: str, preview: bool) -> None:
    for svc in every(planned(stack, preview), "aws:ecs/service:Service"):
        assert shape_problems(_service_params(svc), input_shape("ecs", "CreateService")) == []


@pytest.mark.parametrize(("stack", "preview"), PLANS)
def test_capacity_provider_matches_create_capacity_provider(stack: str, preview: bool) -> None:
    for cp in every(planned(stack, preview), "aws:ecs/capacityProvider:CapacityProvider"):
        params = integral({"name": "gpu", "autoScalingGroupProvider": cp["autoScalingGroupProvider"]})
        assert shape_problems(params, input_shape("ecs", "CreateCapacityProvider")) == []


@pytest.mark.parametrize(("stack", "preview"), PLANS)
def test_autoscaling_target_and_policy_match_application_autoscaling(stack: str, preview: bool) -> None:
    run = planned(stack, preview)
    targets = every(run, "aws:appautoscaling/target:Target")
    policies = every(run, "aws:appautoscaling/policy:Policy")
    assert len(targets) == len(policies)
    for target_inputs, policy_inputs in zip(targets, policies, strict=True):
        target, policy = _scaling_params(target_inputs, policy_inputs)
        assert shape_problems(target, input_shape("application-autoscaling", "RegisterScalableTarget")) == []
        assert shape_problems(policy, input_shape("application-autoscaling", "PutScalingPolicy")) == []
    for action in run.of_type("aws:appautoscaling/scheduledAction:ScheduledAction"):
        params = as_api(action.inputs)
        params["ScheduledActionName"] = params.pop("Name")  # pulumi `name` is the API's ScheduledActionName
        assert shape_problems(params, input_shape("application-autoscaling", "PutScheduledAction")) == []


@pytest.mark.parametrize(("stack", "preview"), PLANS)
def test_mixed_instances_policy_matches_create_auto_scaling_group(stack: str, preview: bool) -> None:
    for group in every(planned(stack, preview), "aws:autoscaling/group:Group"):
        mip = as_api(group["mixedInstancesPolicy"])
        assert mip["LaunchTemplate"]["Overrides"], "no instance type overrides"
        shape = member_shape("autoscaling", "CreateAutoScalingGroup", "MixedInstancesPolicy")
        assert shape_problems(mip, shape) == []


# --- IAM ---------------------------------------------------------------------------------------------


def _findings(document: str) -> list[tuple[str, str, str]]:
    found = []
    for finding in analyze_policy_string(document).findings:
        finding = enhance_finding(finding)
        found.append((finding.severity, finding.issue, str(finding.detail)[:200]))
    return found


def iam_documents(run: ProgramRun) -> list[tuple[str, str]]:
    """Identity and trust policy documents. A trust policy is the role's resource policy, so it is
    analyzed with the role as its Resource (parliament insists on one)."""
    docs = []
    for role in run.of_type("aws:iam/role:Role"):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        for statement in trust["Statement"]:
            statement.setdefault("Resource", f"arn:aws:iam::123456789012:role/{role.name}")
        docs.append((f"{role.name} (trust)", json.dumps(trust)))
    for token in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        for item in run.of_type(token):
            docs.append((item.name, item.inputs["policy"]))
    for item in run.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        docs.append((f"{item.name} (bucket)", item.inputs["policy"]))
    return [(name, doc) for name, doc in docs if not is_unknown(doc)]  # a preview: see test_preview_unknowns


@pytest.mark.parametrize(("stack", "preview"), PLANS)
def test_every_iam_policy_passes_parliament(stack: str, preview: bool) -> None:
    documents = iam_documents(planned(stack, preview))
    assert any("execution" in name for name, _ in documents)
    above_low = {
        name: [f for f in _findings(doc) if SEVERITY.get(f[0], 9) > SEVERITY["LOW"]] for name, doc in documents
    }
    assert {k: v for k, v in above_low.items() if v} == {}


@pytest.mark.parametrize(("stack", "preview"), PLANS)
def test_kms_key_policy_findings_are_only_resource_star(stack: str, preview: bool) -> None:
    # A key policy's Resource "*" means "this key"; parliament reads it as identity-policy RESOURCE_STAR
    # (LOW). Anything else would be a real problem.
    policy = planned(stack, preview).one("aws:kms/key:Key").inputs["policy"]
    assert {issue for _, issue, _ in _findings(policy)} <= {"RESOURCE_STAR"}


# --- what a preview cannot check ---------------------------------------------------------------------

# Exactly these inputs are unknown in a preview (AWS assigns them: ARNs, ids, generated names, and JSON
# that embeds them); the checks above validate everything else. A new unknown fails here, so a value the
# program should know (a port, a size, a policy action) cannot silently drop out of validation.
PREVIEW_UNKNOWNS = {
    "aws:ecs/taskDefinition:TaskDefinition": [".containerDefinitions", ".executionRoleArn", ".taskRoleArn"],
    "aws:ecs/service:Service": [
        ".capacityProviderStrategies[0].capacityProvider",
        ".cluster",
        ".loadBalancers[0].targetGroupArn",
        ".networkConfiguration.securityGroups[0]",
        ".networkConfiguration.subnets",
        ".taskDefinition",
    ],
    "aws:ecs/capacityProvider:CapacityProvider": [".autoScalingGroupProvider.autoScalingGroupArn"],
    "aws:appautoscaling/target:Target": [".resourceId"],
    "aws:appautoscaling/policy:Policy": [
        ".resourceId",
        ".targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.resourceLabel",
    ],
    "aws:autoscaling/group:Group": [
        ".mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.launchTemplateId",
        ".vpcZoneIdentifiers",
    ],
    "aws:iam/role:Role": [],
    "aws:iam/rolePolicy:RolePolicy": [".policy", ".role"],  # the execution role's policy names secret ARNs
    "aws:s3/bucketPolicy:BucketPolicy": [".bucket", ".policy"],
    "aws:kms/key:Key": [],
}


@pytest.mark.parametrize("stack", ECS_STACKS)
def test_preview_leaves_unknown_only_what_aws_assigns(stack: str) -> None:
    run = planned(stack, preview=True)
    found = {t: sorted({p for r in run.of_type(t) for p in unknown_paths(r.inputs)}) for t in PREVIEW_UNKNOWNS}
    assert found == PREVIEW_UNKNOWNS
    for td in every(planned(stack), "aws:ecs/taskDefinition:TaskDefinition"):  # the full plan knows everything
        assert unknown_paths(_task_definition_params(td)) == []


# --- the API-key rotation (components/ecs/api_key_rotation.py): CreateFunction, AddPermission, RotateSecret ----

ROTATING = [p for p in PLANS if p.values[0] in ("dev", "staging", "prod")]  # hybrid's tier keys do not rotate


def rotation_params(run: ProgramRun) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The three calls the provider makes, from the planned inputs (pulumi names → API member names)."""
    fn = every(run, "aws:lambda/function:Function")[0]
    create = {
        "FunctionName": fn["name"],
        "Runtime": fn["runtime"],
        "Role": fn["role"],
        "Handler": fn["handler"],
        "Code": {"ZipFile": b"PK"},  # the archive: built by the provider from lambdas/api_key_rotation
        "Description": fn["description"],
        "Timeout": integral(fn["timeout"]),
        "MemorySize": integral(fn["memorySize"]),
        "KMSKeyArn": fn["kmsKeyArn"],
        "Environment": {"Variables": fn["environment"]["variables"]},
        "LoggingConfig": as_api(fn["loggingConfig"]),
    }
    perm = every(run, "aws:lambda/permission:Permission")[0]
    add = {
        "FunctionName": perm["function"],
        "StatementId": "secretsmanager-invoke",
        "Action": perm["action"],
        "Principal": perm["principal"],
        "SourceAccount": perm["sourceAccount"],
    }
    rot = every(run, "aws:secretsmanager/secretRotation:SecretRotation")[0]
    rotate = {
        "SecretId": rot["secretId"],
        "RotationLambdaARN": rot["rotationLambdaArn"],
        "RotationRules": as_api(rot["rotationRules"]),
    }
    return create, add, rotate


@pytest.mark.parametrize(("stack", "preview"), ROTATING)
def test_rotation_function_permission_and_schedule_match_their_apis(stack: str, preview: bool) -> None:
    run = planned(stack, preview)
    create, add, rotate = rotation_params(run)
    assert shape_problems(create, input_shape("lambda", "CreateFunction")) == []
    assert shape_problems(add, input_shape("lambda", "AddPermission")) == []
    assert shape_problems(rotate, input_shape("secretsmanager", "RotateSecret")) == []
    assert rotate["RotationRules"] == {"AutomaticallyAfterDays": 30}
    concurrency = integral(every(run, "aws:lambda/function:Function")[0]["reservedConcurrentExecutions"])
    params = {"FunctionName": create["FunctionName"], "ReservedConcurrentExecutions": concurrency}
    assert shape_problems(params, input_shape("lambda", "PutFunctionConcurrency")) == []
    create["LoggingConfig"]["LogFormat"] = "Yaml"  # the validator sees the enum
    assert any("Yaml" in p for p in shape_problems(create, input_shape("lambda", "CreateFunction")))
