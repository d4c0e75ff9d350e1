"""ModelService and ReplicaAutoscaling through the real program, with concrete values.

Each test does its own fresh run of __main__.py under the offline mocks.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from pulumi.runtime import settings

from components.shared.vllm import estimate_startup_seconds, health_check_grace_seconds
from offline.harness import ProgramRun, run_program, shared_run
from stacks.errors import ConfigError

TASK_DEF = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
LISTENER = "aws:lb/listener:Listener"
POLICY = "aws:appautoscaling/policy:Policy"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
API_KEY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:team/vllm-key-AbCdEf"


def container(run: ProgramRun) -> dict:
    """The vLLM container (the task's first; the metrics collector sidecar follows it)."""
    definitions = json.loads(run.one(TASK_DEF, under="ModelService").inputs["containerDefinitions"])
    assert [d["name"] for d in definitions] == ["vllm", "adot-collector"]
    return definitions[0]


def arg(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_gpus_per_task_equal_the_sizing_tensor_parallel_degree() -> None:
    run = run_program(
        "dev",
        overrides={
            "deepseek-cloud:model.name": "deepseek-r1-distill-qwen-32b",
            "deepseek-cloud:model.maxModelLen": 16384,
            "deepseek-cloud:gpuPool.instanceTypes": ["g6e.12xlarge"],
        },
    )
    tp = run.outputs["sizing"]["tensorParallelSize"]
    c = container(run)
    # 32B bf16 = 61 GiB of weights: too big for one 45 GiB L40S at 0.9, fits on two.
    assert tp == 2
    assert c["resourceRequirements"] == [{"type": "GPU", "value": "2"}]
    assert arg(c["command"], "--tensor-parallel-size") == "2"
    # positional (`vllm serve <model>`): the pinned revision in the stack's model bucket (model.loadFrom: s3)
    assert re.fullmatch(
        r"s3://ds-dev-models-weights-[0-9a-f]{7}/deepseek-ai/DeepSeek-R1-Distill-Qwen-32B/711ad2ea6aa40cfca18895e8aca02ab92df1a746",
        c["command"][0],
    )
    assert arg(c["command"], "--max-model-len") == "16384"
    assert arg(c["command"], "--served-model-name") == "deepseek-r1-distill-qwen-32b"
    # g6e.12xlarge: 384 GiB, two replicas per host -> (393216 x 0.9 - 1024) / 2 = 176435 per task, less the
    # metrics collector's 128 MiB
    assert c["memoryReservation"] == 176435 - 128
    assert c["linuxParameters"]["sharedMemorySize"] == 16384


def test_dev_task_definition_concrete_values() -> None:
    run = shared_run("dev")
    td = run.one(TASK_DEF, under="ModelService").inputs
    assert td["networkMode"] == "awsvpc" and td["requiresCompatibilities"] == ["EC2"]
    c = container(run)
    assert re.fullmatch(
        r"123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com/deepseek/dev/vllm@sha256:[0-9a-f]{64}", c["image"]
    )
    assert c["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    assert arg(c["command"], "--port") == "8000" and c["portMappings"][0]["containerPort"] == 8000
    assert arg(c["command"], "--gpu-memory-utilization") == "0.9"
    assert "--api-key" not in c["command"]  # vLLM reads VLLM_API_KEY from the secret instead
    # g6e.xlarge and g5.2xlarge both 32 GiB: 32768 x 0.9 - 1024 = 28467 per task, less the collector's 128 MiB
    assert c["memoryReservation"] == 28467 - 128
    assert c["stopTimeout"] == 30
    assert {u["name"]: u["hardLimit"] for u in c["ulimits"]} == {"memlock": -1, "nofile": 65535}
    log = c["logConfiguration"]
    assert log["logDriver"] == "awslogs"
    assert log["options"]["awslogs-group"] == "/deepseek/dev/vllm"
    assert log["options"]["awslogs-region"] == "us-east-1"


def test_health_check_timings_follow_the_weights() -> None:
    run = shared_run("dev")
    # 15.23 GB at 100 MB/s (152 s) + read at 500 MiB/s (29 s) + 120 s engine start = 302 s
    assert estimate_startup_seconds(15.23e9, 500) == 302
    # Loading from S3 (the default) the container needs the cold-start estimate's weight load + engine start:
    # ceil(6.09 + 18.1) = 25 s (stacks/cold_start.py; tests/test_image_and_weights.py checks the phases).
    check = container(run)["healthCheck"]
    assert check["startPeriod"] == 25
    assert check["command"][:2] == ["CMD", "python3"] and "/health" in check["command"][-1]
    assert run.one(SERVICE).inputs["healthCheckGracePeriodSeconds"] == 60 == health_check_grace_seconds(25)
    tg = run.one("aws:lb/targetGroup:TargetGroup").inputs
    assert tg["healthCheck"]["path"] == "/health" and tg["targetType"] == "ip"
    # ALB drain + container stop fit inside the 2-minute spot notice
    assert tg["deregistrationDelay"] + container(run)["stopTimeout"] < 120


def test_secrets_only_in_secrets_never_in_environment() -> None:
    run = shared_run("dev")
    c = container(run)
    secrets = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    created = {s.inputs["name"]: s.outputs["arn"] for s in run.of_type("aws:secretsmanager/secret:Secret")}
    assert secrets == {
        "VLLM_API_KEY": created["deepseek/dev/vllm-api-key"],
        # The key rotates: the replaced key (AWSPREVIOUS) stays valid until the next rotation.
        "VLLM_API_KEY_PREVIOUS": created["deepseek/dev/vllm-api-key"] + "::AWSPREVIOUS:",
        "HF_TOKEN": created["deepseek/dev/hf-token"],
    }
    # Both keys reach vLLM as `--api-key <current> <previous>` after the serve arguments (a shell expands them:
    # the task definition holds neither key).
    assert c["entryPoint"][:2] == ["/bin/sh", "-c"]
    assert c["entryPoint"][2] == 'exec vllm serve "$@" --api-key "$VLLM_API_KEY" "$VLLM_API_KEY_PREVIOUS"'
    env = {e["name"] for e in c["environment"]}
    assert not env & {"VLLM_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}
    for secret in run.of_type("aws:secretsmanager/secret:Secret"):
        assert "secretString" not in secret.inputs  # no value in code or state
        assert secret.inputs["kmsKeyId"] == run.one("aws:kms/key:Key").outputs["arn"]
    assert not run.of_type("aws:secretsmanager/secretVersion:SecretVersion")


# One dev run for four settings that land on different resources (the API-key secret and the execution role,
# the listeners, the scaling policy, the scheduled actions): each differs from dev's own value, so each test that
# reads this run still fails if its setting is lost.
SERVING_VARIANT = {
    "deepseek-cloud:serving.apiKeySecretArn": API_KEY_ARN,
    "deepseek-cloud:serving.certificateArn": CERT,
    "deepseek-cloud:serving.allowedCidrs": ["10.0.0.0/8"],
    "deepseek-cloud:scaling.targetQpsPerReplica": 40,
    "deepseek-cloud:scaling.schedule": [
        {"name": "night", "cron": "cron(0 20 ? * MON-FRI *)", "minReplicas": 0, "maxReplicas": 0},
        {"name": "day", "cron": "cron(0 7 ? * MON-FRI *)", "minReplicas": 1, "maxReplicas": 2},
    ],
}


def test_adopted_secret_is_referenced_not_created_and_execution_role_reads_exactly_two() -> None:
    run = shared_run("dev", SERVING_VARIANT)
    assert [s.inputs["name"] for s in run.of_type("aws:secretsmanager/secret:Secret")] == ["deepseek/dev/hf-token"]
    assert {s["name"]: s["valueFrom"] for s in container(run)["secrets"]}["VLLM_API_KEY"] == API_KEY_ARN
    # An adopted key is its owner's to rotate: no rotation, no previous-key reference, the image's entrypoint.
    assert "VLLM_API_KEY_PREVIOUS" not in {s["name"] for s in container(run)["secrets"]}
    assert "entryPoint" not in container(run)
    assert run.of_type("aws:secretsmanager/secretRotation:SecretRotation") == []
    policy = json.loads(named(run, "aws:iam/rolePolicy:RolePolicy", "ds-dev-vllm-execution").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadTheTwoSecrets"]["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:deepseek/dev/hf-token-??????",
        API_KEY_ARN,
    ]
    assert by_sid["WriteThisTasksLogs"]["Resource"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/deepseek/dev/vllm:log-stream:*"
    )
    assert by_sid["DecryptSecretsThroughSecretsManager"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }
    assert run.outputs["apiKeySecretArn"] == API_KEY_ARN


def test_task_role_holds_only_the_model_read_grant_and_roles_trust_only_this_accounts_ecs() -> None:
    run = shared_run("dev")
    task_role = run.by_name("ds-dev-vllm-task")
    role_name = task_role.outputs["name"]
    attached = [
        a for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.inputs["role"] == role_name
    ]
    inline = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role_name]
    # The model bucket's read grant on the one revision (tests/test_image_and_weights.py checks its statements)
    # and the metrics sidecar's EMF writes (tests/test_ecs_metrics.py).
    assert attached == [] and sorted(p.name for p in inline) == [
        "ds-dev-vllm-metrics-emf-write",
        "ds-dev-vllm-read-model",
    ]
    trust = json.loads(task_role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_ignore_changes_on_desired_count_and_service_settings() -> None:
    run = shared_run("dev")
    svc = run.one(SERVICE)
    assert svc.ignore_changes == ["desiredCount"]
    assert svc.inputs["waitForSteadyState"] is False
    assert svc.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert svc.inputs["orderedPlacementStrategies"] == [
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "binpack", "field": "memory"},
    ]
    assert (
        svc.inputs["capacityProviderStrategies"][0]["capacityProvider"]
        == run.one("aws:ecs/capacityProvider:CapacityProvider").outputs["name"]
    )
    assert svc.inputs["networkConfiguration"]["assignPublicIp"] is False
    # dev: 2 hosts x 1 replica cannot hold 2 x maxReplicas 2 -> 50 %, which ECS rounds up to 1 of 1 replica
    assert svc.inputs["deploymentMinimumHealthyPercent"] == 50
    assert svc.inputs["deploymentMaximumPercent"] == 200


def test_target_value_is_requests_per_minute() -> None:
    run = shared_run("dev", SERVING_VARIANT)
    config = run.one(POLICY).inputs["targetTrackingScalingPolicyConfiguration"]
    assert config["targetValue"] == 2400  # 40 req/s x 60: ALBRequestCountPerTarget is a 1-minute Sum
    spec = config["predefinedMetricSpecification"]
    assert spec["predefinedMetricType"] == "ALBRequestCountPerTarget"
    alb = run.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    tg = run.one("aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"]
    assert spec["resourceLabel"] == f"{alb}/{tg}"
    assert (config["scaleOutCooldown"], config["scaleInCooldown"], config["disableScaleIn"]) == (60, 600, False)
    target = run.one("aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 2)
    assert target["scalableDimension"] == "ecs:service:DesiredCount"
    assert target["resourceId"] == f"service/{run.outputs['clusterName']}/{run.outputs['serviceName']}"

    slower = run_program("dev", overrides={"deepseek-cloud:scaling.targetQpsPerReplica": 2.5})
    assert slower.one(POLICY).inputs["targetTrackingScalingPolicyConfiguration"]["targetValue"] == 150


def test_schedule_becomes_scheduled_actions() -> None:
    run = shared_run("dev", SERVING_VARIANT)
    actions = {a.name: a.inputs for a in run.of_type("aws:appautoscaling/scheduledAction:ScheduledAction")}
    assert actions["ds-dev-vllm-scaling-night"]["scalableTargetAction"] == {"minCapacity": 0, "maxCapacity": 0}
    assert actions["ds-dev-vllm-scaling-day"]["schedule"] == "cron(0 7 ? * MON-FRI *)"
    assert {a["timezone"] for a in actions.values()} == {"UTC"}


def test_https_listener_and_redirect_when_certificate_is_set() -> None:
    run = shared_run("dev", SERVING_VARIANT)
    listeners = {listener.inputs["port"]: listener.inputs for listener in run.of_type(LISTENER)}
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert https["protocol"] == "HTTPS" and https["certificateArn"] == CERT
    # On Security Hub ELB.17's sslPolicies list (the non-Res TLS13-1-2-2021-06 is not).
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    assert https["defaultActions"][0]["type"] == "fixed-response"  # only /v1/* is forwarded (test_alb_routing)
    redirect = listeners[80]["defaultActions"][0]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}
    assert run.outputs["endpointUrl"].startswith("https://")
    alb_rules = [r.inputs for r in run.of_type(INGRESS) if "-alb-in-" in r.name]
    assert sorted((r["fromPort"], r["cidrIpv4"]) for r in alb_rules) == [(80, "10.0.0.0/8"), (443, "10.0.0.0/8")]


HTTP_ONLY = {"deepseek-cloud:serving.allowedCidrs": ["10.0.0.0/8"]}  # the run test_alb_routing's dev+http reads


def test_http_only_without_certificate() -> None:
    run = shared_run("dev", HTTP_ONLY)
    [listener] = run.of_type(LISTENER)
    assert listener.inputs["port"] == 80 and listener.inputs["protocol"] == "HTTP"
    assert listener.inputs["defaultActions"][0]["fixedResponse"]["statusCode"] == "404"
    assert run.outputs["endpointUrl"].startswith("http://")
    alb_rules = [r.inputs for r in run.of_type(INGRESS) if "-alb-in-" in r.name]
    assert [(r["fromPort"], r["cidrIpv4"]) for r in alb_rules] == [(80, "10.0.0.0/8")]


def test_security_groups_alb_to_tasks_only_and_every_rule_described() -> None:
    run = shared_run("dev", HTTP_ONLY)  # with a client CIDR, so that the ALB has rules to describe
    alb_sg = run.by_name("ds-dev-vllm-alb")
    assert alb_sg.type == "aws:ec2/securityGroup:SecurityGroup"
    assert alb_sg.inputs["tags"]["deepseek:role"] == "load-balancer"
    [from_alb] = [r.inputs for r in run.of_type(INGRESS) if r.name == "ds-dev-vllm-tasks-from-alb"]
    [to_tasks] = [r.inputs for r in run.of_type(EGRESS) if r.name == "ds-dev-vllm-alb-to-tasks"]
    assert (from_alb["fromPort"], from_alb["toPort"], from_alb["ipProtocol"]) == (8000, 8000, "tcp")
    assert from_alb["securityGroupId"] == to_tasks["referencedSecurityGroupId"]
    assert to_tasks["securityGroupId"] == from_alb["referencedSecurityGroupId"]
    assert "cidrIpv4" not in from_alb
    rules = run.of_type(INGRESS) + run.of_type(EGRESS)
    assert rules and all(r.inputs.get("description") for r in rules)


def test_load_balancer_and_access_log_bucket() -> None:
    run = shared_run("dev")
    alb = run.one("aws:lb/loadBalancer:LoadBalancer").inputs
    assert alb["dropInvalidHeaderFields"] is True and alb["internal"] is False
    assert alb["idleTimeout"] == 600 and alb["enableDeletionProtection"] is False
    assert alb["subnets"] == run.outputs["publicSubnetIds"]
    assert alb["accessLogs"]["enabled"] is True and alb["accessLogs"]["prefix"] == "alb"
    sse = run.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", under="ModelService"
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}  # SSE-S3 only
    pab = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", under="ModelService").inputs
    assert all(pab[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert (
        run.one("aws:s3/bucketVersioning:BucketVersioning", under="ModelService").inputs["versioningConfiguration"][
            "status"
        ]
        == "Enabled"
    )
    [rule] = run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", under="ModelService").inputs[
        "rules"
    ]
    assert rule["expiration"]["days"] == 30
    policy = json.loads(run.one("aws:s3/bucketPolicy:BucketPolicy", under="ModelService").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ElbAccessLogDelivery"]["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}  # us-east-1 ELB
    assert by_sid["ElbAccessLogDelivery"]["Resource"].endswith("/alb/AWSLogs/123456789012/*")
    assert by_sid["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_log_group_is_named_encrypted_and_kept_by_environment() -> None:
    dev = shared_run("dev").by_name("ds-dev-vllm-logs").inputs
    assert (dev["name"], dev["retentionInDays"]) == ("/deepseek/dev/vllm", 30)
    prod = shared_run("prod")
    group = prod.by_name("ds-prod-vllm-logs").inputs
    assert (group["name"], group["retentionInDays"]) == ("/deepseek/prod/vllm", 365)
    assert group["kmsKeyId"] == prod.one("aws:kms/key:Key").outputs["arn"]
    assert prod.one("aws:lb/loadBalancer:LoadBalancer").inputs["enableDeletionProtection"] is True


def test_prod_is_three_azs_32b_on_demand_base_with_spot_above() -> None:
    run = shared_run("prod")
    assert run.outputs["sizing"]["model"] == "deepseek-r1-distill-qwen-32b"
    assert run.outputs["sizing"]["tensorParallelSize"] == 2
    assert len(run.outputs["privateSubnetIds"]) == 3
    d = run.one("aws:autoscaling/group:Group").inputs["mixedInstancesPolicy"]["instancesDistribution"]
    assert (d["onDemandBaseCapacity"], d["onDemandPercentageAboveBaseCapacity"]) == (1, 50)
    target = run.one("aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 10)
    # An API needs no redirect: prod listens on 443 only (ELB.18), and its security group opens only 443.
    assert [(lst.inputs["port"], lst.inputs["protocol"]) for lst in run.of_type(LISTENER)] == [(443, "HTTPS")]
    assert {r.inputs["fromPort"] for r in run.of_type(INGRESS) if "-alb-in-" in r.name} == {443}


def test_model_change_changes_the_plan() -> None:
    base = container(shared_run("dev"))
    other = container(run_program("dev", overrides={"deepseek-cloud:model.name": "deepseek-r1-distill-llama-8b"}))
    assert other["command"][0].endswith(
        "/deepseek-ai/DeepSeek-R1-Distill-Llama-8B/6a6f4aa4197940add57724a7707d069478df56b1"
    )
    assert other["command"][0] != base["command"][0]


def test_outputs_of_build_ecs() -> None:
    run = shared_run("dev")
    for key in ("endpointUrl", "clusterName", "serviceName", "logGroupName", "asgName", "apiKeySecretArn"):
        assert run.outputs[key], key
    assert run.outputs["logGroupName"] == "/deepseek/dev/vllm"
    assert run.outputs["asgName"] == run.one("aws:autoscaling/group:Group").outputs["name"]


def test_queue_depth_from_zero_on_ecs_is_a_config_error() -> None:
    """queueDepth works on ECS (tests/test_ecs_metrics.py), but not from zero tasks: refused, one line each."""
    with pytest.raises(ConfigError) as caught:
        run_program(
            "dev", overrides={"deepseek-cloud:scaling.metric": "queueDepth", "deepseek-cloud:scaling.minReplicas": 0}
        )
    assert str(caught.value).splitlines()[1:] == [
        "deepseek-cloud:scaling.minReplicas: queueDepth on ECS cannot scale from zero: at zero tasks no task "
        "reports a queue (or use scaling.metric qps) (got 0; allowed: ≥ 1 with queueDepth on ECS)"
    ]
    # Reported with the other config problems, before anything (not even the network) is declared.
    assert settings.SETTINGS.monitor.registrations == []
    # A schedule rule may switch the service off (maxReplicas 0, dev's nights) but not leave it at zero
    # with room to grow: nothing would wake it.
    with pytest.raises(ConfigError) as caught:
        run_program(
            "dev",
            overrides={
                "deepseek-cloud:scaling.metric": "queueDepth",
                "deepseek-cloud:scaling.schedule": [
                    {"name": "nights", "cron": "cron(0 19 ? * MON-FRI *)", "minReplicas": 0, "maxReplicas": 0},
                    {"name": "mornings", "cron": "cron(0 7 ? * MON-FRI *)", "minReplicas": 0, "maxReplicas": 2},
                ],
            },
        )
    assert str(caught.value).splitlines()[1:] == [
        "deepseek-cloud:scaling.schedule[1].minReplicas: queueDepth on ECS cannot scale from zero: at zero tasks "
        "no task reports a queue; a rule may scale to zero only with maxReplicas 0 (off) (got 0; allowed: ≥ 1, or "
        "maxReplicas 0)"
    ]


def test_dev_scales_to_zero_off_hours() -> None:
    run = shared_run("dev")
    actions = run.of_type("aws:appautoscaling/scheduledAction:ScheduledAction")
    nights = next(a.inputs for a in actions if a.name.endswith("nights"))
    assert nights["schedule"] == "cron(0 19 ? * MON-FRI *)"
    assert nights["scalableTargetAction"] == {"minCapacity": 0.0, "maxCapacity": 0.0}


def named(run, type_token: str, name: str):
    [found] = [r for r in run.of_type(type_token) if r.name == name]
    return found


def test_vllm_runs_as_non_root_on_a_read_only_root_with_writable_caches_only() -> None:
    run = shared_run("prod")
    c = container(run)
    assert (c["user"], c["readonlyRootFilesystem"]) == ("2000", True)
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env["HOME"] == "/tmp" and env["USER"] == "vllm"
    cache_dirs = ("HF_HOME", "VLLM_CACHE_ROOT", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "XDG_CACHE_HOME")
    assert all(env[k].startswith("/var/cache/vllm/") for k in cache_dirs)
    assert c["mountPoints"] == [{"sourceVolume": "vllm-cache", "containerPath": "/var/cache/vllm", "readOnly": False}]
    assert c["linuxParameters"]["tmpfs"] == [
        {"containerPath": "/tmp", "size": 4096, "mountOptions": ["rw", "nosuid", "nodev"]}
    ]
    task = run.one("aws:ecs/taskDefinition:TaskDefinition", under="ModelService").inputs
    assert task["volumes"] == [{"name": "vllm-cache", "hostPath": "/var/lib/deepseek/vllm-cache"}]
    user_data = base64.b64decode(run.one("aws:ec2/launchTemplate:LaunchTemplate").inputs["userData"]).decode()
    assert "install -d -o 2000 -g 2000 -m 0700 /var/lib/deepseek/vllm-cache\n" in user_data


def test_vpc_flow_logs_are_encrypted_kept_by_environment_and_written_by_a_scoped_role() -> None:
    for stack, days in (("dev", 30), ("prod", 365)):
        run = shared_run(stack)
        group = run.by_name(f"ds-{stack}-flow-logs-logs").inputs
        assert (group["name"], group["retentionInDays"]) == (f"/deepseek/{stack}/vpc-flow-logs", days)
        assert group["kmsKeyId"] == run.one("aws:kms/key:Key").outputs["arn"]
        flow = run.one("aws:ec2/flowLog:FlowLog").inputs
        assert (flow["trafficType"], flow["logDestinationType"]) == ("ALL", "cloud-watch-logs")
        assert flow["vpcId"] == run.outputs["vpcId"]
    policy = json.loads(
        named(shared_run("prod"), "aws:iam/rolePolicy:RolePolicy", "ds-prod-flow-logs-role").inputs["policy"]
    )
    [statement] = policy["Statement"]
    group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/deepseek/prod/vpc-flow-logs"
    assert statement["Resource"] == [group_arn, f"{group_arn}:log-stream:*"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
