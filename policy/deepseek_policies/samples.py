"""Hand-built stacks in the resource-dict shape (resources.py): one compliant, one broken.

They mirror what the components register (camelCase engine inputs of pulumi-aws v7) and document
the conventions the rules rely on. Used by the tests; handy to sanity-check a pack change:
    PYTHONPATH=policy python -c "from deepseek_policies import samples, report; \
        print(report.format_text(report.check(samples.broken_stack(), 'prod')))"
"""

from __future__ import annotations

import copy
import json
from typing import Any

from deepseek_policies.resources import make_urn

ACCOUNT = "123456789012"
REGION = "us-east-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CERT_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/abcd"
TG_SUFFIX = "targetgroup/serving-tg/0123456789abcdef"
LB_SUFFIX = "app/serving-alb/0123456789abcdef"
LB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/{LB_SUFFIX}"
WAF_ARN = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/serving-waf/abcd"


def tags(environment: str, **extra: str) -> dict[str, str]:
    return {"project": "deepseek-cloud", "environment": environment, "owner": "ml-platform", **extra}


def asg_tags(environment: str, **extra: str) -> list[dict[str, Any]]:
    return [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in tags(environment, **extra).items()]


def _r(stack: str, type_: str, name: str, inputs: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, "urn": make_urn(stack, type_, name), "inputs": inputs, "parent": None, **more}


def tls_only_policy(bucket: str) -> str:
    arn = f"arn:aws:s3:::{bucket}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def container_definitions(**overrides: Any) -> str:
    vllm = {
        "name": "vllm",
        "image": "vllm/vllm-openai:v0.11.0",
        "essential": True,
        "privileged": False,
        "user": "2000",
        "readonlyRootFilesystem": True,
        "environment": [
            {"name": "HF_HOME", "value": "/cache/huggingface"},
            {"name": "TOKENIZERS_PARALLELISM", "value": "false"},
            {"name": "VLLM_CACHE_ROOT", "value": "/cache/vllm"},
        ],
        "secrets": [
            {"name": "HF_TOKEN", "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:hf-token"},
            {"name": "VLLM_API_KEY", "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:api-key"},
        ],
        "mountPoints": [
            {"sourceVolume": "cache", "containerPath": "/cache"},
            {"sourceVolume": "tmp", "containerPath": "/tmp"},
        ],
        "resourceRequirements": [{"type": "GPU", "value": "1"}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": "/deepseek/serving",
                "awslogs-region": REGION,
                "awslogs-stream-prefix": "vllm",
            },
        },
    }
    vllm.update(overrides)
    return json.dumps([vllm])


def _bucket(stack: str, name: str, environment: str, sse: dict[str, Any]) -> list[dict[str, Any]]:
    """A bucket and its companions, each named after the bucket (the components' convention)."""
    bucket_urn = make_urn(stack, "aws:s3/bucket:Bucket", name)
    deps = {"propertyDependencies": {"bucket": [bucket_urn]}}
    return [
        _r(stack, "aws:s3/bucket:Bucket", name, {"bucket": f"{name}-bucket", "tags": tags(environment)}),
        _r(
            stack,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            name,
            {
                "bucket": f"{name}-bucket",
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
            **deps,
        ),
        _r(
            stack,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            name,
            {"bucket": f"{name}-bucket", "rules": [{"applyServerSideEncryptionByDefault": sse}]},
            **deps,
        ),
        _r(
            stack,
            "aws:s3/bucketVersioning:BucketVersioning",
            name,
            {"bucket": f"{name}-bucket", "versioningConfiguration": {"status": "Enabled"}},
            **deps,
        ),
        _r(
            stack,
            "aws:s3/bucketPolicy:BucketPolicy",
            name,
            {"bucket": f"{name}-bucket", "policy": tls_only_policy(f"{name}-bucket")},
            **deps,
        ),
        _r(
            stack,
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            name,
            {"bucket": f"{name}-bucket", "rule": {"objectOwnership": "BucketOwnerEnforced"}},
            **deps,
        ),
        _r(
            stack,
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            name,
            {"bucket": f"{name}-bucket", "rules": [{"id": "expire", "status": "Enabled", "expiration": {"days": 90}}]},
            **deps,
        ),
    ]


def compliant_stack(environment: str = "dev", stack: str | None = None) -> list[dict[str, Any]]:
    """Every rule passes (no mandatory and no advisory violation) for `environment`."""
    stack = stack or environment
    prod = environment == "prod"
    t = tags(environment)
    tg_urn = make_urn(stack, "aws:lb/targetGroup:TargetGroup", "serving-tg")
    execution_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:hf-token"],
                },
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN},
            ],
        }
    )
    resources = [
        _r(stack, "aws:kms/key:Key", "platform-key", {"enableKeyRotation": True, "description": "cmk", "tags": t}),
        _r(stack, "aws:cloudwatch/logGroup:LogGroup", "serving-logs", {"kmsKeyId": KEY_ARN, "tags": t}),
        _r(stack, "aws:sns/topic:Topic", "alarms", {"kmsMasterKeyId": KEY_ARN, "tags": t}),
        _r(
            stack,
            "aws:secretsmanager/secret:Secret",
            "hf-token",
            {"kmsKeyId": KEY_ARN, "tags": {**t, "deepseek:rotation": "third-party"}},  # a Hugging Face token
        ),
        _r(
            stack,
            "aws:ecr/repository:Repository",
            "vllm-repo",
            {
                "name": "deepseek/vllm",
                "imageScanningConfiguration": {"scanOnPush": True},
                "imageTagMutability": "IMMUTABLE",
                "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}],
                "tags": t,
            },
        ),
        _r(
            stack,
            "aws:ecr/lifecyclePolicy:LifecyclePolicy",
            "vllm-repo-lifecycle",
            {
                "repository": "deepseek/vllm",
                "policy": json.dumps(
                    {
                        "rules": [
                            {
                                "rulePriority": 1,
                                "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed"},
                                "action": {"type": "expire"},
                            }
                        ]
                    }
                ),
            },
        ),
        _r(
            stack,
            "aws:ec2/launchTemplate:LaunchTemplate",
            "gpu-lt",
            {
                "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled", "httpPutResponseHopLimit": 2},
                "blockDeviceMappings": [
                    {
                        "deviceName": "/dev/xvda",
                        "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN, "volumeSize": 200, "volumeType": "gp3"},
                    }
                ],
                "networkInterfaces": [{"associatePublicIpAddress": "false", "deviceIndex": 0}],
                "tags": t,
            },
        ),
        _r(
            stack,
            "aws:autoscaling/group:Group",
            "gpu-asg",
            {
                "vpcZoneIdentifiers": ["subnet-0a", "subnet-0b"],
                "minSize": 0,
                "maxSize": 8 if prod else 2,
                "mixedInstancesPolicy": {
                    "instancesDistribution": {
                        "onDemandBaseCapacity": 1 if prod else 0,
                        "onDemandPercentageAboveBaseCapacity": 50 if prod else 0,
                        "spotAllocationStrategy": "price-capacity-optimized",
                    },
                    "launchTemplate": {
                        "launchTemplateSpecification": {"launchTemplateId": "lt-0abc", "version": "$Latest"},
                        "overrides": [{"instanceType": "g6e.xlarge"}, {"instanceType": "g5.2xlarge"}],
                    },
                },
                "tags": asg_tags(environment, **{"deepseek:role": "gpu-pool"}),
            },
        ),
        _r(
            stack,
            "aws:ecs/cluster:Cluster",
            "serving-cluster",
            {"settings": [{"name": "containerInsights", "value": "enhanced"}], "tags": t},
        ),
        _r(
            stack,
            "aws:ecs/taskDefinition:TaskDefinition",
            "serving-task",
            {"family": "vllm", "containerDefinitions": container_definitions(), "tags": t},
        ),
        _r(
            stack,
            "aws:iam/role:Role",
            "serving-execution",
            {
                "assumeRolePolicy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                ),
                "tags": t,
            },
        ),
        _r(
            stack,
            "aws:iam/rolePolicy:RolePolicy",
            "serving-execution-secrets",
            {"role": "serving-execution", "policy": execution_policy},
        ),
        _r(
            stack,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            "serving-execution-ecs",
            {
                "role": "serving-execution",
                "policyArn": "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
            },
        ),
        _r(
            stack,
            "aws:ec2/securityGroup:SecurityGroup",
            "serving-alb",
            {"description": "ALB", "tags": tags(environment, **{"deepseek:role": "load-balancer"})},
        ),
        _r(
            stack,
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "serving-alb-in-443",
            {
                "securityGroupId": "sg-0alb",
                "cidrIpv4": "0.0.0.0/0",
                "ipProtocol": "tcp",
                "fromPort": 443,
                "toPort": 443,
                "description": "Clients to the HTTPS listener",
                "tags": tags(environment, **{"deepseek:role": "load-balancer"}),
            },
        ),
        _r(
            stack,
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "serving-alb-in-80",
            {
                "securityGroupId": "sg-0alb",
                "cidrIpv4": "0.0.0.0/0",
                "ipProtocol": "tcp",
                "fromPort": 80,
                "toPort": 80,
                "description": "Clients to the HTTP->HTTPS redirect",
                "tags": tags(environment, **{"deepseek:role": "load-balancer"}),
            },
        ),
        _r(
            stack,
            "aws:ec2/securityGroup:SecurityGroup",
            "serving-tasks",
            {
                "description": "vLLM tasks",
                "egress": [
                    {
                        "protocol": "-1",
                        "fromPort": 0,
                        "toPort": 0,
                        "cidrBlocks": ["0.0.0.0/0"],
                        "description": "Image pulls and model downloads via NAT",
                    }
                ],
                "tags": t,
            },
        ),
        _r(
            stack,
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "serving-tasks-from-alb",
            {
                "securityGroupId": "sg-0tasks",
                "referencedSecurityGroupId": "sg-0alb",
                "ipProtocol": "tcp",
                "fromPort": 8000,
                "toPort": 8000,
                "description": "vLLM API from the load balancer only",
                "tags": t,
            },
        ),
        _r(
            stack,
            "aws:lb/loadBalancer:LoadBalancer",
            "serving-alb",
            {
                "loadBalancerType": "application",
                "internal": False,
                "dropInvalidHeaderFields": True,
                "enableDeletionProtection": prod,
                "accessLogs": {"enabled": True, "bucket": "serving-alb-logs-bucket", "prefix": "alb"},
                "tags": t,
            },
            outputs={"arnSuffix": LB_SUFFIX, "arn": LB_ARN},
        ),
        _r(
            stack,
            "aws:wafv2/webAcl:WebAcl",
            "serving-waf",
            {
                "scope": "REGIONAL",
                "rules": [
                    {
                        "name": "rate-per-ip",
                        "priority": 0,
                        "visibilityConfig": {"cloudwatchMetricsEnabled": True, "metricName": "rate"},
                    }
                ],
                "tags": t,
            },
            outputs={"arn": WAF_ARN},
        ),
        _r(
            stack,
            "aws:wafv2/webAclAssociation:WebAclAssociation",
            "serving-waf",
            {"resourceArn": LB_ARN, "webAclArn": WAF_ARN},
            propertyDependencies={"resourceArn": [make_urn(stack, "aws:lb/loadBalancer:LoadBalancer", "serving-alb")]},
        ),
        _r(
            stack,
            "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
            "serving-waf-logging",
            {
                "resourceArn": WAF_ARN,
                "logDestinationConfigs": [f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:aws-waf-logs-serving"],
                "redactedFields": [{"singleHeader": {"name": "authorization"}}],
            },
        ),
        _r(
            stack,
            "aws:lb/targetGroup:TargetGroup",
            "serving-tg",
            {"port": 8000, "protocol": "HTTP", "targetType": "ip", "tags": t},
            outputs={"arnSuffix": TG_SUFFIX},
        ),
        *(
            []
            if prod  # prod listens on 443 only (ELB.18)
            else [
                _r(
                    stack,
                    "aws:lb/listener:Listener",
                    "serving-http",
                    {
                        "port": 80,
                        "protocol": "HTTP",
                        "defaultActions": [
                            {
                                "type": "redirect",
                                "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
                            }
                        ],
                        "tags": t,
                    },
                )
            ]
        ),
        _r(
            stack,
            "aws:lb/listener:Listener",
            "serving-https",
            {
                "port": 443,
                "protocol": "HTTPS",
                "certificateArn": CERT_ARN,
                "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}],
                "tags": t,
            },
        ),
        _r(
            stack,
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "serving-unhealthy-hosts",
            {
                "namespace": "AWS/ApplicationELB",
                "metricName": "UnHealthyHostCount",
                "comparisonOperator": "GreaterThanThreshold",
                "threshold": 0,
                "evaluationPeriods": 3,
                "period": 60,
                "statistic": "Maximum",
                "alarmActions": [f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"],
                "dimensions": {"TargetGroup": TG_SUFFIX, "LoadBalancer": LB_SUFFIX},
                "tags": t,
            },
            propertyDependencies={
                "dimensions": [tg_urn, make_urn(stack, "aws:lb/loadBalancer:LoadBalancer", "serving-alb")]
            },
        ),
    ]
    resources += _bucket(stack, "serving-alb-logs", environment, {"sseAlgorithm": "AES256"})
    resources += _bucket(stack, "model-cache", environment, {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN})
    return resources


# Every mandatory rule the broken stack violates (environment prod) -> resource it is reported on.
BROKEN_EXPECTED_MANDATORY = {
    "ec2-launch-template-imdsv2": "gpu-lt",
    "ec2-launch-template-ebs-encrypted-cmk": "gpu-lt",
    "ec2-launch-template-no-public-ip": "gpu-lt",
    "ecs-no-privileged-containers": "serving-task",
    "ecs-no-secrets-in-environment": "serving-task",
    "ecs-container-logging": "serving-task",
    "ecs-cluster-container-insights": "serving-cluster",
    "ecr-scan-on-push": "vllm-repo",
    "ecr-immutable-tags": "vllm-repo",
    "ecr-lifecycle-policy": "vllm-repo",
    "ecr-repository-cmk": "vllm-repo",
    "elb-http-redirect-to-https": "serving-http",
    "elb-listener-https-only-prod": "serving-http",
    "elb-listener-tls-policy": "serving-https",
    "ecs-read-only-root-filesystem": "serving-task",
    "ecs-non-root-user": "serving-task",
    "autoscaling-multi-az-prod": "gpu-asg",
    "waf-web-acl-rules-and-metrics": "serving-waf",
    "s3-bucket-owner-enforced": "model-cache",
    "s3-bucket-lifecycle": "model-cache",
    "elb-drop-invalid-headers": "serving-alb",
    "elb-access-logs": "serving-alb",
    "elb-deletion-protection-prod": "serving-alb",
    "elb-waf-web-acl-prod": "serving-alb",
    "s3-bucket-tls-only": "model-cache",
    "s3-bucket-public-access-block": "model-cache",
    "s3-bucket-sse-kms": "model-cache",
    "s3-bucket-versioning": "model-cache",
    "kms-key-rotation": "platform-key",
    "cloudwatch-log-group-kms": "serving-logs",
    "sns-topic-kms": "alarms",
    "ec2-sg-no-public-ingress": "serving-tasks",
    "ec2-sg-rule-description": "serving-tasks",
    "iam-no-full-admin-statements": "serving-execution-secrets",
    "iam-no-decrypt-on-all-keys": "serving-execution-secrets",
    "iam-no-administrator-access-attachment": "serving-execution-ecs",
    "gpu-pool-max-size": "gpu-asg",
    "gpu-pool-prod-on-demand-base": "gpu-asg",
    "gpu-instance-type-allow-list": "gpu-asg",
    "required-tags": "platform-key",
    "serving-endpoint-alarm": "serving-tg",
}
BROKEN_EXPECTED_ADVISORY = {
    "secretsmanager-secret-cmk": "hf-token",
}


def broken_stack(stack: str = "prod") -> list[dict[str, Any]]:
    """The prod compliant stack with one defect per rule it can show (see BROKEN_EXPECTED_*); each rule's
    own violating fixture is in tests/test_policy_rules.py CASES."""
    resources = {(r["type"], r["name"]): r for r in copy.deepcopy(compliant_stack("prod", stack))}

    def inputs(type_: str, name: str) -> dict[str, Any]:
        return resources[(type_, name)]["inputs"]

    inputs("aws:kms/key:Key", "platform-key").update(enableKeyRotation=False, tags={"project": "deepseek-cloud"})
    inputs("aws:cloudwatch/logGroup:LogGroup", "serving-logs").pop("kmsKeyId")
    inputs("aws:sns/topic:Topic", "alarms").pop("kmsMasterKeyId")
    inputs("aws:secretsmanager/secret:Secret", "hf-token").pop("kmsKeyId")
    inputs("aws:ecr/repository:Repository", "vllm-repo").update(
        imageScanningConfiguration={"scanOnPush": False},
        imageTagMutability="MUTABLE",
        encryptionConfigurations=[{"encryptionType": "AES256"}],
    )
    del resources[("aws:ecr/lifecyclePolicy:LifecyclePolicy", "vllm-repo-lifecycle")]
    inputs("aws:ec2/launchTemplate:LaunchTemplate", "gpu-lt").update(
        metadataOptions={"httpTokens": "optional"},
        blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false", "volumeSize": 200}}],
        networkInterfaces=[{"associatePublicIpAddress": "true", "deviceIndex": 0}],
    )
    asg = inputs("aws:autoscaling/group:Group", "gpu-asg")
    asg["maxSize"] = 64
    asg["vpcZoneIdentifiers"] = ["subnet-0a"]
    asg["mixedInstancesPolicy"]["instancesDistribution"]["onDemandBaseCapacity"] = 0
    asg["mixedInstancesPolicy"]["launchTemplate"]["overrides"].append({"instanceType": "p3.2xlarge"})
    inputs("aws:ecs/cluster:Cluster", "serving-cluster")["settings"] = [
        {"name": "containerInsights", "value": "disabled"}
    ]
    inputs("aws:ecs/taskDefinition:TaskDefinition", "serving-task")["containerDefinitions"] = container_definitions(
        privileged=True,
        readonlyRootFilesystem=False,
        user="root",
        environment=[{"name": "HF_TOKEN", "value": "hf_abcdefghijklmnopqrstuvwxyz"}],
        logConfiguration=None,
    )
    inputs("aws:iam/rolePolicy:RolePolicy", "serving-execution-secrets")["policy"] = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    inputs("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "serving-execution-ecs")["policyArn"] = (
        "arn:aws:iam::aws:policy/AdministratorAccess"
    )
    inputs("aws:ec2/securityGroup:SecurityGroup", "serving-tasks")["ingress"] = [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}
    ]
    inputs("aws:lb/loadBalancer:LoadBalancer", "serving-alb").update(
        dropInvalidHeaderFields=False, enableDeletionProtection=False, accessLogs={"enabled": False}
    )
    http = _r(stack, "aws:lb/listener:Listener", "serving-http", {"port": 80, "protocol": "HTTP", "tags": tags("prod")})
    http["inputs"]["defaultActions"] = [{"type": "forward", "targetGroupArn": "arn:tg"}]
    resources[("aws:lb/listener:Listener", "serving-http")] = http
    inputs("aws:lb/listener:Listener", "serving-https")["sslPolicy"] = "ELBSecurityPolicy-2016-08"
    inputs("aws:wafv2/webAcl:WebAcl", "serving-waf")["rules"][0]["visibilityConfig"]["cloudwatchMetricsEnabled"] = False
    del resources[("aws:cloudwatch/metricAlarm:MetricAlarm", "serving-unhealthy-hosts")]
    del resources[("aws:wafv2/webAclAssociation:WebAclAssociation", "serving-waf")]
    # model-cache: no TLS-only policy, permissive PAB, SSE-S3 instead of KMS, versioning suspended.
    inputs("aws:s3/bucketPolicy:BucketPolicy", "model-cache")["policy"] = json.dumps(
        {"Version": "2012-10-17", "Statement": []}
    )
    inputs("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "model-cache")["blockPublicPolicy"] = False
    inputs("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "model-cache")[
        "rules"
    ] = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    inputs("aws:s3/bucketVersioning:BucketVersioning", "model-cache")["versioningConfiguration"] = {
        "status": "Suspended"
    }
    inputs("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "model-cache")["rule"] = {
        "objectOwnership": "ObjectWriter"
    }
    inputs("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "model-cache")["rules"] = [
        {"id": "expire", "status": "Disabled"}
    ]
    return list(resources.values())
