"""vLLM's metrics on ECS (components/ecs/metrics_sidecar.py): the ADOT collector sidecar in the vLLM task,
its configuration (the generator EKS uses, components/shared/metrics_collector.py), its least-privilege
write grant, the dashboard panels that read what it writes, and queue-depth target tracking
(components/ecs/autoscaling.py). Reads dev's shared run (and one queueDepth variant of it)."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from offline.harness import engine_inputs, shared_run
from offline.iam_eval import Request, is_allowed
from tests.test_dashboard import dashboard_problems
from tests.test_ecs_validation import _scaling_params, input_shape, shape_problems, task_definition_params
from tests.test_eks_serving import k8s_collector

STACK = "dev"
QUEUE_DEPTH = {"deepseek-cloud:scaling.metric": "queueDepth"}  # dev's schedule keeps min ≥ 1 unless off
TASK_DEF = "aws:ecs/taskDefinition:TaskDefinition"
VLLM_SERIES = ("vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:time_to_first_token_seconds")


def containers(overrides: dict | None = None) -> dict[str, dict[str, Any]]:
    run = shared_run(STACK, overrides)
    definitions = json.loads(run.one(TASK_DEF, under="ModelService").inputs["containerDefinitions"])
    return {c["name"]: c for c in definitions}


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


def sidecar_config() -> dict[str, Any]:
    return yaml.safe_load(env(containers()["adot-collector"])["AOT_CONFIG_CONTENT"])


def cluster_name(run) -> str:
    return run.one("aws:ecs/cluster:Cluster").outputs["name"]


# --- the sidecar in the task definition ------------------------------------------------------------------


def test_sidecar_is_non_essential_non_root_read_only_and_never_delays_vllm():
    c = containers()
    assert list(c) == ["vllm", "adot-collector"]
    sidecar = c["adot-collector"]
    # The EKS collector's image (stacks/versions.py ADOT_COLLECTOR_IMAGE), pinned.
    assert sidecar["image"] == "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
    assert sidecar["essential"] is False and c["vllm"]["essential"] is True
    assert sidecar["user"] == "4317" and sidecar["readonlyRootFilesystem"] is True
    assert sidecar["linuxParameters"]["tmpfs"][0]["containerPath"] == "/tmp"
    # The sidecar waits for vLLM to start; vLLM waits for nothing.
    assert sidecar["dependsOn"] == [{"containerName": "vllm", "condition": "START"}]
    assert "dependsOn" not in c["vllm"]
    assert sidecar["command"] == ["--config=env:AOT_CONFIG_CONTENT"]
    assert sidecar["logConfiguration"]["options"]["awslogs-group"] == "/deepseek/dev/vllm"
    assert sidecar["logConfiguration"]["options"]["awslogs-stream-prefix"] == "adot-collector"


def test_sidecar_reservation_comes_out_of_the_tasks_budget():
    c = containers()
    # g6e.xlarge / g5.2xlarge, 32 GiB: 32768 x 0.9 - 1024 = 28467 MiB per task (stacks/ecs.py): the task
    # as a whole reserves exactly that, so it still fits the instance next to the ECS agent's reserve.
    assert c["vllm"]["memoryReservation"] + c["adot-collector"]["memoryReservation"] == 28467
    assert c["adot-collector"]["memoryReservation"] == 128 and c["adot-collector"]["cpu"] == 64
    assert c["vllm"]["linuxParameters"]["sharedMemorySize"] <= c["vllm"]["memoryReservation"]


def test_task_definition_with_the_sidecar_matches_register_task_definition():
    params = task_definition_params(shared_run(STACK))
    shape = input_shape("ecs", "RegisterTaskDefinition")
    assert shape_problems(params, shape) == []
    # The check can fail on the sidecar: an unknown dependsOn condition is refused.
    bad = copy.deepcopy(params)
    bad["containerDefinitions"][1]["dependsOn"][0]["condition"] = "STARTED"
    assert any("STARTED" in p for p in shape_problems(bad, shape))


def test_config_holds_no_secret_and_dimension_is_the_tasks_cluster():
    run = shared_run(STACK)
    e = env(containers()["adot-collector"])
    assert set(e) == {"AOT_CONFIG_CONTENT", "OTEL_RESOURCE_ATTRIBUTES", "AWS_REGION"}
    assert "secrets" not in containers()["adot-collector"]
    assert e["OTEL_RESOURCE_ATTRIBUTES"] == f"ClusterName={cluster_name(run)}"
    for secret in (run.by_name("ds-dev-vllm-vllm-api-key"), run.by_name("ds-dev-vllm-hf-token")):
        assert secret.outputs["arn"] not in e["AOT_CONFIG_CONTENT"]
    assert "api-key" not in e["AOT_CONFIG_CONTENT"] and "token" not in e["AOT_CONFIG_CONTENT"].replace(
        "time_to_first_token", ""
    )


# --- one generator for both platforms -----------------------------------------------------------------------


def test_collector_config_is_the_eks_generators_for_the_same_series():
    ecs = sidecar_config()
    eks = yaml.safe_load(k8s_collector("ConfigMap")["data"]["config.yaml"])
    # Same pipeline, processors and exporter settings; only the scrape discovery, the namespace, the log
    # group and EKS's extra GPU series differ.
    assert ecs["service"] == eks["service"] and ecs["processors"] == eks["processors"]
    assert ecs["receivers"]["prometheus"]["config"]["global"] == eks["receivers"]["prometheus"]["config"]["global"]
    ecs_emf, eks_emf = ecs["exporters"]["awsemf"], eks["exporters"]["awsemf"]
    assert set(ecs_emf) == set(eks_emf)
    same = {"log_stream_name", "resource_to_telemetry_conversion", "dimension_rollup_option", "region"}
    assert {k: ecs_emf[k] for k in same} == {k: eks_emf[k] for k in same}
    assert (ecs_emf["namespace"], eks_emf["namespace"]) == ("DeepSeek/ECS", "DeepSeek/EKS")
    assert ecs_emf["log_group_name"] == "/deepseek/dev/vllm/metrics"
    (ecs_decl,), (eks_decl,) = ecs_emf["metric_declarations"], eks_emf["metric_declarations"]
    assert ecs_decl["dimensions"] == eks_decl["dimensions"] == [["ClusterName"]]
    assert ecs_decl["metric_name_selectors"] == eks_decl["metric_name_selectors"][:3]
    assert ecs_decl["metric_name_selectors"] == [f"^{m}$" for m in VLLM_SERIES]
    # The vLLM job: the task's own vLLM over localhost on its API port, the same series kept as on EKS.
    (ecs_job,) = ecs["receivers"]["prometheus"]["config"]["scrape_configs"]
    eks_job = next(j for j in eks["receivers"]["prometheus"]["config"]["scrape_configs"] if j["job_name"] == "vllm")
    assert ecs_job["static_configs"] == [{"targets": ["localhost:8000"]}]
    assert ecs_job["metric_relabel_configs"] == eks_job["metric_relabel_configs"]
    assert containers()["vllm"]["portMappings"][0]["containerPort"] == 8000


# --- least privilege -----------------------------------------------------------------------------------------


def test_task_role_may_write_emf_to_its_one_log_group_only():
    run = shared_run(STACK)
    group = run.by_name("ds-dev-vllm-metrics-emf")
    inputs = engine_inputs(group)
    assert inputs["name"] == "/deepseek/dev/vllm/metrics"
    assert inputs["retentionInDays"] == 30 and inputs["kmsKeyId"].startswith("arn:aws:kms:")
    role_name = run.by_name("ds-dev-vllm-task").outputs["name"]
    policies = [
        json.loads(p.inputs["policy"])
        for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] == role_name and p.name != "ds-dev-vllm-read-model"
    ]
    arn = group.outputs["arn"]
    stream = f"{arn}:log-stream:adot-collector"
    for action in ("logs:PutLogEvents", "logs:CreateLogStream", "logs:DescribeLogStreams"):
        assert is_allowed(policies, Request(action, stream)), action
    other = "arn:aws:logs:us-east-1:123456789012:log-group:/deepseek/dev/vllm:log-stream:x"
    assert not is_allowed(policies, Request("logs:PutLogEvents", other))
    assert not is_allowed(policies, Request("logs:CreateLogGroup", arn))
    assert not is_allowed(policies, Request("logs:DeleteLogGroup", arn))
    assert not is_allowed(policies, Request("cloudwatch:PutMetricData", "*"))


# --- what the dashboard reads is what the collector writes ---------------------------------------------------


def test_dashboard_vllm_panels_read_the_namespace_and_dimension_the_sidecar_writes():
    run = shared_run(STACK)
    body = json.loads(engine_inputs(run.one("aws:cloudwatch/dashboard:Dashboard"))["dashboardBody"])
    assert dashboard_problems(body) == []
    panels = {w["properties"].get("title"): w["properties"] for w in body["widgets"] if w["type"] == "metric"}
    emf = sidecar_config()["exporters"]["awsemf"]
    written = {s.strip("^$") for s in emf["metric_declarations"][0]["metric_name_selectors"]}
    dims = ["ClusterName", cluster_name(run)]
    read = set()
    for title in ("Queue depth (requests waiting)", "KV-cache usage (%)", "Time to first token (s, mean)"):
        for metric in panels[title]["metrics"]:
            if isinstance(metric[0], str):
                assert metric[0] == emf["namespace"] and metric[2:4] == dims, title
                read.add(metric[1])
    assert read == written == set(VLLM_SERIES)
    # GPU utilization stays the CloudWatch agent's per-ASG series (one GPU panel, no DeepSeek/ECS GPU series).
    assert panels["GPU utilization (%)"]["metrics"][0][:3] == [
        "CWAgent",
        "nvidia_smi_utilization_gpu",
        "AutoScalingGroupName",
    ]


# --- queue-depth target tracking -----------------------------------------------------------------------------


def test_queue_depth_policy_divides_waiting_requests_by_running_tasks():
    run = shared_run(STACK, QUEUE_DEPTH)
    (policy,) = run.of_type("aws:appautoscaling/policy:Policy")
    assert policy.name == "ds-dev-vllm-scaling-queue-depth"
    config = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert config["targetValue"] == 5  # scaling.targetQueueDepthPerReplica (Pulumi.yaml default)
    assert "predefinedMetricSpecification" not in config
    waiting, running, per_task = config["customizedMetricSpecification"]["metrics"]
    cluster = cluster_name(run)
    emf = yaml.safe_load(env(containers(QUEUE_DEPTH)["adot-collector"])["AOT_CONFIG_CONTENT"])["exporters"]["awsemf"]
    assert waiting["metricStat"] == {
        "metric": {
            "namespace": emf["namespace"],
            "metricName": "vllm:num_requests_waiting",
            "dimensions": [{"name": "ClusterName", "value": cluster}],
        },
        "stat": "Sum",
    }
    assert running["metricStat"] == {
        "metric": {
            "namespace": "ECS/ContainerInsights",
            "metricName": "RunningTaskCount",
            "dimensions": [
                {"name": "ClusterName", "value": cluster},
                {"name": "ServiceName", "value": run.one("aws:ecs/service:Service").outputs["name"]},
            ],
        },
        "stat": "Average",
    }
    assert waiting["returnData"] is False and running["returnData"] is False
    assert per_task == {
        "id": "perTask",
        "expression": "waiting / running",
        "label": "requests waiting per task",
        "returnData": True,
    }
    # Container Insights (RunningTaskCount) is on for the service's cluster.
    assert {"name": "containerInsights", "value": "enhanced"} in run.one("aws:ecs/cluster:Cluster").inputs["settings"]


def test_queue_depth_policy_matches_put_scaling_policy():
    run = shared_run(STACK, QUEUE_DEPTH)
    target, policy = _scaling_params(
        run.one("aws:appautoscaling/target:Target").inputs, run.one("aws:appautoscaling/policy:Policy").inputs
    )
    assert shape_problems(target, input_shape("application-autoscaling", "RegisterScalableTarget")) == []
    shape = input_shape("application-autoscaling", "PutScalingPolicy")
    assert shape_problems(policy, shape) == []
    bad = copy.deepcopy(policy)
    bad["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]["Metrics"][2]["ReturnData"] = "yes"
    assert shape_problems(bad, shape) != []


def test_plan_shows_the_queue_depth_expression_and_the_sidecar():
    from offline.plan import _key_inputs

    run = shared_run(STACK, QUEUE_DEPTH)
    policy = run.one("aws:appautoscaling/policy:Policy")
    assert _key_inputs(policy.inputs, type_token=policy.type).startswith(
        "expression=['waiting / running'], targetValue=5"
    )
    task = run.one(TASK_DEF, under="ModelService")
    assert _key_inputs(task.inputs, type_token=task.type).endswith(
        "adot-collector: image=public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0, GPUs=0, "
        "memoryReservation=128"
    )
