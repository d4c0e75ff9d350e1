"""Every policy-pack rule, called through its real `validate` with pulumi-policy's own argument objects.

Resource props go through the same path as in the analyzer (`Analyze` / `AnalyzeStack` in
pulumi_policy/policy.py): google.protobuf Struct -> MessageToDict -> deserialize_properties ->
unknown_checking_proxy, so numbers arrive as floats and unknowns as pulumi-policy sentinels.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

POLICY_DIR = Path(__file__).resolve().parents[1] / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))

from deepseek_policies import ALL_POLICIES, POLICIES_BY_NAME, aws_controls, taggable  # noqa: E402
from deepseek_policies.samples import (  # noqa: E402
    CERT_ARN,
    KEY_ARN,
    TG_SUFFIX,
    asg_tags,
    container_definitions,
    tags,
    tls_only_policy,
)

U = UNKNOWN_STRING_VALUE


# -- harness -------------------------------------------------------------------------------------------


def engine_props(props: dict[str, Any]) -> Any:
    struct = struct_pb2.Struct()
    struct.update(props)
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::deepseek-cloud::{type_}::{name}"


def run_resource(
    policy_name: str,
    type_: str,
    props: dict[str, Any],
    name: str = "res",
    config: dict[str, Any] | None = None,
    provider_props: dict[str, Any] | None = None,
) -> list[str]:
    policy = POLICIES_BY_NAME[policy_name]
    assert isinstance(policy, ResourceValidationPolicy)
    provider = (
        PolicyProviderResource("pulumi:providers:aws", engine_props(provider_props), "urn:provider", "aws")
        if provider_props is not None
        else None
    )
    args = ResourceValidationArgs(type_, engine_props(props), urn(type_, name), name, options(), provider, config, {})
    messages: list[str] = []
    assert policy.validate(args, lambda message, urn=None: messages.append(message)) is None
    return messages


def res(type_: str, name: str, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "props": props, **extra}


def run_stack(
    policy_name: str, resources: list[dict[str, Any]], config: dict[str, Any] | None = None
) -> list[tuple[str, str | None]]:
    policy = POLICIES_BY_NAME[policy_name]
    assert isinstance(policy, StackValidationPolicy)
    built = {}
    for r in resources:
        u = r.get("urn") or urn(r["type"], r["name"])
        built[u] = (r, PolicyResource(r["type"], engine_props(r["props"]), u, r["name"], options(), None, None, [], {}))
    by_name = {r["name"]: pr for r, pr in built.values()}  # fixtures reference dependencies by logical name
    for r, pr in built.values():
        for k, names in (r.get("property_dependencies") or {}).items():
            pr.property_dependencies[k] = [by_name[n] for n in names]
    args = StackValidationArgs([pr for _r, pr in built.values()], config, {})
    out: list[tuple[str, str | None]] = []
    assert policy.validate(args, lambda message, urn=None: out.append((message, urn))) is None
    return out


# -- fixtures ------------------------------------------------------------------------------------------

LT = "aws:ec2/launchTemplate:LaunchTemplate"
TD = "aws:ecs/taskDefinition:TaskDefinition"
CLUSTER = "aws:ecs/cluster:Cluster"
REPO = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TG = "aws:lb/targetGroup:TargetGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
BUCKET = "aws:s3/bucket:Bucket"
BPOLICY = "aws:s3/bucketPolicy:BucketPolicy"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPIC = "aws:sns/topic:Topic"
SECRET = "aws:secretsmanager/secret:Secret"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_IN = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
IAM_POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ASG = "aws:autoscaling/group:Group"
WAF_ASSOC = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
SERVICE = "aws:ecs/service:Service"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
PROFILE = "aws:iam/instanceProfile:InstanceProfile"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"


def redirect_listener(name: str = "http", env: str = "dev") -> dict[str, Any]:
    return res(
        LISTENER,
        name,
        {
            "port": 80,
            "protocol": "HTTP",
            "defaultActions": [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443"}}],
            "tags": tags(env),
        },
    )


def forward_listener(name: str = "http", env: str = "dev") -> dict[str, Any]:
    return res(
        LISTENER,
        name,
        {"port": 80, "protocol": "HTTP", "defaultActions": [{"type": "forward"}], "tags": tags(env)},
    )


HTTPS_LISTENER = res(
    LISTENER, "https", {"port": 443, "protocol": "HTTPS", "certificateArn": CERT_ARN, "defaultActions": []}
)


def bucket(name: str = "models", **props: Any) -> dict[str, Any]:
    return res(BUCKET, name, {"bucket": f"{name}-bucket", **props})


def companion(type_: str, bucket_name: str, props: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    return res(type_, name or bucket_name, {"bucket": f"{bucket_name}-bucket", **props})


PAB_ON = {f: True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}


def gpu_asg(env: str, max_size: int = 2, base: int = 0, pct: int = 0, types: tuple[str, ...] = ("g6e.xlarge",)):
    return {
        "maxSize": max_size,
        "minSize": 0,
        "mixedInstancesPolicy": {
            "instancesDistribution": {"onDemandBaseCapacity": base, "onDemandPercentageAboveBaseCapacity": pct},
            "launchTemplate": {"overrides": [{"instanceType": t} for t in types]},
        },
        "tags": asg_tags(env),
    }


ADMIN_DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
SCOPED_DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}]}
)
TG_RES = res(TG, "serving-tg", {"port": 8000, "arnSuffix": TG_SUFFIX})


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


PUBLIC_READ = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
ELB_LOG_WRITE = {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::127311923021:root"},
    "Action": "s3:PutObject",
    "Resource": "arn:aws:s3:::models-bucket/alb/*",
}
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def instance_profile_stack(policy_arn: str) -> list[dict[str, Any]]:
    return [
        res(ROLE, "gpu-instance", {"name": "gpu-instance-role"}),
        res(PROFILE, "gpu-profile", {"role": "gpu-instance-role"}),
        res(ATTACH, "gpu-instance-ssm", {"role": "gpu-instance-role", "policyArn": policy_arn}),
    ]


def https_listener(policy: str | None) -> dict[str, Any]:
    return {"port": 443, "protocol": "HTTPS", "certificateArn": CERT_ARN, **({"sslPolicy": policy} if policy else {})}


def web_acl_rule(metrics: bool) -> dict[str, Any]:
    return {"name": "rate", "priority": 0, "visibilityConfig": {"cloudwatchMetricsEnabled": metrics, "metricName": "r"}}


# policy name -> (violating fixture, compliant fixture); a fixture is ("resource", type, props[, config])
# or ("stack", resources[, config]).
CASES: dict[str, tuple[tuple, tuple]] = {
    "ec2-launch-template-imdsv2": (
        ("resource", LT, {"metadataOptions": {"httpTokens": "optional"}}),
        ("resource", LT, {"metadataOptions": {"httpTokens": "required"}}),
    ),
    "ec2-launch-template-ebs-encrypted-cmk": (
        ("resource", LT, {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]}),
        (
            "resource",
            LT,
            {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN}}]},
        ),
    ),
    "ec2-launch-template-no-public-ip": (
        ("resource", LT, {"networkInterfaces": [{"associatePublicIpAddress": "true"}]}),
        ("resource", LT, {"networkInterfaces": [{"associatePublicIpAddress": "false"}]}),
    ),
    "ecs-no-privileged-containers": (
        ("resource", TD, {"containerDefinitions": container_definitions(privileged=True)}),
        ("resource", TD, {"containerDefinitions": container_definitions()}),
    ),
    "ecs-read-only-root-filesystem": (
        ("resource", TD, {"containerDefinitions": container_definitions(readonlyRootFilesystem=False)}),
        ("resource", TD, {"containerDefinitions": container_definitions()}),
    ),
    "ecs-no-secrets-in-environment": (
        (
            "resource",
            TD,
            {"containerDefinitions": container_definitions(environment=[{"name": "VLLM_API_KEY", "value": "x1"}])},
        ),
        ("resource", TD, {"containerDefinitions": container_definitions()}),
    ),
    "ecs-container-logging": (
        ("resource", TD, {"containerDefinitions": container_definitions(logConfiguration=None)}),
        ("resource", TD, {"containerDefinitions": container_definitions()}),
    ),
    "ecs-cluster-container-insights": (
        ("resource", CLUSTER, {"settings": []}),
        ("resource", CLUSTER, {"settings": [{"name": "containerInsights", "value": "enabled"}]}),
    ),
    "ecr-scan-on-push": (
        ("resource", REPO, {"imageScanningConfiguration": {"scanOnPush": False}}),
        ("resource", REPO, {"imageScanningConfiguration": {"scanOnPush": True}}),
    ),
    "ecr-immutable-tags": (
        ("resource", REPO, {}),
        ("resource", REPO, {"imageTagMutability": "IMMUTABLE"}),
    ),
    "ecr-repository-cmk": (  # no encryptionConfigurations: AES256 with S3-managed keys
        ("resource", REPO, {"imageTagMutability": "IMMUTABLE"}),
        ("resource", REPO, {"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}]}),
    ),
    "ecr-lifecycle-policy": (
        ("stack", [res(REPO, "repo", {"name": "vllm"})]),
        (
            "stack",
            [
                res(REPO, "repo", {"name": "vllm"}),
                res(LIFECYCLE, "lc", {"repository": "vllm", "policy": json.dumps({"rules": [{"rulePriority": 1}]})}),
            ],
        ),
    ),
    "elb-http-redirect-to-https": (
        ("stack", [forward_listener(env="prod")]),
        ("stack", [redirect_listener(env="prod"), HTTPS_LISTENER]),
    ),
    "elb-http-listener-without-certificate": (
        ("stack", [forward_listener(env="dev")]),
        ("stack", [redirect_listener(env="dev"), HTTPS_LISTENER]),
    ),
    "elb-drop-invalid-headers": (
        ("resource", LB, {"loadBalancerType": "application"}),
        ("resource", LB, {"loadBalancerType": "application", "dropInvalidHeaderFields": True}),
    ),
    "elb-access-logs": (
        ("resource", LB, {"accessLogs": {"enabled": False, "bucket": "logs"}}),
        ("resource", LB, {"accessLogs": {"enabled": True, "bucket": "logs"}}),
    ),
    "elb-deletion-protection-prod": (
        ("resource", LB, {"enableDeletionProtection": False, "tags": tags("prod")}),
        ("resource", LB, {"enableDeletionProtection": True, "tags": tags("prod")}),
    ),
    "elb-waf-web-acl-prod": (
        ("stack", [res(LB, "alb", {"loadBalancerType": "application", "tags": tags("prod"), "arn": "arn:lb"})]),
        (
            "stack",
            [
                res(LB, "alb", {"loadBalancerType": "application", "tags": tags("prod"), "arn": "arn:lb"}),
                res(WAF_ASSOC, "waf", {"resourceArn": "arn:lb", "webAclArn": "arn:acl"}),
            ],
        ),
    ),
    "s3-bucket-tls-only": (
        ("stack", [bucket()]),
        ("stack", [bucket(), companion(BPOLICY, "models", {"policy": tls_only_policy("models-bucket")})]),
    ),
    "s3-bucket-public-access-block": (
        ("stack", [bucket(), companion(PAB, "models", {**PAB_ON, "restrictPublicBuckets": False})]),
        ("stack", [bucket(), companion(PAB, "models", PAB_ON)]),
    ),
    "s3-bucket-sse-kms": (
        (
            "stack",
            [
                bucket(),
                companion(
                    SSE, "models", {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
                ),
            ],
        ),
        (
            "stack",
            [
                bucket(),
                companion(
                    SSE,
                    "models",
                    {
                        "rules": [
                            {
                                "applyServerSideEncryptionByDefault": {
                                    "sseAlgorithm": "aws:kms",
                                    "kmsMasterKeyId": KEY_ARN,
                                }
                            }
                        ]
                    },
                ),
            ],
        ),
    ),
    "s3-bucket-versioning": (
        ("stack", [bucket()]),
        ("stack", [bucket(), companion(VERSIONING, "models", {"versioningConfiguration": {"status": "Enabled"}})]),
    ),
    "kms-key-rotation": (
        ("resource", KEY, {"enableKeyRotation": False}),
        ("resource", KEY, {"enableKeyRotation": True}),
    ),
    "cloudwatch-log-group-kms": (
        ("resource", LOG_GROUP, {"retentionInDays": 30}),
        ("resource", LOG_GROUP, {"kmsKeyId": KEY_ARN}),
    ),
    "sns-topic-kms": (
        ("resource", TOPIC, {}),
        ("resource", TOPIC, {"kmsMasterKeyId": "alias/aws/sns"}),
    ),
    "secretsmanager-secret-cmk": (
        ("resource", SECRET, {}),
        ("resource", SECRET, {"kmsKeyId": KEY_ARN}),
    ),
    "ec2-sg-no-public-ingress": (
        ("resource", SG, {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}]}),
        (
            "resource",
            SG,
            {
                "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}],
                "tags": {"deepseek:role": "load-balancer"},
            },
        ),
    ),
    "ec2-sg-rule-description": (
        ("resource", SG_IN, {"cidrIpv4": "10.0.0.0/16", "ipProtocol": "tcp", "fromPort": 8000, "toPort": 8000}),
        (
            "resource",
            SG_IN,
            {"cidrIpv4": "10.0.0.0/16", "ipProtocol": "tcp", "fromPort": 8000, "toPort": 8000, "description": "vpc"},
        ),
    ),
    "iam-no-full-admin-statements": (
        ("resource", ROLE_POLICY, {"role": "r", "policy": ADMIN_DOC}),
        ("resource", ROLE_POLICY, {"role": "r", "policy": SCOPED_DOC}),
    ),
    "iam-no-administrator-access-attachment": (
        ("resource", ATTACH, {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ("resource", ATTACH, {"role": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    ),
    "iam-no-cloudshell-full-access-attachment": (
        ("resource", ATTACH, {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AWSCloudShellFullAccess"}),
        ("resource", ATTACH, {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}),
    ),
    "gpu-pool-max-size": (
        ("resource", ASG, gpu_asg("dev", max_size=5)),
        ("resource", ASG, gpu_asg("dev", max_size=4)),
    ),
    "gpu-pool-prod-on-demand-base": (
        ("resource", ASG, gpu_asg("prod", base=0)),
        ("resource", ASG, gpu_asg("prod", base=1)),
    ),
    "gpu-pool-nonprod-spot": (
        ("resource", ASG, gpu_asg("staging", pct=100)),
        ("resource", ASG, gpu_asg("staging", pct=0)),
    ),
    "gpu-instance-type-allow-list": (
        ("resource", ASG, gpu_asg("dev", types=("g6e.xlarge", "g4dn.xlarge"))),
        ("resource", ASG, gpu_asg("dev", types=("g6e.xlarge", "p5.48xlarge", "p6-b200.48xlarge"))),
    ),
    "required-tags": (
        ("resource", CLUSTER, {"tags": {"project": "deepseek-cloud", "environment": "dev"}}),
        ("resource", CLUSTER, {"tags": tags("dev")}),
    ),
    "elb-listener-tls-policy": (
        ("resource", LISTENER, https_listener("ELBSecurityPolicy-TLS13-1-2-2021-06")),
        ("resource", LISTENER, https_listener("ELBSecurityPolicy-TLS13-1-2-Res-2021-06")),
    ),
    "elb-listener-https-only-prod": (
        ("resource", LISTENER, {"port": 80, "protocol": "HTTP", "tags": tags("prod")}),
        ("resource", LISTENER, {**https_listener("ELBSecurityPolicy-TLS13-1-3-2021-06"), "tags": tags("prod")}),
    ),
    "elb-desync-mitigation": (
        ("resource", LB, {"loadBalancerType": "application", "desyncMitigationMode": "monitor"}),
        ("resource", LB, {"loadBalancerType": "application", "desyncMitigationMode": "strictest"}),
    ),
    "elb-multi-az": (
        ("resource", LB, {"subnets": ["subnet-a"]}),
        ("resource", LB, {"subnets": ["subnet-a", "subnet-b"]}),
    ),
    "autoscaling-multi-az-prod": (
        ("resource", ASG, {**gpu_asg("prod", types=("g6e.12xlarge",)), "vpcZoneIdentifiers": ["subnet-a", "subnet-b"]}),
        (
            "resource",
            ASG,
            {**gpu_asg("prod", types=("g6e.12xlarge", "g6e.24xlarge")), "vpcZoneIdentifiers": ["subnet-a", "subnet-b"]},
        ),
    ),
    "autoscaling-launch-template": (
        ("resource", ASG, {"launchConfiguration": "lc-1", "maxSize": 1, "minSize": 0}),
        ("resource", ASG, {"launchTemplate": {"id": "lt-1", "version": "$Latest"}, "maxSize": 1, "minSize": 0}),
    ),
    "ecs-non-root-user": (
        ("resource", TD, {"containerDefinitions": container_definitions(user="0:0")}),
        ("resource", TD, {"containerDefinitions": container_definitions()}),
    ),
    "ecs-no-host-network-or-pid": (
        ("resource", TD, {"networkMode": "awsvpc", "pidMode": "host", "containerDefinitions": container_definitions()}),
        ("resource", TD, {"networkMode": "awsvpc", "containerDefinitions": container_definitions()}),
    ),
    "ecs-service-no-public-ip": (
        ("resource", SERVICE, {"networkConfiguration": {"subnets": ["s"], "assignPublicIp": True}}),
        ("resource", SERVICE, {"networkConfiguration": {"subnets": ["s"], "assignPublicIp": False}}),
    ),
    "cloudwatch-log-group-retention-prod": (
        ("resource", LOG_GROUP, {"retentionInDays": 90, "tags": tags("prod")}),
        ("resource", LOG_GROUP, {"retentionInDays": 365, "tags": tags("prod")}),
    ),
    "cloudwatch-alarm-actions": (
        ("resource", ALARM, {"alarmActions": ["arn:sns"], "actionsEnabled": False}),
        ("resource", ALARM, {"alarmActions": ["arn:sns"], "actionsEnabled": True, "tags": tags("prod")}),
    ),
    "ec2-subnet-no-auto-public-ip": (
        ("resource", SUBNET, {"mapPublicIpOnLaunch": True}),
        ("resource", SUBNET, {"mapPublicIpOnLaunch": False}),
    ),
    "ec2-default-security-group-closed": (
        ("stack", [res(VPC, "net-vpc", {"id": "vpc-1"})]),
        (
            "stack",
            [res(VPC, "net-vpc", {"id": "vpc-1"}), res(DEFAULT_SG, "net-default", {"vpcId": "vpc-1", "ingress": []})],
        ),
    ),
    "ec2-vpc-flow-logs": (
        (
            "stack",
            [res(VPC, "net-vpc", {"id": "vpc-1"}), res(FLOW_LOG, "fl", {"vpcId": "vpc-1", "trafficType": "ACCEPT"})],
        ),
        (
            "stack",
            [res(VPC, "net-vpc", {"id": "vpc-1"}), res(FLOW_LOG, "fl", {"vpcId": "vpc-1", "trafficType": "ALL"})],
        ),
    ),
    "ssm-managed-instance-profile": (
        ("stack", instance_profile_stack("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")),
        ("stack", instance_profile_stack(SSM_CORE)),
    ),
    "iam-no-service-wildcard-actions": (
        ("resource", ROLE_POLICY, {"role": "r", "policy": doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})}),
        ("resource", ROLE_POLICY, {"role": "r", "policy": SCOPED_DOC}),
    ),
    "iam-no-decrypt-on-all-keys": (
        (
            "resource",
            ROLE_POLICY,
            {"role": "r", "policy": doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})},
        ),
        (
            "resource",
            ROLE_POLICY,
            {"role": "r", "policy": doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN})},
        ),
    ),
    "kms-key-deletion-window-prod": (
        ("resource", KEY, {"deletionWindowInDays": 7, "tags": tags("prod")}),
        ("resource", KEY, {"deletionWindowInDays": 30, "tags": tags("prod")}),
    ),
    "kms-key-policy-not-public": (
        (
            "resource",
            KEY,
            {"policy": doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"})},
        ),
        (
            "resource",
            KEY,
            {
                "policy": doc(
                    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*"}
                )
            },
        ),
    ),
    "sns-topic-policy-not-public": (
        ("resource", TOPIC_POLICY, {"policy": doc({"Effect": "Allow", "Principal": "*", "Action": "sns:Publish"})}),
        (
            "resource",
            TOPIC_POLICY,
            {
                "policy": doc(
                    {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish"}
                )
            },
        ),
    ),
    "s3-bucket-policy-not-public": (
        ("stack", [bucket(), companion(BPOLICY, "models", {"policy": doc(PUBLIC_READ)})]),
        ("stack", [bucket(), companion(BPOLICY, "models", {"policy": doc(ELB_LOG_WRITE)})]),
    ),
    "s3-bucket-owner-enforced": (
        ("stack", [bucket(), companion(OWNERSHIP, "models", {"rule": {"objectOwnership": "BucketOwnerPreferred"}})]),
        ("stack", [bucket(), companion(OWNERSHIP, "models", {"rule": {"objectOwnership": "BucketOwnerEnforced"}})]),
    ),
    "s3-bucket-lifecycle": (
        ("stack", [bucket()]),
        ("stack", [bucket(), companion(BUCKET_LIFECYCLE, "models", {"rules": [{"id": "x", "status": "Enabled"}]})]),
    ),
    "waf-web-acl-logging": (
        ("stack", [res(WEB_ACL, "waf", {"arn": "arn:acl", "rules": [web_acl_rule(True)]})]),
        (
            "stack",
            [
                res(WEB_ACL, "waf", {"arn": "arn:acl", "rules": [web_acl_rule(True)]}),
                res(
                    WAF_LOGGING,
                    "waf-logging",
                    {
                        "resourceArn": "arn:acl",
                        "logDestinationConfigs": ["arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-prod"],
                        "redactedFields": [{"singleHeader": {"name": "authorization"}}],
                    },
                ),
            ],
        ),
    ),
    "secretsmanager-rotation": (
        ("stack", [res(SECRET, "api-key", {"arn": "arn:secret:api-key", "tags": tags("dev")})]),
        (
            "stack",
            [
                res(SECRET, "api-key", {"arn": "arn:secret:api-key", "tags": tags("prod")}),
                res(
                    ROTATION, "rot", {"secretId": "arn:secret:api-key", "rotationRules": {"automaticallyAfterDays": 30}}
                ),
                res(
                    SECRET,
                    "hf-token",
                    {"arn": "arn:secret:hf", "tags": tags("prod", **{"deepseek:rotation": "third-party"})},
                ),
            ],
        ),
    ),
    "lambda-permission-not-public": (
        ("resource", "aws:lambda/permission:Permission", {"principal": "secretsmanager.amazonaws.com"}),
        (
            "resource",
            "aws:lambda/permission:Permission",
            {"principal": "secretsmanager.amazonaws.com", "sourceAccount": "123456789012"},
        ),
    ),
    "lambda-supported-runtime": (
        ("resource", "aws:lambda/function:Function", {"runtime": "python3.9"}),
        ("resource", "aws:lambda/function:Function", {"runtime": "python3.13"}),
    ),
    "waf-web-acl-rules-and-metrics": (
        ("resource", WEB_ACL, {"rules": [web_acl_rule(False)]}),
        ("resource", WEB_ACL, {"rules": [web_acl_rule(True)]}),
    ),
    "serving-endpoint-alarm": (
        ("stack", [TG_RES, res(ALARM, "lb-5xx", {"dimensions": {"LoadBalancer": "app/x/1"}})]),
        ("stack", [TG_RES, res(ALARM, "unhealthy", {"dimensions": {"TargetGroup": TG_SUFFIX}})]),
    ),
}


# EKS and Kubernetes rules (policy/deepseek_policies/eks_controls.py; more cases in tests/test_policy_eks.py).
EKS = "aws:eks/cluster:Cluster"
DEPLOY = "kubernetes:apps/v1:Deployment"
HELM = "kubernetes:helm.sh/v3:Release"


def _eks(**changes: Any) -> dict[str, Any]:
    cluster = {
        "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
        "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}},
        "enabledClusterLogTypes": ["api", "audit", "authenticator"],
    }
    return {**cluster, **changes}


SQS = "aws:sqs/queue:Queue"
SQS_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def _node_class(**changes: Any) -> dict[str, Any]:
    """A compliant EC2NodeClass (the shape components/eks/gpu_capacity.py declares); `changes` replace spec keys."""
    spec = {
        "role": "ds-eks-dev-karpenter-node",
        "associatePublicIPAddress": False,
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": True, "kmsKeyID": KEY_ARN}}],
    }
    spec.update(changes)
    return {"apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "spec": spec}


def _pod(namespace: str = "deepseek-serving", **container: Any) -> dict[str, Any]:
    c = {
        "name": "vllm",
        "image": "vllm/vllm-openai:v0.31.0",
        "resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"cpu": "4", "memory": "24Gi"}},
        **container,
    }
    return {"metadata": {"namespace": namespace}, "spec": {"template": {"spec": {"containers": [c]}}}}


CASES.update(
    {
        "eks-endpoint-not-public": (
            ("resource", EKS, _eks(vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]})),
            ("resource", EKS, _eks()),
        ),
        "eks-secrets-encrypted": (("resource", EKS, _eks(encryptionConfig={})), ("resource", EKS, _eks())),
        "eks-audit-logging": (
            ("resource", EKS, _eks(enabledClusterLogTypes=["api"])),
            ("resource", EKS, _eks()),
        ),
        "k8s-no-privileged-pods": (
            ("resource", DEPLOY, _pod(securityContext={"privileged": True})),
            ("resource", DEPLOY, _pod("kube-system", securityContext={"privileged": True})),
        ),
        "k8s-gpu-pod-resources": (
            ("resource", DEPLOY, _pod(resources={"limits": {"nvidia.com/gpu": 1}})),
            ("resource", DEPLOY, _pod()),
        ),
        "k8s-images-pinned": (
            ("resource", DEPLOY, _pod(image="vllm/vllm-openai:latest")),
            ("resource", DEPLOY, _pod()),
        ),
        "helm-chart-version-pinned": (
            ("resource", HELM, {"chart": "nvidia-device-plugin", "version": "~0.20"}),
            ("resource", HELM, {"chart": "nvidia-device-plugin", "version": "0.20.0"}),
        ),
        "eks-supported-version": (("resource", EKS, _eks(version="1.29")), ("resource", EKS, _eks(version="1.35"))),
        "sqs-queue-encrypted": (
            ("resource", SQS, {"name": "q", "sqsManagedSseEnabled": False}),
            ("resource", SQS, {"name": "q", "sqsManagedSseEnabled": True}),
        ),
        "sqs-queue-policy-not-public": (
            ("resource", SQS_POLICY, {"policy": doc({"Effect": "Allow", "Principal": "*", "Action": "sqs:*"})}),
            (
                "resource",
                SQS_POLICY,
                {"policy": doc({"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com"]}})},
            ),
        ),
        "karpenter-nodeclass-imdsv2": (
            ("resource", NODE_CLASS, _node_class(metadataOptions={"httpTokens": "optional"})),
            ("resource", NODE_CLASS, _node_class()),
        ),
        "karpenter-nodeclass-ebs-encrypted": (
            ("resource", NODE_CLASS, _node_class(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {}}])),
            ("resource", NODE_CLASS, _node_class()),
        ),
        "karpenter-nodeclass-no-public-ip": (
            ("resource", NODE_CLASS, _node_class(associatePublicIPAddress=None)),
            ("resource", NODE_CLASS, _node_class()),
        ),
    }
)


def run_case(policy_name: str, fixture: tuple) -> list:
    kind, *rest = fixture
    if kind == "resource":
        type_, props, *config = rest
        return run_resource(policy_name, type_, props, config=config[0] if config else None)
    resources, *config = rest
    return run_stack(policy_name, resources, config[0] if config else None)


def test_every_policy_has_cases():
    assert set(CASES) == set(POLICIES_BY_NAME)


@pytest.mark.parametrize("policy_name", sorted(CASES))
def test_violating_fixture_is_caught(policy_name):
    assert run_case(policy_name, CASES[policy_name][0]), f"{policy_name} missed its violating fixture"


@pytest.mark.parametrize("policy_name", sorted(CASES))
def test_compliant_fixture_passes(policy_name):
    assert run_case(policy_name, CASES[policy_name][1]) == []


# -- metadata ------------------------------------------------------------------------------------------

_CONTROL_RE = re.compile(r"^([A-Z][A-Za-z0-9]*[.-][A-Z0-9.-]+|Tagging)\b")


@pytest.mark.parametrize("policy", ALL_POLICIES, ids=lambda p: p.name)
def test_policy_metadata(policy):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", policy.name)
    assert _CONTROL_RE.match(policy.description), policy.description
    assert "Remediation:" in policy.description and policy.remediation_steps
    assert policy.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
    assert policy.severity is not None and policy.framework is not None


def test_advisory_rules_are_exactly_the_documented_ones():
    advisory = {p.name for p in ALL_POLICIES if p.enforcement_level == EnforcementLevel.ADVISORY}
    assert advisory == {
        "elb-http-listener-without-certificate",
        "secretsmanager-secret-cmk",
        "gpu-pool-nonprod-spot",
    }


def test_configurable_rules_publish_a_schema_with_defaults():
    schema = POLICIES_BY_NAME["gpu-pool-max-size"].config_schema
    assert schema.properties["maxSizeByEnvironment"]["default"] == {"dev": 4, "staging": 8, "prod": 32}
    assert "environment" in schema.properties
    allow = POLICIES_BY_NAME["gpu-instance-type-allow-list"].config_schema.properties["allowedFamilies"]
    assert allow["default"] == ["g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200"]
    for name in ("elb-http-redirect-to-https", "elb-deletion-protection-prod", "gpu-pool-prod-on-demand-base"):
        assert "environment" in POLICIES_BY_NAME[name].config_schema.properties


def test_ecs5_is_mandatory_and_names_the_paths_vllm_writes():
    policy = POLICIES_BY_NAME["ecs-read-only-root-filesystem"]
    assert policy.enforcement_level == EnforcementLevel.MANDATORY
    for path in ("HF_HOME", "/tmp", "VLLM_CACHE_ROOT", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR"):
        assert path in policy.description


# -- rule details ----------------------------------------------------------------------------------------


def test_imdsv2_unset_is_a_violation_and_disabled_endpoint_is_not():
    assert run_resource("ec2-launch-template-imdsv2", LT, {})
    assert not run_resource("ec2-launch-template-imdsv2", LT, {"metadataOptions": {"httpEndpoint": "disabled"}})


def test_launch_template_without_ebs_mappings_fails_encryption():
    assert run_resource("ec2-launch-template-ebs-encrypted-cmk", LT, {})
    msgs = run_resource(
        "ec2-launch-template-ebs-encrypted-cmk", LT, {"blockDeviceMappings": [{"ebs": {"kmsKeyId": KEY_ARN}}]}
    )
    assert any("encrypted" in m for m in msgs)


@pytest.mark.parametrize(
    ("name", "value", "bad"),
    [
        ("HF_TOKEN", "hf_abcdefghijklmnop", True),
        ("HUGGING_FACE_HUB_TOKEN", "anything", True),
        ("dbPassword", "x", True),
        ("OPENAI_BASE", "sk-abcdefghijklmnop", True),
        ("SOME_VAR", "AKIAABCDEFGHIJKLMNOP", True),
        ("TOKENIZERS_PARALLELISM", "false", False),
        ("HF_HUB_ENABLE_HF_TRANSFER", "1", False),
        ("HF_TOKEN", "", False),
    ],
)
def test_env_secret_detection(name, value, bad):
    defs = container_definitions(environment=[{"name": name, "value": value}])
    assert bool(run_resource("ecs-no-secrets-in-environment", TD, {"containerDefinitions": defs})) is bad


def test_env_secret_allow_list_config():
    defs = container_definitions(environment=[{"name": "KEY_CACHE_DTYPE", "value": "fp8"}])
    assert run_resource("ecs-no-secrets-in-environment", TD, {"containerDefinitions": defs})
    assert not run_resource(
        "ecs-no-secrets-in-environment",
        TD,
        {"containerDefinitions": defs},
        config={"allowedNames": ["KEY_CACHE_DTYPE"]},
    )


def test_invalid_container_definitions_json_is_reported():
    assert run_resource("ecs-no-privileged-containers", TD, {"containerDefinitions": "[{"})


def test_nlb_is_exempt_from_alb_header_and_log_rules():
    assert not run_resource("elb-drop-invalid-headers", LB, {"loadBalancerType": "network"})
    assert not run_resource("elb-access-logs", LB, {"loadBalancerType": "network"})


def test_deletion_protection_only_in_prod_and_config_pins_environment():
    assert not run_resource("elb-deletion-protection-prod", LB, {"tags": tags("dev")})
    assert run_resource("elb-deletion-protection-prod", LB, {"tags": tags("dev")}, config={"environment": "prod"})


def test_http_listener_in_dev_with_a_certificate_must_redirect():
    stack = [forward_listener(env="dev"), HTTPS_LISTENER]
    assert run_stack("elb-http-redirect-to-https", stack)
    assert not run_stack("elb-http-listener-without-certificate", stack)


def test_http_listener_in_dev_without_certificate_is_only_advisory():
    stack = [forward_listener(env="dev")]
    assert not run_stack("elb-http-redirect-to-https", stack)
    assert run_stack("elb-http-listener-without-certificate", stack)
    assert run_stack("elb-http-redirect-to-https", stack, {"environment": "prod"})


def test_stack_environment_takes_the_strictest_tag():
    untagged = res(LISTENER, "http", {"protocol": "HTTP", "defaultActions": [{"type": "forward"}]})
    prod_thing = res(KEY, "k", {"tags": tags("prod")})
    assert run_stack("elb-http-redirect-to-https", [untagged, prod_thing])


@pytest.mark.parametrize(
    ("type_", "props", "name", "bad"),
    [
        (SG_IN, {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}, "web-in", True),
        (
            SG_IN,
            {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
            "svc-alb-in-443",
            False,
        ),
        (
            SG_IN,
            {
                "cidrIpv4": "0.0.0.0/0",
                "ipProtocol": "tcp",
                "fromPort": 80,
                "toPort": 80,
                "tags": {"deepseek:role": "load-balancer"},
            },
            "in-80",
            False,
        ),
        (SG_IN, {"cidrIpv6": "::/0", "ipProtocol": "-1", "tags": {"deepseek:role": "load-balancer"}}, "x", True),
        (SG_IN, {"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 80, "toPort": 443}, "alb-range", True),
        (SG_IN, {"cidrIpv4": "10.0.0.0/8", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}, "ssh", False),
        (
            SG_RULE,
            {"type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]},
            "r",
            True,
        ),
        (
            SG_RULE,
            {"type": "egress", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]},
            "r",
            False,
        ),
        (SG_IN, {"cidrIpv4": U, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}, "unknown", False),
    ],
)
def test_public_ingress_convention(type_, props, name, bad):
    assert bool(run_resource("ec2-sg-no-public-ingress", type_, props, name=name)) is bad


def test_sg_inline_rule_descriptions_cover_both_directions():
    msgs = run_resource("ec2-sg-rule-description", SG, {"ingress": [{"description": "a"}], "egress": [{}]})
    assert msgs == ["res: egress[0] has no description"]


@pytest.mark.parametrize(
    "doc",
    [
        {"Statement": {"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["*"]}},
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    ],
)
def test_full_admin_statement_shapes(doc):
    assert run_resource("iam-no-full-admin-statements", IAM_POLICY, {"policy": json.dumps(doc)})


def test_inline_role_policies_and_managed_policy_arns_are_checked():
    role = {"inlinePolicies": [{"name": "admin", "policy": ADMIN_DOC}]}
    assert run_resource("iam-no-full-admin-statements", ROLE, role)
    assert run_resource(
        "iam-no-administrator-access-attachment",
        ROLE,
        {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
    )
    deny_all = json.dumps({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    assert not run_resource("iam-no-full-admin-statements", IAM_POLICY, {"policy": deny_all})


def test_iam27_cloudshell_full_access_is_caught_on_roles_and_in_every_partition():
    # IAM.27's policyArns parameter names the policy in the aws, aws-cn and aws-us-gov partitions (iam-controls#iam-27)
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        arn = f"arn:{partition}:iam::aws:policy/AWSCloudShellFullAccess"
        assert run_resource("iam-no-cloudshell-full-access-attachment", ROLE, {"managedPolicyArns": [arn]})
    # a customer managed policy that happens to carry the name is not the AWS managed one
    own = "arn:aws:iam::123456789012:policy/AWSCloudShellFullAccess"
    assert not run_resource("iam-no-cloudshell-full-access-attachment", ROLE, {"managedPolicyArns": [own]})
    assert POLICIES_BY_NAME["iam-no-cloudshell-full-access-attachment"].description.startswith("IAM.27: ")


def test_gpu_caps_follow_environment_and_config():
    assert not run_resource("gpu-pool-max-size", ASG, gpu_asg("prod", max_size=32))
    assert run_resource("gpu-pool-max-size", ASG, gpu_asg("staging", max_size=9))
    assert not run_resource(
        "gpu-pool-max-size", ASG, gpu_asg("dev", max_size=6), config={"maxSizeByEnvironment": {"dev": 6}}
    )
    cpu_pool = {**gpu_asg("dev", max_size=50, types=("m7i.large",))}
    assert not run_resource("gpu-pool-max-size", ASG, cpu_pool)  # not a GPU pool
    cpu_pool["tags"] = asg_tags("dev", **{"deepseek:role": "gpu-pool"})
    assert run_resource("gpu-pool-max-size", ASG, cpu_pool)


def test_prod_pool_without_mixed_policy_is_on_demand():
    props = {"maxSize": 4, "tags": asg_tags("prod", **{"deepseek:role": "gpu-pool"})}
    assert not run_resource("gpu-pool-prod-on-demand-base", ASG, props)
    assert run_resource(
        "gpu-pool-nonprod-spot", ASG, {**props, "tags": asg_tags("dev", **{"deepseek:role": "gpu-pool"})}
    )


def test_allow_list_on_launch_templates_and_config():
    assert run_resource("gpu-instance-type-allow-list", LT, {"instanceType": "p3.2xlarge"})
    assert not run_resource("gpu-instance-type-allow-list", LT, {"instanceType": "m7i.large"})
    assert not run_resource(
        "gpu-instance-type-allow-list", LT, {"instanceType": "g4dn.xlarge"}, config={"allowedFamilies": ["g4dn"]}
    )
    gpu_pool_with_cpu = gpu_asg("dev", types=("m7i.large",))
    gpu_pool_with_cpu["tags"] = asg_tags("dev", **{"deepseek:role": "gpu-pool"})
    assert run_resource("gpu-instance-type-allow-list", ASG, gpu_pool_with_cpu)


def test_required_tags_variants():
    # the SDK says aws:ecs/cluster accepts tags: omitting them is a violation
    assert run_resource("required-tags", CLUSTER, {"name": "c"})
    # not taggable per the SDK and no tags prop
    assert not run_resource("required-tags", ROLE_POLICY, {"policy": SCOPED_DOC})
    # provider defaultTags count, except for autoscaling groups
    assert not run_resource("required-tags", CLUSTER, {}, provider_props={"defaultTags": {"tags": tags("dev")}})
    assert run_resource("required-tags", ASG, {"tags": []}, provider_props={"defaultTags": {"tags": tags("dev")}})
    assert not run_resource("required-tags", ASG, {"tags": asg_tags("dev")})
    assert run_resource("required-tags", CLUSTER, {"tags": tags("qa")})  # environment value not allowed
    # unknown tag map: undecidable in preview
    assert not run_resource("required-tags", CLUSTER, {"tags": UNKNOWN_OBJECT_VALUE})
    # non-AWS (component) resources are out of scope
    assert not run_resource("required-tags", "deepseek:serving:ModelService", {"tags": {}})


def test_taggable_types_come_from_sdk_introspection():
    assert taggable.known_types() > 1000
    assert taggable.sdk_accepts_tags("aws:ec2/launchTemplate:LaunchTemplate") is True
    assert taggable.sdk_accepts_tags("aws:autoscaling/group:Group") is True
    assert taggable.sdk_accepts_tags("aws:iam/rolePolicy:RolePolicy") is False
    assert taggable.sdk_accepts_tags("aws:s3/bucketPolicy:BucketPolicy") is False
    assert taggable.sdk_accepts_tags("aws:nope/nope:Nope") is None


def test_alb_access_log_bucket_may_use_sse_s3():
    sse_s3 = {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}
    by_name = [bucket("serving-alb-logs"), companion(SSE, "serving-alb-logs", sse_s3)]
    assert not run_stack("s3-bucket-sse-kms", by_name)
    by_reference = [
        bucket("weblogs"),
        companion(SSE, "weblogs", sse_s3),
        res(LB, "alb", {"accessLogs": {"enabled": True, "bucket": "weblogs-bucket"}}),
    ]
    assert not run_stack("s3-bucket-sse-kms", by_reference)


# -- unknown values (preview) ------------------------------------------------------------------------------


def test_unknown_values_never_fail_or_abort_resource_rules():
    cases = [
        ("ec2-launch-template-imdsv2", LT, {"metadataOptions": {"httpTokens": U}}),
        ("ec2-launch-template-ebs-encrypted-cmk", LT, {"blockDeviceMappings": UNKNOWN_ARRAY_VALUE}),
        (
            "ec2-launch-template-ebs-encrypted-cmk",
            LT,
            {"blockDeviceMappings": [{"ebs": {"encrypted": "true", "kmsKeyId": U}}]},
        ),
        ("ecs-no-privileged-containers", TD, {"containerDefinitions": U}),
        ("ecs-container-logging", TD, {"containerDefinitions": U}),
        ("cloudwatch-log-group-kms", LOG_GROUP, {"kmsKeyId": U}),
        ("iam-no-full-admin-statements", ROLE_POLICY, {"policy": U}),
        ("gpu-pool-max-size", ASG, {**gpu_asg("dev"), "maxSize": U}),
        ("gpu-instance-type-allow-list", ASG, {**gpu_asg("dev"), "mixedInstancesPolicy": U}),
        ("elb-access-logs", LB, {"accessLogs": {"enabled": U}}),
    ]
    for name, type_, props in cases:
        assert run_resource(name, type_, props) == [], name


def test_alarm_matching_is_robust_to_unknowns():
    tg_unknown = res(TG, "serving-tg", {"arnSuffix": U})
    other_tg = res(TG, "canary-tg", {"arnSuffix": U})
    # single target group, alarm dimension unknown: covered
    assert not run_stack("serving-endpoint-alarm", [tg_unknown, res(ALARM, "a", {"dimensions": {"TargetGroup": U}})])
    # two target groups, unknown dimensions: conventions decide (tag, or the TG name in the alarm name)
    alarms = [
        res(ALARM, "a1", {"dimensions": {"TargetGroup": U}, "tags": {"deepseek:target-group": "serving-tg"}}),
        res(ALARM, "canary-tg-5xx", {"dimensions": {"TargetGroup": U}}),
    ]
    assert not run_stack("serving-endpoint-alarm", [tg_unknown, other_tg, *alarms])
    missing = run_stack("serving-endpoint-alarm", [tg_unknown, other_tg, alarms[0]])
    assert [u for _m, u in missing] == [urn(TG, "canary-tg")]
    # engine property dependencies decide even when every value is unknown
    alarm = res(ALARM, "x", {"dimensions": {"TargetGroup": U}}, property_dependencies={"dimensions": ["canary-tg"]})
    out = run_stack("serving-endpoint-alarm", [tg_unknown, other_tg, alarm])
    assert [u for _m, u in out] == [urn(TG, "serving-tg")]


def test_bucket_companions_with_unknown_bucket_are_matched_by_name_or_dependency():
    policy = res(BPOLICY, "models", {"bucket": U, "policy": tls_only_policy("m")})
    out = run_stack("s3-bucket-tls-only", [bucket("models"), bucket("logs", bucket=U), policy])
    assert [u for _m, u in out] == [urn(BUCKET, "logs")]  # the policy named after `models` is that bucket's
    dep = res(BPOLICY, "p", {"bucket": U, "policy": tls_only_policy("m")}, property_dependencies={"bucket": ["logs"]})
    out = run_stack("s3-bucket-tls-only", [bucket("models"), bucket("logs"), dep])
    assert [u for _m, u in out] == [urn(BUCKET, "models")]
    # an unresolvable policy may cover the only unmatched bucket: no false positive
    anon = res(BPOLICY, "p", {"bucket": U, "policy": tls_only_policy("m")})
    assert not run_stack("s3-bucket-tls-only", [bucket("models", bucket=U), anon])


def test_secret_envelopes_and_pulumi_unknown_objects_are_unwrapped():
    from deepseek_policies.common import SECRET_SIG, SECRET_SIG_KEY, plain
    from pulumi.output import Unknown

    assert plain({"a": {SECRET_SIG_KEY: SECRET_SIG, "value": "x"}, "b": Unknown(), "c": (1, 2)}) == {
        "a": "x",
        "b": U,
        "c": [1, 2],
    }


def test_secret_name_matcher_is_word_wise():
    assert aws_controls.secret_like_name("VLLM_API_KEY")
    assert aws_controls.secret_like_name("apiKey")
    assert not aws_controls.secret_like_name("TOKENIZERS_PARALLELISM")
    assert not aws_controls.secret_like_name("MONKEY_PATCH")


# -- ELB.5: enabled access logs need a bucket ------------------------------------------------------------


@pytest.mark.parametrize(
    "access_logs",
    [{"enabled": True, "bucket": ""}, {"enabled": True, "bucket": "  "}, {"enabled": True}],
    ids=["empty-bucket", "blank-bucket", "no-bucket"],
)
def test_elb_access_logs_enabled_without_a_bucket_is_a_violation(access_logs):
    messages = run_resource("elb-access-logs", LB, {"loadBalancerType": "application", "accessLogs": access_logs})
    assert messages == [f"res: accessLogs enabled without a bucket (bucket={access_logs.get('bucket')!r})"]


def test_elb_access_logs_with_a_bucket_computed_at_deploy_passes():
    assert run_resource("elb-access-logs", LB, {"accessLogs": {"enabled": True, "bucket": U}}) == []


def test_web_acl_rule_applies_to_prod_albs_only_and_matches_the_association_to_its_alb():
    prod_alb = res(LB, "alb", {"loadBalancerType": "application", "tags": tags("prod"), "arn": "arn:lb"})
    other = res(LB, "other", {"loadBalancerType": "application", "tags": tags("prod"), "arn": "arn:other"})
    dev_alb = res(LB, "alb", {"loadBalancerType": "application", "tags": tags("dev"), "arn": "arn:lb"})
    nlb = res(LB, "nlb", {"loadBalancerType": "network", "tags": tags("prod"), "arn": "arn:nlb"})
    assert run_stack("elb-waf-web-acl-prod", [dev_alb]) == []
    assert run_stack("elb-waf-web-acl-prod", [nlb]) == []
    assert run_stack("elb-waf-web-acl-prod", [dev_alb], {"environment": "prod"})  # config pins the environment
    # an association with another load balancer does not cover this one
    found = run_stack("elb-waf-web-acl-prod", [prod_alb, other, res(WAF_ASSOC, "waf", {"resourceArn": "arn:other"})])
    assert [m for m, _ in found] == [
        "alb: prod load balancer has no AWS WAF web ACL associated (aws:wafv2/webAclAssociation)"
    ]


# -- issue 17 rules: environment scoping and edge cases -----------------------------------------------------


def test_elb17_unset_policy_is_the_tls10_api_default_and_http_listeners_are_out_of_scope():
    assert run_resource("elb-listener-tls-policy", LISTENER, https_listener(None))
    assert not run_resource("elb-listener-tls-policy", LISTENER, {"port": 80, "protocol": "HTTP"})


def test_prod_only_rules_leave_dev_and_staging_alone():
    http = {"port": 80, "protocol": "HTTP", "defaultActions": [{"type": "redirect"}]}
    assert not run_resource("elb-listener-https-only-prod", LISTENER, {**http, "tags": tags("staging")})
    assert run_resource("elb-listener-https-only-prod", LISTENER, http, config={"environment": "prod"})
    one_type = {**gpu_asg("staging", types=("g6e.xlarge",)), "vpcZoneIdentifiers": ["subnet-a"]}
    assert not run_resource("autoscaling-multi-az-prod", ASG, one_type)
    assert len(run_resource("autoscaling-multi-az-prod", ASG, one_type, config={"environment": "prod"})) == 2
    assert not run_resource(
        "cloudwatch-log-group-retention-prod", LOG_GROUP, {"retentionInDays": 30, "tags": tags("dev")}
    )
    assert not run_resource("cloudwatch-log-group-retention-prod", LOG_GROUP, {"tags": tags("prod")})  # never expires
    assert not run_resource("cloudwatch-alarm-actions", ALARM, {"alarmActions": [], "tags": tags("dev")})
    assert run_resource("cloudwatch-alarm-actions", ALARM, {"alarmActions": [], "tags": tags("prod")})


def test_s3_6_flags_other_accounts_changing_the_bucket_policy_but_not_elb_log_delivery():
    grant = {**ELB_LOG_WRITE, "Action": ["s3:PutObject", "s3:PutBucketPolicy"]}
    out = run_stack("s3-bucket-policy-not-public", [bucket(), companion(BPOLICY, "models", {"policy": doc(grant)})])
    assert [m for m, _ in out] == [
        "models: Statement[0] lets other AWS principals change the bucket's policy/ACL (S3.6)"
    ]


def test_default_security_group_with_rules_is_reported():
    sg = res(DEFAULT_SG, "net-default", {"vpcId": "vpc-1", "egress": [{"protocol": "-1"}]})
    out = run_stack("ec2-default-security-group-closed", [res(VPC, "net-vpc", {"id": "vpc-1"}), sg])
    assert [m for m, _ in out] == ["net-default: the VPC's default security group keeps egress rules"]


def test_non_root_rule_skips_windows_and_accepts_the_vllm_uid():
    windows = {"runtimePlatform": {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}}
    root = container_definitions(user="root")
    assert not run_resource("ecs-non-root-user", TD, {**windows, "containerDefinitions": root})
    assert run_resource("ecs-non-root-user", TD, {"containerDefinitions": container_definitions(user=None)})


@pytest.mark.parametrize(
    ("config", "bad"),
    [
        ([{"encryptionType": "AES256"}], True),
        ([{"encryptionType": "KMS"}], True),  # the AWS managed key aws/ecr
        ([{"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:123456789012:alias/aws/ecr"}], True),
        ([{"encryptionType": "KMS", "kmsKey": U}], False),  # the stack key, known after deploy
        ([{"encryptionType": "KMS_DSSE", "kmsKey": KEY_ARN}], False),
    ],
)
def test_ecr5_wants_a_customer_managed_key_on_repositories_and_creation_templates(config, bad):
    template = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
    for type_ in (REPO, template):
        assert bool(run_resource("ecr-repository-cmk", type_, {"encryptionConfigurations": config})) is bad


def test_secret_rotation_exemptions_interval_and_prod():
    manual = tags("dev", **{"deepseek:rotation": "manual"})
    assert run_stack("secretsmanager-rotation", [res(SECRET, "k", {"arn": "arn:k", "tags": manual})]) == []
    in_prod = run_stack(
        "secretsmanager-rotation", [res(SECRET, "k", {"arn": "arn:k", "tags": manual})], {"environment": "prod"}
    )
    assert [m for m, _u in in_prod] == [
        "k: secret has no aws:secretsmanager/secretRotation (deepseek:rotation=manual is allowed outside prod only)"
    ]
    slow = res(ROTATION, "rot", {"secretId": "arn:k", "rotationRules": {"automaticallyAfterDays": 120}})
    found = run_stack("secretsmanager-rotation", [res(SECRET, "k", {"arn": "arn:k", "tags": tags("prod")}), slow])
    assert [m for m, _u in found] == ["rot: rotates every 120 days, more than 90 (SecretsManager.4)"]


@pytest.mark.parametrize(
    ("props", "bad"),
    [
        ({"principal": "*"}, True),
        ({"principal": "s3.amazonaws.com", "sourceArn": "arn:aws:s3:::b"}, False),
        ({"principal": "123456789012"}, False),  # an account: not public
        ({"principal": "secretsmanager.amazonaws.com", "sourceAccount": U}, False),
    ],
)
def test_lambda_permission_principals(props, bad):
    assert bool(run_resource("lambda-permission-not-public", "aws:lambda/permission:Permission", props)) is bad


def test_waf_logging_wants_an_aws_waf_logs_group_and_the_api_key_redacted():
    acl = res(WEB_ACL, "waf", {"arn": "arn:acl"})

    def logging(name: str = "waf-logging", **props: Any) -> dict[str, Any]:
        base = {
            "resourceArn": "arn:acl",
            "logDestinationConfigs": ["arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-prod"],
            "redactedFields": [{"singleHeader": {"name": "authorization"}}],
        }
        return res(WAF_LOGGING, name, {**base, **props})

    wrong_group = logging(logDestinationConfigs=["arn:aws:logs:us-east-1:123456789012:log-group:/waf/prod"])
    assert [m for m, _ in run_stack("waf-web-acl-logging", [acl, wrong_group])] == [
        "waf-logging: log group /waf/prod does not start with aws-waf-logs- (AWS WAF refuses it)"
    ]
    unredacted = logging(redactedFields=[{"singleHeader": {"name": "cookie"}}])
    assert [m for m, _ in run_stack("waf-web-acl-logging", [acl, unredacted])] == [
        "waf-logging: the authorization header (the clients' API key) is not redacted"
    ]
    other = logging("other-logging", resourceArn="arn:other-acl")  # another ACL's (no naming link either)
    assert [m for m, _ in run_stack("waf-web-acl-logging", [acl, other])] == ["waf: web ACL does not log"]
