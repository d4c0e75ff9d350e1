"""AWS name limits: a stack name that would push any resource name past its AWS limit is one config line
before anything is declared; at the longest allowed stack name every name the program builds fits."""

from __future__ import annotations

import pytest
from pulumi.runtime import settings

from offline.harness import run_program, stack_config, stack_names
from stacks.errors import ConfigError
from stacks.names import max_stack_name_length

# Type → (name field, AWS limit in characters), from each API's reference (CreateLoadBalancer,
# CreateTargetGroup, CreateRole, CreateInstanceProfile, PutRolePolicy, CreateSecurityGroup,
# CreateLaunchTemplate, CreateAutoScalingGroup, ECS Create*/RegisterTaskDefinition, PutMetricAlarm,
# PutCompositeAlarm, PutDashboard, PutRule, CreateLogGroup, CreateTopic, S3 bucket naming, CreateSecret,
# CreateAlias, PutScalingPolicy, PutScheduledAction, WAFv2 CreateWebACL).
LIMITS = {
    "aws:lb/loadBalancer:LoadBalancer": ("name", 32),
    "aws:lb/targetGroup:TargetGroup": ("name", 32),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": ("name", 512),  # PutMetricFilter filterName
    "aws:iam/role:Role": ("name", 64),
    "aws:iam/instanceProfile:InstanceProfile": ("name", 128),
    "aws:iam/rolePolicy:RolePolicy": ("name", 128),
    "aws:ec2/securityGroup:SecurityGroup": ("name", 255),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", 128),
    "aws:autoscaling/group:Group": ("name", 255),
    "aws:ecs/cluster:Cluster": ("name", 255),
    "aws:ecs/service:Service": ("name", 255),
    "aws:ecs/capacityProvider:CapacityProvider": ("name", 255),
    "aws:ecs/taskDefinition:TaskDefinition": ("family", 255),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", 255),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": ("alarmName", 255),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName", 255),
    "aws:cloudwatch/eventRule:EventRule": ("name", 64),
    "aws:cloudwatch/logGroup:LogGroup": ("name", 512),
    "aws:sns/topic:Topic": ("name", 256),
    "aws:s3/bucket:Bucket": ("bucket", 63),
    "aws:s3/bucketV2:BucketV2": ("bucket", 63),
    "aws:secretsmanager/secret:Secret": ("name", 512),
    "aws:kms/alias:Alias": ("name", 256),
    "aws:appautoscaling/policy:Policy": ("name", 256),
    "aws:appautoscaling/scheduledAction:ScheduledAction": ("name", 256),
    "aws:wafv2/webAcl:WebAcl": ("name", 128),
    "aws:lambda/function:Function": ("name", 64),  # Lambda CreateFunction: a function name is 1-64 characters
    "aws:ecr/repository:Repository": ("name", 256),  # ECR CreateRepository: repositoryName 2-256
    # EKS (CreateCluster name ≤ 100, CreateNodegroup ≤ 63, SQS queue ≤ 80, IAM policy ≤ 128).
    "aws:eks/cluster:Cluster": ("name", 100),
    # The provider appends a 26-character unique suffix to the prefix (terraform id.PrefixedUniqueId): 63 - 26.
    "aws:eks/nodeGroup:NodeGroup": ("nodeGroupNamePrefix", 37),
    "aws:sqs/queue:Queue": ("name", 80),
    "aws:iam/policy:Policy": ("name", 128),
    # AMP CreateWorkspace / CreateScraper alias: 1-100 characters; EC2 CreatePlacementGroup GroupName: ≤ 255.
    "aws:amp/workspace:Workspace": ("alias", 100),
    "aws:amp/scraper:Scraper": ("alias", 100),
    "aws:ec2/placementGroup:PlacementGroup": ("name", 255),
}
# Types without a name of their own (ids, attachments, rules): nothing to check.
NAMELESS = {
    # EKS: named by the cluster, a principal or a fixed add-on name; Kubernetes objects carry fixed names.
    "aws:eks/accessEntry:AccessEntry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    "aws:eks/addon:Addon",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:sqs/queuePolicy:QueuePolicy",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Namespace",
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:karpenter.sh/v1:NodePool",
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:batch/v1:CronJob",  # weights-sync: 12 of the 52 characters a CronJob name may have
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
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
    "aws:appautoscaling/target:Target",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/eip:Eip",
    "aws:ec2/flowLog:FlowLog",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:kms/key:Key",
    "aws:lb/listener:Listener",
    "aws:lb/listenerRule:ListenerRule",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLogging:BucketLogging",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "docker-build:index:Image",  # named by its tags (the repository's name plus a 20-character tag)
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:wafv2/webAclAssociation:WebAclAssociation",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
    "aws:lambda/permission:Permission",  # a statement id the provider generates
    "aws:secretsmanager/secretRotation:SecretRotation",
}
LONGEST = "a" * max_stack_name_length()


def test_longest_allowed_stack_name_is_twelve_characters() -> None:
    # ds-<stack>-vllm-alb-<7 random>: 3 + 12 + 9 + 8 = 32, the load balancer's limit.
    assert max_stack_name_length() == 12


@pytest.mark.parametrize("config_of", stack_names())
def test_every_name_fits_at_the_longest_stack_name(config_of: str) -> None:
    run = run_program(LONGEST, config=stack_config(config_of))
    unclassified = {r.type for r in run.registrations if r.custom} - set(LIMITS) - NAMELESS
    assert unclassified == set(), "classify each new type: its name limit, or nameless"
    longest: dict[str, int] = {}
    for r in run.registrations:
        if r.type not in LIMITS:
            continue
        field, limit = LIMITS[r.type]
        name = r.inputs.get(field) or r.outputs.get(field)
        assert isinstance(name, str) and name, (r.type, r.name)
        assert len(name) <= limit, f"{r.type} {name!r}: {len(name)} > {limit}"
        longest[r.type] = max(longest.get(r.type, 0), len(name))
    if stack_config(config_of)["deepseek-cloud:platform"] == "eks":
        assert longest["aws:eks/cluster:Cluster"] == len(f"ds-{LONGEST}")
    assert longest["aws:lb/loadBalancer:LoadBalancer"] == 32  # exactly at the limit: the binding one
    assert longest["aws:lb/targetGroup:TargetGroup"] == 31
    albs = sorted(r.outputs["name"][:-7] for r in run.of_type("aws:lb/loadBalancer:LoadBalancer"))
    # The default tier's ALB; a tiered stack adds one per extra tier (<= 4 characters) and the router's.
    assert "ds-aaaaaaaaaaaa-vllm-alb-" in albs
    assert len(albs) == (1 if config_of != "hybrid" else 3)


def test_one_character_more_is_one_line_before_anything_is_declared() -> None:
    stack = LONGEST + "b"
    with pytest.raises(ConfigError) as caught:
        run_program(stack, config=stack_config("dev"))
    assert [str(p) for p in caught.value.problems] == [
        f"pulumi:stack: load balancer name ds-{stack}-vllm-alb-xxxxxxx is 33 characters, AWS allows 32 "
        f"(got {stack}; allowed: up to 12 letters, digits and hyphens)"
    ]
    assert settings.SETTINGS.monitor.registrations == []


def test_a_long_stack_name_lists_every_limit_it_breaks() -> None:
    stack = "ml-platform-staging-eu"  # 22 characters
    with pytest.raises(ConfigError) as caught:
        run_program(stack, config=stack_config("staging"))
    [line] = [str(p) for p in caught.value.problems]
    assert line == (
        f"pulumi:stack: load balancer name ds-{stack}-vllm-alb-xxxxxxx is 42 characters, AWS allows 32; "
        f"target group name ds-{stack}-vllm-tg-xxxxxxx is 41 characters, AWS allows 32 "
        f"(got {stack}; allowed: up to 12 letters, digits and hyphens)"
    )


def test_characters_load_balancer_names_refuse() -> None:
    with pytest.raises(ConfigError) as caught:
        run_program("ml_dev", config=stack_config("dev"))
    assert [str(p) for p in caught.value.problems] == [
        "pulumi:stack: load balancer and target group names take only letters, digits and hyphens "
        "(got ml_dev; allowed: up to 12 letters, digits and hyphens)"
    ]
