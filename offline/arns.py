"""The ARNs (and the outputs derived from them) AWS would assign, per Pulumi type, for the mock runtime.

Each template follows the resource's ARN format in AWS's Service Authorization Reference (as shipped in
parliament's iam_definition.json) or, where that lists none, AWS's API examples cited beside it. The
ARN carries the resource's own name (its `name` output, or its id where AWS uses the id), path, region and
account; IAM and S3 ARNs have no region, IAM paths stay in the ARN, dashboards have no region.

A type missing here gets no fabricated ARN: a new type with an `arn` output fails tests/test_mock_arns.py
until it is added (or listed there as having none).
"""

from __future__ import annotations

import hashlib
import importlib
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pulumi.runtime.rpc import get_resource_module


@dataclass(frozen=True)
class Subject:
    """What the mock knows about one resource when it fabricates its ARN."""

    region: str
    account: str
    id: str
    name: str  # the `name` output (given or fabricated); "" when the type has none
    inputs: dict[str, Any]
    digest: str  # hex, deterministic per (type, logical name)

    def get(self, key: str, default: str = "") -> str:
        value = self.inputs.get(key)
        return value if isinstance(value, str) and value else default

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"

    def hex(self, length: int, salt: str = "") -> str:
        return hashlib.sha256(f"{self.digest}/{salt}".encode()).hexdigest()[:length]

    @property
    def uuid(self) -> str:
        d = self.hex(32, "uuid")
        return f"{d[:8]}-{d[8:12]}-4{d[13:16]}-8{d[17:20]}-{d[20:32]}"

    @property
    def hex16(self) -> str:
        return self.digest[:16]


def _tail(arn: str, sep: str = "/") -> str:
    return arn.rsplit(sep, 1)[-1]


def _iam(kind: str) -> Callable[[Subject], dict[str, str]]:
    # arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}: no region; the path stays in the ARN.
    return lambda s: {"arn": s.arn("iam", f"{kind}{s.get('path', '/')}{s.name}", region=False)}


def _listener(s: Subject) -> dict[str, str]:
    # listener/app/${LoadBalancerName}/${LoadBalancerId}/${ListenerId}: the load balancer's ARN, extended.
    lb = s.get("loadBalancerArn")
    base = (
        lb.replace(":loadbalancer/", ":listener/", 1)
        if ":loadbalancer/" in lb
        else s.arn("elasticloadbalancing", f"listener/app/unknown/{s.hex16}")
    )
    return {"arn": f"{base}/{s.hex(16, 'listener')}"}


def _listener_rule(s: Subject) -> dict[str, str]:
    listener = s.get("listenerArn")
    base = (
        listener.replace(":listener/", ":listener-rule/", 1)
        if ":listener/" in listener
        else s.arn("elasticloadbalancing", f"listener-rule/app/unknown/{s.hex16}/{s.hex16}")
    )
    return {"arn": f"{base}/{s.hex(16, 'rule')}"}


def _load_balancer(s: Subject) -> dict[str, str]:
    kind = {"network": "net", "gateway": "gwy"}.get(s.get("loadBalancerType", "application"), "app")
    suffix = f"{kind}/{s.name}/{s.hex16}"
    return {"arn": s.arn("elasticloadbalancing", f"loadbalancer/{suffix}"), "arnSuffix": suffix}


def _target_group(s: Subject) -> dict[str, str]:
    suffix = f"targetgroup/{s.name}/{s.hex16}"
    return {"arn": s.arn("elasticloadbalancing", suffix), "arnSuffix": suffix}


def _ecs_service(s: Subject) -> dict[str, str]:
    # New-format service ARN: service/${ClusterName}/${ServiceName} (cluster input is the cluster's ARN).
    cluster = _tail(s.get("cluster", "default"))
    return {"arn": s.arn("ecs", f"service/{cluster}/{s.name}")}


def _task_definition(s: Subject) -> dict[str, Any]:
    family = s.get("family", s.name)
    return {
        "arn": s.arn("ecs", f"task-definition/{family}:1"),
        "arnWithoutRevision": s.arn("ecs", f"task-definition/{family}"),
        "revision": 1,
    }


def _app_autoscaling(kind: str, name_key: str) -> Callable[[Subject], dict[str, str]]:
    # Application Auto Scaling policy and scheduled-action ARNs live under the `autoscaling` service, e.g.
    # arn:aws:autoscaling:us-west-2:012345678910:scalingPolicy:6d8972f3-efc8-437c-92d1-6270f29a66e7:
    # resource/ecs/service/default/web-app:policyName/web-app-cpu-gt-75 (AWS CLI reference,
    # application-autoscaling put-scaling-policy / describe-scheduled-actions examples).
    def fabricate(s: Subject) -> dict[str, str]:
        resource = f"{s.get('serviceNamespace', 'ecs')}/{s.get('resourceId', 'service/default/unknown')}"
        return {"arn": s.arn("autoscaling", f"{kind}:{s.uuid}:resource/{resource}:{name_key}/{s.name}")}

    return fabricate


def _secret(s: Subject) -> dict[str, str]:
    # Secrets Manager appends a hyphen and six random characters to the name in the ARN.
    letters = string.ascii_letters + string.digits
    suffix = "".join(letters[int(s.hex(2, str(i)), 16) % len(letters)] for i in range(6))
    return {"arn": s.arn("secretsmanager", f"secret:{s.name}-{suffix}")}


def _web_acl(s: Subject) -> dict[str, str]:
    scope = "global" if s.get("scope", "REGIONAL") == "CLOUDFRONT" else "regional"
    return {"arn": s.arn("wafv2", f"{scope}/webacl/{s.name}/{s.uuid}")}


def _ec2(kind: str) -> Callable[[Subject], dict[str, str]]:
    return lambda s: {"arn": s.arn("ec2", f"{kind}/{s.id}")}


def _node_group(s: Subject) -> dict[str, str]:
    # nodegroup/${ClusterName}/${NodegroupName}/${UUID}; a prefixed group's name is the prefix + 26 digits.
    prefix = s.get("nodeGroupNamePrefix")
    name = s.get("nodeGroupName") or (prefixed_name(prefix, s.digest) if prefix else f"{s.name or 'ng'}-{s.hex(7)}")
    arn = s.arn("eks", f"nodegroup/{s.get('clusterName', 'unknown')}/{name}/{s.uuid}")
    return {"arn": arn, "nodeGroupName": name}


def _access_entry(s: Subject) -> dict[str, str]:
    # access-entry/${ClusterName}/${IamIdentityType}/${IamIdentityAccountID}/${IamIdentityName}/${UUID}
    principal = s.get("principalArn", s.arn("iam", "role/unknown", region=False))
    parts = principal.split(":", 5)
    account, resource = (parts[4], parts[5]) if len(parts) == 6 else (s.account, "role/unknown")
    kind, _, name = resource.partition("/")
    cluster = s.get("clusterName", "unknown")
    return {"accessEntryArn": s.arn("eks", f"access-entry/{cluster}/{kind}/{account}/{_tail(name)}/{s.uuid}")}


ARNS: dict[str, Callable[[Subject], dict[str, Any]]] = {
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:iam/instanceProfile:InstanceProfile": _iam("instance-profile"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda s: {
        "arn": s.arn("iam", f"oidc-provider/{s.get('url').removeprefix('https://')}", region=False)
    },
    "aws:s3/bucket:Bucket": lambda s: {"arn": f"arn:aws:s3:::{s.name}"},
    "aws:s3/bucketV2:BucketV2": lambda s: {"arn": f"arn:aws:s3:::{s.name}"},
    # The provider strips the API's ":*" suffix from a log group's `arn` (terraform-provider-aws
    # docs, cloudwatch_log_group: "Any :* suffix added by the API ... is removed").
    "aws:cloudwatch/logGroup:LogGroup": lambda s: {"arn": s.arn("logs", f"log-group:{s.name}")},
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda s: {"arn": s.arn("cloudwatch", f"alarm:{s.name}")},
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": lambda s: {
        "arn": s.arn("cloudwatch", f"alarm:{s.get('alarmName', s.name)}")
    },
    # Dashboards are global: arn:${Partition}:cloudwatch::${Account}:dashboard/${DashboardName}; the
    # provider's output is `dashboardArn` (aws_cloudwatch_dashboard has no `arn`).
    "aws:cloudwatch/dashboard:Dashboard": lambda s: {
        "dashboardArn": s.arn("cloudwatch", f"dashboard/{s.get('dashboardName', s.name)}", region=False)
    },
    "aws:cloudwatch/eventRule:EventRule": lambda s: {
        "arn": s.arn("events", f"rule/{s.name}")
        if s.get("eventBusName", "default") == "default"
        else s.arn("events", f"rule/{s.get('eventBusName')}/{s.name}")
    },
    "aws:sns/topic:Topic": lambda s: {"arn": s.arn("sns", s.name)},
    "aws:sns/topicSubscription:TopicSubscription": lambda s: {
        "arn": f"{s.get('topic', s.arn('sns', 'unknown'))}:{s.uuid}"
    },
    "aws:kms/key:Key": lambda s: {"arn": s.arn("kms", f"key/{s.uuid}"), "keyId": s.uuid},
    "aws:kms/alias:Alias": lambda s: {"arn": s.arn("kms", s.name)},  # the name is "alias/…"
    "aws:secretsmanager/secret:Secret": _secret,
    # arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}
    "aws:lambda/function:Function": lambda s: {"arn": s.arn("lambda", f"function:{s.name}")},
    # arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}
    "aws:ecr/repository:Repository": lambda s: {"arn": s.arn("ecr", f"repository/{s.name}")},
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:lb/listener:Listener": _listener,
    "aws:lb/listenerRule:ListenerRule": _listener_rule,
    "aws:ecs/cluster:Cluster": lambda s: {"arn": s.arn("ecs", f"cluster/{s.name}")},
    "aws:ecs/capacityProvider:CapacityProvider": lambda s: {"arn": s.arn("ecs", f"capacity-provider/{s.name}")},
    "aws:ecs/service:Service": _ecs_service,
    "aws:ecs/taskDefinition:TaskDefinition": _task_definition,
    "aws:autoscaling/group:Group": lambda s: {
        "arn": s.arn("autoscaling", f"autoScalingGroup:{s.uuid}:autoScalingGroupName/{s.name}")
    },
    # arn:aws:application-autoscaling:us-west-2:123456789012:scalable-target/1234abcd56ab78cd901ef1234567890ab123
    # (AWS CLI reference, application-autoscaling register-scalable-target example).
    "aws:appautoscaling/target:Target": lambda s: {
        "arn": s.arn("application-autoscaling", f"scalable-target/{s.hex(36, 'target')}")
    },
    "aws:appautoscaling/policy:Policy": _app_autoscaling("scalingPolicy", "policyName"),
    "aws:appautoscaling/scheduledAction:ScheduledAction": _app_autoscaling("scheduledAction", "scheduledActionName"),
    "aws:ec2/vpc:Vpc": _ec2("vpc"),
    "aws:ec2/subnet:Subnet": _ec2("subnet"),
    "aws:ec2/flowLog:FlowLog": _ec2("vpc-flow-log"),
    "aws:ec2/securityGroup:SecurityGroup": _ec2("security-group"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _ec2("security-group"),
    "aws:ec2/internetGateway:InternetGateway": _ec2("internet-gateway"),
    "aws:ec2/eip:Eip": _ec2("elastic-ip"),
    "aws:ec2/routeTable:RouteTable": _ec2("route-table"),
    "aws:ec2/launchTemplate:LaunchTemplate": _ec2("launch-template"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _ec2("vpc-endpoint"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _ec2("security-group-rule"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _ec2("security-group-rule"),
    "aws:eks/cluster:Cluster": lambda s: {"arn": s.arn("eks", f"cluster/{s.name}")},
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:eks/addon:Addon": lambda s: {
        "arn": s.arn("eks", f"addon/{s.get('clusterName', 'unknown')}/{s.get('addonName', 'unknown')}/{s.uuid}")
    },
    "aws:eks/accessEntry:AccessEntry": _access_entry,
    # podidentityassociation/${ClusterName}/${UUID}; association ids look like a-<17 chars> (EKS API
    # reference, CreatePodIdentityAssociation example: a-abcdefghijklmnop1).
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": lambda s: {
        "associationArn": s.arn(
            "eks", f"podidentityassociation/{s.get('clusterName', 'unknown')}/a-{s.hex(17, 'association')}"
        )
    },
    "aws:sqs/queue:Queue": lambda s: {"arn": s.arn("sqs", s.name)},
    # aps workspace/${WorkspaceId}, scraper/${ScraperId} (Service Authorization Reference); the workspace id
    # is the resource id (ws-…, offline/mocks.py _ID_PREFIX), so the ARN, the id and the query endpoint agree.
    "aws:amp/workspace:Workspace": lambda s: {"arn": s.arn("aps", f"workspace/{s.id}")},
    "aws:amp/scraper:Scraper": lambda s: {"arn": s.arn("aps", f"scraper/s-{s.uuid}")},
    # ec2 placement-group/${PlacementGroupName}.
    "aws:ec2/placementGroup:PlacementGroup": lambda s: {"arn": s.arn("ec2", f"placement-group/{s.name}")},
}


@cache
def sdk_outputs(type_token: str) -> frozenset[str] | None:
    """The output property names of a type as the provider SDK declares them (None: not an SDK type)."""
    pkg, module, _ = type_token.split(":")
    registered = get_resource_module(pkg, module, "")
    info = getattr(registered, "mod_info", None)
    if not info or type_token not in info.get("classes", {}):
        return None
    cls = getattr(importlib.import_module(info["fqn"]), info["classes"][type_token])
    return frozenset(
        prop.fget._pulumi_name
        for klass in cls.__mro__
        for prop in vars(klass).values()
        if isinstance(prop, property) and hasattr(prop.fget, "_pulumi_name")
    )


def prefixed_name(prefix: str, digest: str) -> str:
    """The provider's `namePrefix` naming: the prefix plus a 26-digit unique suffix."""
    return f"{prefix}{str(int(digest, 16)).rjust(26, '0')[:26]}"
