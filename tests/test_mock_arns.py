"""Every ARN the mock runtime fabricates is a valid ARN of its service and names its own resource.

Formats come from AWS's Service Authorization Reference as parliament ships it (iam_definition.json),
independently of offline/arns.py's templates; a few ARNs that reference lists no format for are written
here from AWS's API examples (cited). Runs: every shipped stack and the ci project (default config, which
creates the OIDC provider, and the example config with a permissions boundary and role paths).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import parliament
import pytest
import yaml

from offline.arns import sdk_outputs
from offline.harness import ProgramRun, run_program, shared_run, stack_names
from offline.mocks import Registration

ROOT = Path(__file__).resolve().parent.parent
CI_MAIN = ROOT / "ci" / "__main__.py"
CI_PROJECT = "deepseek-cloud-ci"

_DEFINITION = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
PARLIAMENT: dict[tuple[str, str], str] = {}
for _service in _DEFINITION:
    for _resource in _service["resources"]:
        PARLIAMENT.setdefault((_service["prefix"], _resource["resource"]), _resource["arn"])

# ARNs the Service Authorization Reference has no resource type for, from AWS's own API examples.
DOCUMENTED: dict[tuple[str, str], str] = {
    # application-autoscaling put-scaling-policy example (AWS CLI reference): arn:aws:autoscaling:us-west-2:
    # 012345678910:scalingPolicy:6d8972f3-…:resource/ecs/service/default/web-app:policyName/web-app-cpu-gt-75
    ("autoscaling", "app-scaling-policy"): "arn:${Partition}:autoscaling:${Region}:${Account}:scalingPolicy:"
    "${PolicyId}:resource/${ServiceNamespace}/${ResourceId}:policyName/${PolicyName}",
    # application-autoscaling describe-scheduled-actions example: …:scheduledAction:<id>:resource/ecs/service/
    # <cluster>/<service>:scheduledActionName/<name>
    ("autoscaling", "app-scheduled-action"): "arn:${Partition}:autoscaling:${Region}:${Account}:scheduledAction:"
    "${ActionId}:resource/${ServiceNamespace}/${ResourceId}:scheduledActionName/${ScheduledActionName}",
    # aws_ecs_task_definition `arn_without_revision`: "ARN of the Task Definition with the trailing revision
    # removed" (terraform-provider-aws docs, ecs_task_definition).
    ("ecs", "task-definition-family"): "arn:${Partition}:ecs:${Region}:${Account}:task-definition/"
    "${TaskDefinitionFamilyName}",
    # sns subscribe / list-subscriptions examples: arn:aws:sns:us-west-2:123456789012:my-topic:8a21d249-4329-…
    ("sns", "subscription"): "arn:${Partition}:sns:${Region}:${Account}:${TopicName}:${SubscriptionId}",
}

# Placeholders whose values may contain "/" (IAM paths, log group and secret names, auto scaling resource ids).
# ECR repository names may hold namespaces ("project-a/nginx-web-app", ECR user guide "Creating a private
# repository"), so the ARN does too.
SLASHED = {"SecretId", "LogGroupName", "ResourceId", "Alias", "RepositoryName"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX16 = re.compile(r"[0-9a-f]{16}")


def pattern(arn_format: str) -> re.Pattern[str]:
    """A parliament ARN format as a regex: `${Partition}`, `${Region}`, `${Account}` and every other
    placeholder match one non-empty segment (named groups); literal text, including an empty region or
    account (`iam::`), must match exactly."""
    out = []
    for literal, name in re.findall(r"([^$]*)(?:\$\{(\w+)\})?", arn_format):
        out.append(re.escape(literal))
        if not name:
            continue
        if name == "Partition":
            out.append(r"(?P<Partition>aws|aws-cn|aws-us-gov)")
        elif name == "Region":
            out.append(r"(?P<Region>[a-z]{2}(?:-gov)?-[a-z]+-\d)")
        elif name == "Account":
            out.append(r"(?P<Account>\d{12})")
        elif name.endswith("WithPath") or name in SLASHED:
            out.append(rf"(?P<{name}>[^:]+)")
        else:
            out.append(rf"(?P<{name}>[^:/]+)")
    return re.compile("".join(out))


Expect = Callable[[Registration], "str | re.Pattern[str]"]


@dataclass(frozen=True)
class ArnOf:
    """A type's ARN output, its format (service prefix, resource type) and what its placeholders must hold."""

    service: str
    resource: str
    expect: dict[str, Expect] = field(default_factory=dict)
    output: str = "arn"

    @property
    def format(self) -> str:
        return PARLIAMENT.get((self.service, self.resource)) or DOCUMENTED[(self.service, self.resource)]


def out(key: str) -> Expect:
    return lambda r: r.outputs[key]


def with_path(r: Registration) -> str:
    return f"{r.outputs.get('path', '/')}{r.outputs['name']}".removeprefix("/")


def ec2_id(prefix: str) -> Expect:
    return lambda r: re.compile(rf"{prefix}-[0-9a-f]{{8,17}}")


def last_segment(key: str) -> Expect:
    return lambda r: r.outputs[key].rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def lb_part(key: str, index: int) -> Expect:
    # listener/app/<lb name>/<lb id>/…: the parent's ARN names the load balancer (and listener).
    return lambda r: r.outputs[key].split(":", 5)[5].split("/")[index]


ARN_OF: dict[str, ArnOf] = {
    "aws:iam/role:Role": ArnOf("iam", "role", {"RoleNameWithPath": with_path}),
    "aws:iam/policy:Policy": ArnOf("iam", "policy", {"PolicyNameWithPath": with_path}),
    "aws:iam/instanceProfile:InstanceProfile": ArnOf(
        "iam", "instance-profile", {"InstanceProfileNameWithPath": with_path}
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ArnOf(
        "iam", "oidc-provider", {"OidcProviderName": lambda r: r.outputs["url"].removeprefix("https://")}
    ),
    "aws:s3/bucket:Bucket": ArnOf("s3", "bucket", {"BucketName": out("bucket")}),
    "aws:ecr/repository:Repository": ArnOf("ecr", "repository", {"RepositoryName": out("name")}),
    "aws:lambda/function:Function": ArnOf("lambda", "function", {"FunctionName": out("name")}),
    "aws:cloudwatch/logGroup:LogGroup": ArnOf("logs", "log-group", {"LogGroupName": out("name")}),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ArnOf("cloudwatch", "alarm", {"AlarmName": out("name")}),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ArnOf("cloudwatch", "alarm", {"AlarmName": out("alarmName")}),
    "aws:cloudwatch/dashboard:Dashboard": ArnOf(
        "cloudwatch", "dashboard", {"DashboardName": out("dashboardName")}, output="dashboardArn"
    ),
    "aws:cloudwatch/eventRule:EventRule": ArnOf("events", "rule-on-default-event-bus", {"RuleName": out("name")}),
    "aws:sns/topic:Topic": ArnOf("sns", "topic", {"TopicName": out("name")}),
    "aws:sns/topicSubscription:TopicSubscription": ArnOf(
        "sns", "subscription", {"TopicName": last_segment("topic"), "SubscriptionId": lambda r: UUID}
    ),
    "aws:kms/key:Key": ArnOf("kms", "key", {"KeyId": out("keyId")}),
    "aws:kms/alias:Alias": ArnOf("kms", "alias", {"Alias": lambda r: r.outputs["name"].removeprefix("alias/")}),
    "aws:secretsmanager/secret:Secret": ArnOf(
        "secretsmanager",
        "Secret",
        {"SecretId": lambda r: re.compile(re.escape(r.outputs["name"]) + r"-[A-Za-z0-9]{6}")},
    ),
    "aws:wafv2/webAcl:WebAcl": ArnOf(
        "wafv2", "webacl", {"Scope": lambda r: "regional", "Name": out("name"), "Id": lambda r: UUID}
    ),
    "aws:lb/loadBalancer:LoadBalancer": ArnOf(
        "elasticloadbalancing",
        "loadbalancer/app/",
        {"LoadBalancerName": out("name"), "LoadBalancerId": lambda r: HEX16},
    ),
    "aws:lb/targetGroup:TargetGroup": ArnOf(
        "elasticloadbalancing", "targetgroup", {"TargetGroupName": out("name"), "TargetGroupId": lambda r: HEX16}
    ),
    "aws:lb/listener:Listener": ArnOf(
        "elasticloadbalancing",
        "listener/app",
        {"LoadBalancerName": lb_part("loadBalancerArn", 2), "LoadBalancerId": lb_part("loadBalancerArn", 3)},
    ),
    "aws:lb/listenerRule:ListenerRule": ArnOf(
        "elasticloadbalancing",
        "listener-rule/app",
        {
            "LoadBalancerName": lb_part("listenerArn", 2),
            "LoadBalancerId": lb_part("listenerArn", 3),
            "ListenerId": lb_part("listenerArn", 4),
        },
    ),
    "aws:ecs/cluster:Cluster": ArnOf("ecs", "cluster", {"ClusterName": out("name")}),
    "aws:ecs/capacityProvider:CapacityProvider": ArnOf(
        "ecs", "capacity-provider", {"CapacityProviderName": out("name")}
    ),
    "aws:ecs/service:Service": ArnOf(
        "ecs", "service", {"ClusterName": last_segment("cluster"), "ServiceName": out("name")}
    ),
    "aws:ecs/taskDefinition:TaskDefinition": ArnOf(
        "ecs",
        "task-definition",
        {
            "TaskDefinitionFamilyName": out("family"),
            "TaskDefinitionRevisionNumber": lambda r: str(r.outputs["revision"]),
        },
    ),
    "aws:autoscaling/group:Group": ArnOf(
        "autoscaling", "autoScalingGroup", {"GroupFriendlyName": out("name"), "GroupId": lambda r: UUID}
    ),
    "aws:appautoscaling/target:Target": ArnOf("application-autoscaling", "ScalableTarget"),
    "aws:appautoscaling/policy:Policy": ArnOf(
        "autoscaling",
        "app-scaling-policy",
        {"PolicyName": out("name"), "ResourceId": out("resourceId"), "ServiceNamespace": out("serviceNamespace")},
    ),
    "aws:appautoscaling/scheduledAction:ScheduledAction": ArnOf(
        "autoscaling",
        "app-scheduled-action",
        {
            "ScheduledActionName": out("name"),
            "ResourceId": out("resourceId"),
            "ServiceNamespace": out("serviceNamespace"),
        },
    ),
    "aws:ec2/vpc:Vpc": ArnOf("ec2", "vpc", {"VpcId": ec2_id("vpc")}),
    "aws:ec2/subnet:Subnet": ArnOf("ec2", "subnet", {"SubnetId": ec2_id("subnet")}),
    "aws:ec2/flowLog:FlowLog": ArnOf("ec2", "vpc-flow-log", {"VpcFlowLogId": ec2_id("fl")}),
    "aws:ec2/securityGroup:SecurityGroup": ArnOf("ec2", "security-group", {"SecurityGroupId": ec2_id("sg")}),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ArnOf(
        "ec2", "security-group", {"SecurityGroupId": ec2_id("sg")}
    ),
    "aws:ec2/internetGateway:InternetGateway": ArnOf("ec2", "internet-gateway", {"InternetGatewayId": ec2_id("igw")}),
    "aws:ec2/eip:Eip": ArnOf("ec2", "elastic-ip", {"AllocationId": ec2_id("eipalloc")}),
    "aws:ec2/routeTable:RouteTable": ArnOf("ec2", "route-table", {"RouteTableId": ec2_id("rtb")}),
    "aws:ec2/launchTemplate:LaunchTemplate": ArnOf("ec2", "launch-template", {"LaunchTemplateId": ec2_id("lt")}),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ArnOf("ec2", "vpc-endpoint", {"VpcEndpointId": ec2_id("vpce")}),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ArnOf(
        "ec2", "security-group-rule", {"SecurityGroupRuleId": ec2_id("sgr")}
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ArnOf(
        "ec2", "security-group-rule", {"SecurityGroupRuleId": ec2_id("sgr")}
    ),
    "aws:eks/cluster:Cluster": ArnOf("eks", "cluster", {"ClusterName": out("name")}),
    "aws:eks/nodeGroup:NodeGroup": ArnOf(
        "eks",
        "nodegroup",
        {"ClusterName": out("clusterName"), "NodegroupName": out("nodeGroupName"), "UUID": lambda r: UUID},
    ),
    "aws:eks/addon:Addon": ArnOf(
        "eks", "addon", {"ClusterName": out("clusterName"), "AddonName": out("addonName"), "UUID": lambda r: UUID}
    ),
    "aws:eks/accessEntry:AccessEntry": ArnOf(
        "eks",
        "access-entry",
        {
            "ClusterName": out("clusterName"),
            "IamIdentityType": lambda r: r.outputs["principalArn"].split(":")[5].split("/")[0],
            "IamIdentityAccountID": lambda r: r.outputs["principalArn"].split(":")[4],
            "IamIdentityName": last_segment("principalArn"),
            "UUID": lambda r: UUID,
        },
        output="accessEntryArn",
    ),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ArnOf(
        "eks",
        "podidentityassociation",
        {"ClusterName": out("clusterName"), "UUID": lambda r: re.compile(r"a-[0-9a-z]{17}")},
        output="associationArn",
    ),
    "aws:sqs/queue:Queue": ArnOf("sqs", "queue", {"QueueName": out("name")}),
    # The workspace id the ARN names is the one in its query endpoint (.../workspaces/<id>/).
    "aws:amp/workspace:Workspace": ArnOf(
        "aps", "workspace", {"WorkspaceId": lambda r: r.outputs["prometheusEndpoint"].rstrip("/").rsplit("/", 1)[-1]}
    ),
    "aws:amp/scraper:Scraper": ArnOf("aps", "scraper", {"ScraperId": lambda r: re.compile(rf"s-{UUID.pattern}")}),
    "aws:ec2/placementGroup:PlacementGroup": ArnOf("ec2", "placement-group", {"PlacementGroupName": out("name")}),
}

# Types whose `arn` is an argument the program sets (the target's or topic's ARN), not one AWS assigns.
ARN_IS_AN_INPUT = {"aws:cloudwatch/eventTarget:EventTarget", "aws:sns/topicPolicy:TopicPolicy"}

# Types the provider gives no ARN output at all.
HAS_NO_ARN = {
    "aws:cloudwatch/logMetricFilter:LogMetricFilter",  # metric filters have no ARN (PutMetricFilter returns none)
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:wafv2/webAclAssociation:WebAclAssociation",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:s3/bucketLogging:BucketLogging",
    "docker-build:index:Image",  # a local build and push: its outputs are the digest and ref, no ARN
    # An access policy association's policyArn/principalArn are inputs (the AWS-owned access policy, the
    # principal); the queue policy has no ARN of its own.
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    "aws:sqs/queuePolicy:QueuePolicy",
    # A function's resource-policy statement and a secret's rotation schedule: configuration of their
    # function / secret, no ARN of their own.
    "aws:lambda/permission:Permission",
    "aws:secretsmanager/secretRotation:SecretRotation",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
}
ARN_OUTPUTS = {"arn", "dashboardArn", "accessEntryArn", "associationArn"}
# Not AWS resources: Kubernetes objects (and their provider) live in the cluster's API and have no ARN.
NOT_AWS = ("kubernetes:", "pulumi:providers:")


def ci_example_config() -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "ci" / "Pulumi.example.yaml").read_text())["config"]
    return {k: json.dumps(v) if isinstance(v, list) else v for k, v in config.items()}


@pytest.fixture(scope="module")
def runs() -> list[ProgramRun]:
    found = [shared_run(stack) for stack in stack_names()]
    default_ci = {"aws:region": "us-east-1", f"{CI_PROJECT}:repository": "acme/deepseek-cloud"}
    found.append(run_program("ci", config=default_ci, main=CI_MAIN, project=CI_PROJECT))
    found.append(run_program("example", config=ci_example_config(), main=CI_MAIN, project=CI_PROJECT))
    return found


def registrations(runs: list[ProgramRun]) -> list[tuple[str, Registration]]:
    return [(run.stack, r) for run in runs for r in run.registrations if r.custom and not r.type.startswith(NOT_AWS)]


def test_kubernetes_objects_are_the_only_registrations_left_out(runs):
    left_out = {r.type for run in runs for r in run.registrations if r.custom and r.type.startswith(NOT_AWS)}
    assert left_out == {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:batch/v1:CronJob",
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:Service",
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
        "kubernetes:karpenter.sh/v1:NodePool",
        "kubernetes:keda.sh/v1alpha1:ScaledObject",
        "kubernetes:keda.sh/v1alpha1:TriggerAuthentication",
        "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet",
        "kubernetes:policy/v1:PodDisruptionBudget",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        "kubernetes:rbac.authorization.k8s.io/v1:Role",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
        "pulumi:providers:kubernetes",
    }


def problems(arn: str, spec: ArnOf, reg: Registration) -> list[str]:
    match = pattern(spec.format).fullmatch(arn)
    if match is None:
        return [f"{reg.type} {reg.name}: {spec.output} {arn!r} is not {spec.format}"]
    found = []
    for placeholder, expect in spec.expect.items():
        wanted, got = expect(reg), match.group(placeholder)
        ok = wanted.fullmatch(got) if isinstance(wanted, re.Pattern) else got == wanted
        if not ok:
            found.append(f"{reg.type} {reg.name}: {placeholder} in {arn!r} is {got!r}, expected {wanted}")
    return found


def test_every_registered_type_is_classified(runs):
    types = {r.type for _, r in registrations(runs)}
    unclassified = types - set(ARN_OF) - ARN_IS_AN_INPUT - HAS_NO_ARN
    assert unclassified == set(), "add each to ARN_OF (with its parliament format) or HAS_NO_ARN"
    for t in types:
        declared = sdk_outputs(t)
        assert declared is not None, t
        has_arn = bool(declared & ARN_OUTPUTS)
        assert has_arn == (t not in HAS_NO_ARN), f"{t}: SDK ARN outputs {sorted(declared & ARN_OUTPUTS)}"
        if t in ARN_OF:
            assert ARN_OF[t].output in declared, f"{t} has no output {ARN_OF[t].output}"


def test_every_mapped_format_exists():
    for t, spec in ARN_OF.items():
        assert spec.format.startswith("arn:${Partition}:"), t
        names = set(re.findall(r"\$\{(\w+)\}", spec.format))
        assert set(spec.expect) <= names, f"{t}: {sorted(set(spec.expect) - names)} not in {spec.format}"


def test_fabricated_arns_are_valid_arns_of_their_resource(runs):
    found = []
    checked = 0
    for _, reg in registrations(runs):
        if reg.type in HAS_NO_ARN:
            found += [
                f"{reg.type} {reg.name}: has no {k}, got {reg.outputs[k]!r}" for k in ARN_OUTPUTS & set(reg.outputs)
            ]
            continue
        spec = ARN_OF.get(reg.type)
        if spec is None:
            continue
        arn = reg.outputs.get(spec.output)
        found += problems(arn, spec, reg) if isinstance(arn, str) else [f"{reg.type} {reg.name}: no {spec.output}"]
        checked += 1
    first_per_type = {line.split(" ", 1)[0]: line for line in reversed(found)}
    assert found == [], "\n".join(sorted(first_per_type.values()))
    assert checked > 100  # every shipped stack and both ci runs contributed


def test_iam_roles_keep_their_path_and_have_no_region(runs):
    roles = [r for _, r in registrations(runs) if r.type == "aws:iam/role:Role" and r.outputs.get("path")]
    with_path = [r for r in roles if r.outputs["path"] != "/"]
    assert with_path, "the ci example config gives its roles a path"
    for role in roles:
        assert role.outputs["arn"] == f"arn:aws:iam::123456789012:role{role.outputs['path']}{role.outputs['name']}"


def test_load_balancer_suffixes_are_the_tail_of_their_arn(runs):
    for _, reg in registrations(runs):
        if reg.type == "aws:lb/loadBalancer:LoadBalancer":
            assert reg.outputs["arn"].endswith(":loadbalancer/" + reg.outputs["arnSuffix"])
        elif reg.type == "aws:lb/targetGroup:TargetGroup":
            assert reg.outputs["arn"].endswith(":" + reg.outputs["arnSuffix"])


def test_task_definitions_arn_without_revision_is_their_arn_less_the_revision(runs):
    definitions = [r for _, r in registrations(runs) if r.type == "aws:ecs/taskDefinition:TaskDefinition"]
    assert definitions
    for reg in definitions:
        assert reg.outputs["arnWithoutRevision"] + f":{reg.outputs['revision']}" == reg.outputs["arn"]


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def test_every_fabricated_arn_anywhere_has_a_format_of_its_service(runs):
    """ARNs flow into other resources' inputs (task role, topic, cluster): each fabricated one parses."""
    formats: dict[str, list[re.Pattern[str]]] = {}
    for arn_format in [*PARLIAMENT.values(), *DOCUMENTED.values()]:
        owner = arn_format.split(":")[2]
        formats.setdefault(owner, []).append(pattern(arn_format))
    bad, seen = set(), 0
    for run in runs:
        for reg in run.registrations:
            for value in _strings([reg.inputs, reg.outputs]):
                if value.startswith("arn:") and value in run.computed:
                    seen += 1
                    if not any(p.fullmatch(value) for p in formats.get(value.split(":")[2], [])):
                        bad.add(value)
    assert sorted(bad) == []
    assert seen > 100


@pytest.mark.parametrize(
    ("arn", "spec_type", "valid"),
    [
        ("arn:aws:iam::123456789012:role/github-ci/deploy", "aws:iam/role:Role", True),
        ("arn:aws:iam:us-east-1:123456789012:role/deploy", "aws:iam/role:Role", False),  # IAM has no region
        ("arn:aws:cloudwatch::123456789012:dashboard/d", "aws:cloudwatch/dashboard:Dashboard", True),
        ("arn:aws:cloudwatch:us-east-1:123456789012:dashboard/d", "aws:cloudwatch/dashboard:Dashboard", False),
        ("arn:aws:logs:us-east-1:123456789012:log-group:/a/b", "aws:cloudwatch/logGroup:LogGroup", True),
        ("arn:aws:cloudwatch:us-east-1:123456789012:loggroup/a", "aws:cloudwatch/logGroup:LogGroup", False),
        ("arn:aws:s3:::bucket-1", "aws:s3/bucket:Bucket", True),
        ("arn:aws:s3:us-east-1:123456789012:bucket-1", "aws:s3/bucket:Bucket", False),
        (
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef",
            "aws:lb/targetGroup:TargetGroup",
            True,
        ),
        (
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-1a2b3c",
            "aws:lb/targetGroup:TargetGroup",
            False,
        ),
    ],
)
def test_the_format_check_rejects_what_aws_would_not_assign(arn, spec_type, valid):
    assert (pattern(ARN_OF[spec_type].format).fullmatch(arn) is not None) is valid
