"""The vLLM workload on EKS (issue 12): same server as ECS, secrets never in a manifest, drain inside the
spot notice, the shared Endpoint bound through a TargetGroupBinding, KEDA on the aggregated queue depth,
and the EKS stack's alarms and dashboard checked against CloudWatch's API like ECS's."""

from __future__ import annotations

import json
import math
import re

import pytest
import yaml

from components.eks import autoscaling, workload
from components.shared import vllm
from offline.harness import engine_inputs, shared_run
from stacks import cold_start
from tests.test_dashboard import dashboard_problems
from tests.test_inference_alarms import (
    CLOUDWATCH,
    EVENTS,
    alarm_semantics,
    api_problems,
    put_composite_alarm_params,
    put_metric_alarm_params,
    put_rule_params,
    put_targets_params,
)

STACK = "eks-dev"
COLLECTOR = "deepseek:eks:CloudWatchMetrics$"  # its Deployment etc. are not the serving objects
PREFIX_7B = "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B/916b56a44061fd5cd7d6a8fb632557ed4f724f60"
# eks-dev's model and GPUs served by ECS: only the platform and what ECS refuses (queue depth from zero
# replicas, eks-dev's minReplicas 0) change.
AS_ECS = {"deepseek-cloud:platform": "ecs", "deepseek-cloud:scaling": {"metric": "qps"}}


def k8s(kind: str, stack: str = STACK, overrides: dict | None = None) -> dict:
    run = shared_run(stack, overrides)
    (reg,) = [
        r
        for r in run.registrations
        if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}") and COLLECTOR not in r.urn
    ]
    return engine_inputs(reg)


def k8s_collector(kind: str, stack: str = STACK) -> dict:
    (reg,) = [r for r in shared_run(stack).registrations if r.type.endswith(f":{kind}") and COLLECTOR in r.urn]
    return engine_inputs(reg)


ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def pod(stack: str = STACK) -> dict:
    return k8s("Deployment", stack)["spec"]["template"]["spec"]


def test_vllm_arguments_are_identical_on_ecs_and_eks_for_the_same_model_and_gpu():
    ecs_run = shared_run(STACK, AS_ECS)
    (task,) = [r for r in ecs_run.of_type("aws:ecs/taskDefinition:TaskDefinition") if r.name.endswith("-vllm-task")]
    ecs_container, _metrics_sidecar = json.loads(engine_inputs(task)["containerDefinitions"])
    (eks_container,) = pod()["containers"]
    assert eks_container["args"] == ecs_container["command"]
    # Both run the image built from images/vllm/Dockerfile into the stack's ECR repository, by digest.
    assert eks_container["image"] == ecs_container["image"]
    assert re.fullmatch(
        r"123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com/deepseek/eks-dev/vllm@sha256:[0-9a-f]{64}",
        eks_container["image"],
    )
    # eks-dev streams the pinned revision of the 7B distill from its model bucket (model.loadFrom: s3).
    assert eks_container["args"][0].startswith("s3://")
    assert eks_container["args"][0].endswith(f"/{PREFIX_7B}")
    assert eks_container["args"][1] == "--served-model-name"
    assert eks_container["args"][eks_container["args"].index("--load-format") + 1] == "runai_streamer"
    env = {e["name"]: e["value"] for e in eks_container["env"]}
    assert env == {e["name"]: e["value"] for e in ecs_container["environment"]}
    assert env["RUNAI_STREAMER_CONCURRENCY"] == "16" and env["AWS_REGION"] == "us-east-1"


def test_pod_reserves_tp_gpus_on_gpu_nodes_non_root_read_only():
    spec = pod()
    (c,) = spec["containers"]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "1"  # TP 1 for the 7B distill
    assert c["args"][c["args"].index("--tensor-parallel-size") + 1] == "1"
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert spec["securityContext"]["runAsUser"] == int(vllm.CONTAINER_USER) == 2000
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    assert {m["mountPath"] for m in c["volumeMounts"]} == {"/dev/shm", "/tmp", vllm.CACHE_ROOT, "/mnt/secrets"}


def test_drain_fits_the_spot_notice_and_matches_the_load_balancer():
    spec = pod()
    (c,) = spec["containers"]
    deregistration = engine_inputs(shared_run(STACK).one("aws:lb/targetGroup:TargetGroup"))["deregistrationDelay"]
    assert c["lifecycle"]["preStop"]["sleep"]["seconds"] == deregistration == 80
    assert spec["terminationGracePeriodSeconds"] == 80 + 30 < 120
    assert c["args"][c["args"].index("--shutdown-timeout") + 1] == "25"


def test_startup_probe_covers_the_load_estimate():
    (c,) = pod()["containers"]
    startup = c["startupProbe"]
    assert startup["httpGet"] == {"path": "/health", "port": 8000}
    window = startup["periodSeconds"] * startup["failureThreshold"]
    # eks-dev: 15.23 GB streamed from S3 on a fresh g6e.xlarge (6.09 s) + engine start 18.1 s = 24.19 s; the
    # same per-phase estimate the plan prints (stacks/cold_start.py) sizes ECS's health-check grace.
    estimate = math.ceil(cold_start.fresh(shared_run(STACK).program_globals["context"]).container)
    assert estimate == 25
    assert window >= vllm.health_check_grace_seconds(estimate) == 60
    # From the Hub the download dominates: 181.3 s + 18.1 s.
    hub = {"deepseek-cloud:model.loadFrom": "hub"}
    hub_estimate = math.ceil(cold_start.fresh(shared_run(STACK, hub).program_globals["context"]).container)
    assert hub_estimate == 200
    (hub_c,) = k8s("Deployment", overrides=hub)["spec"]["template"]["spec"]["containers"]
    hub_window = hub_c["startupProbe"]["periodSeconds"] * hub_c["startupProbe"]["failureThreshold"]
    assert hub_window >= vllm.health_check_grace_seconds(hub_estimate) == 300
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"


def test_secrets_come_from_the_csi_driver_never_from_a_manifest():
    (c,) = pod()["containers"]
    assert all(e["name"] not in (vllm.API_KEY_ENV, vllm.HF_TOKEN_ENV) for e in c["env"])
    assert c["command"][:2] == ["/bin/sh", "-c"] and "exec vllm serve" in c["command"][2]
    run = shared_run(STACK)
    (spc,) = [
        engine_inputs(r)["spec"]
        for r in run.registrations
        if r.type.endswith(":SecretProviderClass") and engine_inputs(r)["metadata"]["name"] == "vllm-secrets"
    ]
    assert spc["provider"] == "aws" and spc["parameters"]["usePodIdentity"] == "true"
    assert "arn:aws:secretsmanager:us-east-1:" in spc["parameters"]["objects"]
    kinds = {r.type for r in run.registrations}
    assert "kubernetes:core/v1:Secret" not in kinds
    association = next(
        engine_inputs(r)
        for r in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if engine_inputs(r)["serviceAccount"] == "vllm"
    )
    assert association["namespace"] == "deepseek-serving"


def test_secrets_role_reads_the_two_secrets_only():
    run = shared_run(STACK)
    docs = [json.loads(engine_inputs(r)["policy"]) for r in run.of_type("aws:iam/rolePolicy:RolePolicy")]
    doc = next(d for d in docs if d["Statement"][0].get("Sid") == "ReadTheTwoSecrets")
    actions = {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "kms:Decrypt"}
    assert len(doc["Statement"][0]["Resource"]) == 2


def test_target_group_binding_registers_pods_into_the_shared_endpoint():
    run = shared_run(STACK)
    tg = run.one("aws:lb/targetGroup:TargetGroup")
    tgb = k8s("TargetGroupBinding")["spec"]
    assert tgb["targetGroupARN"] == tg.outputs["arn"] and tgb["targetType"] == "ip"
    assert engine_inputs(tg)["targetType"] == "ip"
    assert tgb["serviceRef"] == {"name": "vllm", "port": 8000}
    assert k8s("Service")["spec"]["selector"] == {"app.kubernetes.io/name": "vllm"}
    assert k8s("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_scaled_object_scales_on_the_aggregated_queue_and_wakes_on_alb_503s():
    spec = k8s("ScaledObject")["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "vllm"}
    assert spec["minReplicaCount"] == 0 and spec["maxReplicaCount"] == 2
    queue, wake = spec["triggers"]
    assert queue["type"] == "prometheus"
    assert queue["metadata"]["query"] == 'sum(vllm:num_requests_waiting{namespace="deepseek-serving"})'
    assert queue["metadata"]["threshold"] == "5"  # scaling.targetQueueDepthPerReplica default
    assert queue["metadata"]["serverAddress"].startswith("https://aps-workspaces.us-east-1.amazonaws.com/workspaces/")
    assert not queue["metadata"]["serverAddress"].endswith("/")
    assert wake["metadata"]["metricName"] == "HTTPCode_ELB_503_Count"
    assert wake["metadata"]["activationTargetMetricValue"] == "0"
    assert k8s("TriggerAuthentication")["spec"] == {"podIdentity": {"provider": "aws", "identityOwner": "keda"}}


def test_qps_metric_on_eks_scales_on_alb_requests_per_replica():
    overrides = {"deepseek-cloud:scaling": {"metric": "qps", "targetQpsPerReplica": 2}}
    load = k8s("ScaledObject", overrides=overrides)["spec"]["triggers"][0]
    assert load["type"] == "aws-cloudwatch" and load["metadata"]["metricName"] == "RequestCount"
    assert load["metadata"]["targetMetricValue"] == "120"  # requests a minute per replica
    assert load["metadata"]["dimensionName"] == "TargetGroup;LoadBalancer"


SCHEDULE = [
    {"name": "nights", "cron": "cron(0 19 ? * MON-FRI *)", "minReplicas": 0, "maxReplicas": 0},
    {"name": "mornings", "cron": "cron(0 7 ? * MON-FRI *)", "minReplicas": 1, "maxReplicas": 2},
]
SCHEDULED = {
    "deepseek-cloud:scaling": {"metric": "queueDepth", "minReplicas": 0, "maxReplicas": 2, "schedule": SCHEDULE}
}


def test_schedule_becomes_cron_windows_with_the_rules_min_and_max():
    spec = k8s("ScaledObject", overrides=SCHEDULED)["spec"]
    crons = {t["name"]: t["metadata"] for t in spec["triggers"] if t["type"] == "cron"}
    day = {"timezone": "Etc/UTC", "start": "0 7 * * MON-FRI", "end": "0 19 * * MON-FRI"}
    night = {"timezone": "Etc/UTC", "start": "0 19 * * MON-FRI", "end": "0 7 * * MON-FRI"}
    # mornings: minReplicas 1 (its maxReplicas 2 = scaling.maxReplicas: no cap); nights: maxReplicas 0 → cap
    # trigger reading 0 + 1 in the window (a cron trigger's desiredReplicas must be ≥ 1).
    assert crons == {"min_1": {**day, "desiredReplicas": "1"}, "cap_0": {**night, "desiredReplicas": "1"}}
    assert [t["name"] for t in spec["triggers"]] == ["load", "wake", "cap_0", "min_1"]
    assert spec["maxReplicaCount"] == 2 and spec["minReplicaCount"] == 0
    from tests.test_eks_validation import validate_custom  # the KEDA v2.20.2 CRD schema

    validate_custom(k8s("ScaledObject", overrides=SCHEDULED))
    assert spec["advanced"]["scalingModifiers"] == {
        "formula": "min(max(ceil(load / 5), max(min(ceil(wake), 1), min_1)), 2 - min(cap_0, 1) * (3 - cap_0))",
        "target": "1",
        "activationTarget": "0",
        "metricType": "AverageValue",
    }


def _replicas(formula: str, **triggers: float) -> int:
    """HPA's count for an AverageValue target of 1: ceil(formula), then KEDA's maxReplicaCount (2)."""
    value = eval(formula, {"__builtins__": {}}, {"ceil": math.ceil, "min": min, "max": max, **triggers})
    return min(math.ceil(value), 2)


@pytest.mark.parametrize(
    ("when", "load", "wake", "min_1", "cap_0", "replicas"),
    [
        ("night, idle", 0, 0, 0, 1, 0),
        ("night, a queue of 40", 40, 0, 0, 1, 0),  # nights' maxReplicas 0 holds
        ("night, 503s from the ALB", 0, 7, 0, 1, 0),  # ... against the wake trigger too
        ("day, idle", 0, 0, 1, 0, 1),  # mornings' minReplicas
        ("day, a queue of 6", 6, 0, 1, 0, 2),  # ceil(6 / 5)
        ("day, a queue of 40", 40, 0, 1, 0, 2),  # maxReplicaCount
        ("day, wake from zero", 0, 3, 0, 0, 1),
    ],
)
def test_the_schedule_formula_holds_each_windows_min_and_max(when, load, wake, min_1, cap_0, replicas):
    spec = k8s("ScaledObject", overrides=SCHEDULED)["spec"]
    formula = spec["advanced"]["scalingModifiers"]["formula"]
    assert _replicas(formula, load=load, wake=wake, min_1=min_1, cap_0=cap_0) == replicas, when


def test_no_scaling_modifiers_without_a_capped_window():
    spec = k8s("ScaledObject")["spec"]  # eks-dev: no schedule
    assert "scalingModifiers" not in spec["advanced"]
    assert [t["name"] for t in spec["triggers"]] == ["queue-depth", "httpcode-elb-503-count"]


@pytest.mark.parametrize(
    ("aws_cron", "standard"),
    [("cron(0 19 ? * MON-FRI *)", "0 19 * * MON-FRI"), ("cron(30 6 ? * 2-6 *)", "30 6 * * 1-5")],
)
def test_aws_cron_to_standard_cron(aws_cron, standard):
    assert autoscaling.standard_cron(aws_cron) == standard


def test_scraper_reads_vllm_metrics_into_the_workspace():
    run = shared_run(STACK)
    registration = run.one("aws:amp/scraper:Scraper")
    scraper = engine_inputs(registration)
    # Wired to the workspace's and the cluster's ARNs (their values come from offline/arns.py's mock ARNs).
    assert run.one("aws:amp/workspace:Workspace").urn in registration.property_dependencies["destination"]
    assert run.one("aws:eks/cluster:Cluster").urn in registration.property_dependencies["source"]
    assert scraper["source"]["eks"]["securityGroupIds"] == [
        run.one("aws:eks/cluster:Cluster").outputs["vpcConfig"]["clusterSecurityGroupId"]
    ]
    config = autoscaling.yaml.safe_load(scraper["scrapeConfiguration"])
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["deepseek-serving"]}}]
    assert job["metric_relabel_configs"][0]["regex"] == "vllm:.*"


def test_eks_alarms_are_valid_cloudwatch_requests():
    run = shared_run(STACK)
    alarms = run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    # No ASG on EKS: the ALB alarms and the GPU utilization ones from the collector's DCGM series (eks-dev
    # keeps no replica at night: no "no healthy host"; no ASG: no "pool below minimum").
    assert sorted(engine_inputs(a)["name"].rsplit("-alarms-", 1)[1] for a in alarms) == [
        "5xx-rate",
        "gpu-utilization-high",
        "gpu-utilization-low",
        "p99-latency",
        "unhealthy-hosts",
    ]
    for reg in alarms:
        params = put_metric_alarm_params(engine_inputs(reg))
        assert api_problems(CLOUDWATCH, "PutMetricAlarm", params) + alarm_semantics(params) == [], reg.name
    (composite,) = run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    assert api_problems(CLOUDWATCH, "PutCompositeAlarm", put_composite_alarm_params(engine_inputs(composite))) == []
    # The alarm component's rules (Karpenter's interruption rules are part 1's, autonamed by the engine).
    rules = [r for r in run.of_type("aws:cloudwatch/eventRule:EventRule") if r.name.startswith("ds-eks-dev-alarms-")]
    assert sorted(r.name for r in rules) == ["ds-eks-dev-alarms-spot-interruption", "ds-eks-dev-alarms-spot-rebalance"]
    for rule in rules:
        assert api_problems(EVENTS, "PutRule", put_rule_params(engine_inputs(rule))) == [], rule.name
    targets = [
        t for t in run.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.name.startswith("ds-eks-dev-alarms-")
    ]
    assert targets, "no alarm event targets to check"
    for target in targets:
        assert api_problems(EVENTS, "PutTargets", put_targets_params(engine_inputs(target))) == [], target.name


def test_eks_alarms_watch_the_shared_endpoints_target_group():
    run = shared_run(STACK)
    tg = run.one("aws:lb/targetGroup:TargetGroup").outputs["arnSuffix"]
    p99 = next(a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name.endswith("p99-latency"))
    assert engine_inputs(p99)["dimensions"]["TargetGroup"] == tg


def test_eks_gpu_alarms_read_what_the_collector_publishes():
    from components.eks import cloudwatch_metrics as cwm

    run = shared_run(STACK)
    by_key = {engine_inputs(a)["name"].rsplit("-alarms-", 1)[1]: engine_inputs(a) for a in run.of_type(ALARM)}
    for key, comparison, threshold, period in (
        ("gpu-utilization-high", "GreaterThanThreshold", 90, 300),
        ("gpu-utilization-low", "LessThanThreshold", 10, 3600),
    ):
        alarm = by_key[key]
        assert (alarm["namespace"], alarm["metricName"]) == ("DeepSeek/EKS", "DCGM_FI_DEV_GPU_UTIL"), key
        assert alarm["dimensions"] == {"ClusterName": "ds-eks-dev"}, key
        assert (alarm["comparisonOperator"], alarm["threshold"], alarm["period"]) == (comparison, threshold, period)
        assert alarm["statistic"] == "Average" and alarm["treatMissingData"] == "notBreaching"
    # The collector publishes exactly that: the namespace, the one dimension (ClusterName from the resource
    # attribute its Deployment sets) and the metric name among its declarations.
    config = yaml.safe_load(k8s_collector("ConfigMap")["data"]["config.yaml"])
    emf = config["exporters"]["awsemf"]
    assert emf["namespace"] == "DeepSeek/EKS" and emf["dimension_rollup_option"] == "NoDimensionRollup"
    (declaration,) = emf["metric_declarations"]
    assert declaration["dimensions"] == [["ClusterName"]]
    assert "^DCGM_FI_DEV_GPU_UTIL$" in declaration["metric_name_selectors"]
    (container,) = k8s_collector("Deployment")["spec"]["template"]["spec"]["containers"]
    assert {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": "ClusterName=ds-eks-dev"} in container["env"]
    assert cwm.METRICS == (
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:time_to_first_token_seconds",
        "DCGM_FI_DEV_GPU_UTIL",
    )


def test_eks_dashboard_is_a_valid_body_with_vllm_and_gpu_panels():
    run = shared_run(STACK)
    body = json.loads(engine_inputs(run.one("aws:cloudwatch/dashboard:Dashboard"))["dashboardBody"])
    assert dashboard_problems(body) == []
    panels = {w["properties"].get("title"): w["properties"] for w in body["widgets"] if w["type"] == "metric"}
    assert "Requests per second" in panels and "GPU pool instances" not in panels
    dims = ["ClusterName", "ds-eks-dev"]
    queue = panels["Queue depth (requests waiting)"]["metrics"]
    assert queue[0][:4] == ["DeepSeek/EKS", "vllm:num_requests_waiting", *dims]
    kv = panels["KV-cache usage (%)"]["metrics"]
    assert kv[0][:4] == ["DeepSeek/EKS", "vllm:kv_cache_usage_perc", *dims]
    assert kv[2][0]["expression"] == "100 * kv"  # vLLM reports 0-1
    ttft = panels["Time to first token (s, mean)"]["metrics"]
    assert ttft == [["DeepSeek/EKS", "vllm:time_to_first_token_seconds", *dims, {"label": "mean (Sum / SampleCount)"}]]
    gpu = panels["GPU utilization (%)"]
    assert gpu["metrics"][0][:4] == ["DeepSeek/EKS", "DCGM_FI_DEV_GPU_UTIL", *dims]
    assert [a["value"] for a in gpu["annotations"]["horizontal"]] == [90, 10]


def test_workload_refuses_a_drain_longer_than_the_spot_notice():
    from components.eks.model_server import EksModelServerArgs, _validate

    args = EksModelServerArgs(
        workload=workload.Workload(drain_seconds=100),
        region="us-east-1",
        secret_grants=("a", "b"),
        kms_key_arns=("k",),
    )
    with pytest.raises(Exception, match="spot notice"):
        _validate(args)


def test_workload_refuses_s3_loading_without_a_model_uri():
    from components.eks.model_server import EksModelServerArgs, _validate

    def args(uri: str) -> EksModelServerArgs:
        server = vllm.VllmServer(load_from="s3", model_uri=uri)
        return EksModelServerArgs(
            workload=workload.Workload(server=server), region="us-east-1", secret_grants=("a", "b"), kms_key_arns=("k",)
        )

    with pytest.raises(Exception, match=r"workload\.server\.modelUri"):
        _validate(args(""))
    _validate(args("s3://bucket/deepseek-ai/x/" + "0" * 40))


# -- DeepSeek-R1 across two nodes (eks-r1) ----------------------------------------------------------


def test_r1_is_sized_across_two_p5_nodes():
    sizing = shared_run("eks-r1").program_globals["context"].sizing
    assert sizing.fits and sizing.nodes_per_replica == 2 and sizing.tensor_parallel_size == 8
    assert sizing.layout == "2 × p5.48xlarge (16 GPUs): TP 8 × PP 2"


def test_r1_replica_is_a_leader_worker_set_group_with_tp_within_and_pp_across_nodes():
    lws = k8s("LeaderWorkerSet", "eks-r1")
    template = lws["spec"]["leaderWorkerTemplate"]
    assert template["size"] == 2 and template["restartPolicy"] == "RecreateGroupOnPodRestart"
    assert lws["metadata"]["annotations"] == {
        "leaderworkerset.sigs.k8s.io/exclusive-topology": "topology.kubernetes.io/zone"
    }
    (leader,) = template["leaderTemplate"]["spec"]["containers"]
    (worker,) = template["workerTemplate"]["spec"]["containers"]
    args = leader["args"]
    assert args[args.index("--tensor-parallel-size") + 1] == "8"
    assert args[args.index("--pipeline-parallel-size") + 1] == "2"
    assert leader["resources"]["limits"]["nvidia.com/gpu"] == worker["resources"]["limits"]["nvidia.com/gpu"] == "8"
    assert "ray_address=$LWS_LEADER_ADDRESS" in worker["command"][2] and "ports" not in worker
    scaled = k8s("ScaledObject", "eks-r1")["spec"]["scaleTargetRef"]
    assert scaled == {"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet", "name": "vllm"}
    assert k8s("Service", "eks-r1")["spec"]["selector"] == {"app.kubernetes.io/name": "vllm", "role": "leader"}


def test_r1_nodes_get_a_cluster_placement_group_and_every_efa_interface():
    run = shared_run("eks-r1")
    group = run.one("aws:ec2/placementGroup:PlacementGroup")
    assert engine_inputs(group)["strategy"] == "cluster"
    spec = k8s("EC2NodeClass", "eks-r1")["spec"]
    assert spec["placementGroupSelector"] == {"name": group.outputs["name"]}
    # No static interfaces: the pods' EFA request makes Karpenter attach one `efa` interface per card
    # (components/eks/efa.py); a static `interface` on card 0 would leave 31 devices for a request of 32.
    assert "networkInterfaces" not in spec
    (p5,) = run.program_globals["context"].instances
    assert p5.instance_type == "p5.48xlarge" and p5.efa_interfaces == 32  # recorded DescribeInstanceTypes
    template = k8s("LeaderWorkerSet", "eks-r1")["spec"]["leaderWorkerTemplate"]
    for role in ("leaderTemplate", "workerTemplate"):
        (c,) = template[role]["spec"]["containers"]
        assert c["resources"]["limits"]["vpc.amazonaws.com/efa"] == "32", role
        assert c["resources"]["requests"]["vpc.amazonaws.com/efa"] == "32", role
        env = {e["name"]: e["value"] for e in c["env"]}
        assert env["FI_PROVIDER"] == "efa" and env["FI_EFA_USE_DEVICE_RDMA"] == "1", role
        assert env["RDMAV_FORK_SAFE"] == "1", role


def test_efa_device_plugin_runs_only_on_the_multi_node_stacks_gpu_nodes():
    from stacks import versions

    def efa_releases(stack: str) -> list:
        return [
            engine_inputs(r)
            for r in shared_run(stack).registrations
            if r.type == "kubernetes:helm.sh/v3:Release" and engine_inputs(r)["chart"] == versions.EFA_PLUGIN_CHART
        ]

    (release,) = efa_releases("eks-r1")
    assert release["version"] == "v0.5.30" and release["repositoryOpts"] == {"repo": "https://aws.github.io/eks-charts"}
    values = release["values"]
    assert values["supportedInstanceLabels"]["values"] == ["p5.48xlarge"]
    assert values["nodeSelector"] == {"deepseek.ai/node-pool": "gpu"}
    assert values["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert efa_releases("eks-dev") == []  # one node per replica: no EFA, no plugin
    env = {e["name"] for e in pod()["containers"][0]["env"]}
    assert "FI_PROVIDER" not in env and "vpc.amazonaws.com/efa" not in pod()["containers"][0]["resources"]["limits"]


def test_r1_objects_are_valid():
    from tests.test_eks_validation import by_bucket, kubernetes_version, validate_custom

    buckets = by_bucket("eks-r1")
    assert "LeaderWorkerSet" in {o["kind"] for o in buckets["custom"]}
    for obj in buckets["custom"]:
        validate_custom(obj)
    import kubernetes_validate

    for obj in buckets["builtin"]:
        kubernetes_validate.validate(obj, f"{kubernetes_version('eks-r1')}.0", strict=True)


def test_r1_cost_counts_both_nodes_per_replica():
    from stacks.cost import estimate

    run = shared_run("eks-r1")
    hour = estimate(run.program_globals["context"], run.registrations)["replicaHour"]
    assert hour["nodesPerReplica"] == 2
    assert hour["onDemand"] > 2 * 55.04  # two p5.48xlarge at us-east-1 on-demand, plus their root volumes


def test_ecs_refuses_r1_and_names_the_eks_layout():
    from offline.harness import run_program
    from stacks.config import ConfigError

    with pytest.raises(ConfigError, match=r"platform eks across nodes: 2 × p5\.48xlarge \(16 GPUs\): TP 8 × PP 2"):
        run_program("eks-r1", {"deepseek-cloud:platform": "ecs", "deepseek-cloud:scaling": {"metric": "qps"}})


def test_keda_may_query_only_the_stacks_amp_workspace():
    run = shared_run(STACK)
    workspace = run.one("aws:amp/workspace:Workspace").outputs
    (policy,) = [
        json.loads(r.outputs["policy"])
        for r in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if "aps:QueryMetrics" in r.outputs["policy"]
    ]
    (query,) = [s for s in policy["Statement"] if s["Action"] == "aps:QueryMetrics"]
    assert query["Resource"] == workspace["arn"]
    assert query["Resource"].startswith("arn:aws:aps:us-east-1:") and ":workspace/ws-" in query["Resource"]


# --- issue 13 on EKS: the digest-pinned ECR image and the S3 model bucket ---------------------------------


def registration(run, type_token: str, name: str):
    (found,) = [r for r in run.registrations if r.type == type_token and r.name == name]
    return found


def test_the_pod_identity_role_reads_the_model_revision_prefix_and_nothing_else():
    run = shared_run(STACK)
    bucket = registration(run, "aws:s3/bucket:Bucket", "ds-eks-dev-models-weights")
    (key,) = run.of_type("aws:kms/key:Key")
    role = registration(run, "aws:iam/role:Role", "ds-eks-dev-model-secrets")
    grant = registration(run, "aws:iam/rolePolicy:RolePolicy", "ds-eks-dev-model-read-model")
    assert grant.inputs["role"] == role.outputs["name"]
    bucket_arn = bucket.outputs["arn"]
    assert json.loads(grant.inputs["policy"])["Statement"] == [
        {
            "Sid": "ReadTheModelRevision",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/{PREFIX_7B}/*",
        },
        {
            "Sid": "ListTheModelRevision",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [PREFIX_7B, f"{PREFIX_7B}/*"]}},
        },
        {
            "Sid": "DecryptThroughS3",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": key.outputs["arn"],
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        },
    ]
    # The pods' role is the one the Pod Identity association binds to the vllm service account.
    (association,) = [
        r
        for r in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if r.inputs["serviceAccount"] == "vllm"
    ]
    assert association.inputs["roleArn"] == role.outputs["arn"]
    # The bucket's S3 server access logs go to the Endpoint's access-log bucket, as on ECS.
    logging = registration(run, "aws:s3/bucketLogging:BucketLogging", "ds-eks-dev-models-weights")
    assert logging.inputs["targetPrefix"] == "s3/ds-eks-dev-models/"
    assert run.outputs["modelUri"] == f"s3://{bucket.outputs['bucket']}/{PREFIX_7B}"


def test_gpu_nodes_can_pull_the_image_from_ecr():
    run = shared_run(STACK)
    node_role = registration(run, "aws:iam/role:Role", "ds-eks-dev-karpenter-node")
    attached = {
        r.inputs["policyArn"]
        for r in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if r.inputs["role"] == node_role.outputs["name"]
    }
    # ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer (AWS managed policy reference).
    assert "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly" in attached


def test_hub_loading_on_eks_declares_no_bucket_and_no_streamer():
    run = shared_run(STACK, {"deepseek-cloud:model.loadFrom": "hub"})
    assert run.of_type("aws:s3/bucket:Bucket") == [
        b for b in run.of_type("aws:s3/bucket:Bucket") if "models" not in b.name
    ]
    (c,) = k8s("Deployment", overrides={"deepseek-cloud:model.loadFrom": "hub"})["spec"]["template"]["spec"][
        "containers"
    ]
    assert c["args"][0] == "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
    assert "--load-format" not in c["args"]
    assert "RUNAI_STREAMER_CONCURRENCY" not in {e["name"] for e in c["env"]}
    assert "/deepseek/eks-dev/vllm@sha256:" in c["image"]  # the ECR image either way


def test_r1_runs_the_ecr_image_and_streams_the_pinned_revision_from_s3():
    lws = k8s("LeaderWorkerSet", "eks-r1")["spec"]["leaderWorkerTemplate"]
    for template in ("leaderTemplate", "workerTemplate"):
        (c,) = lws[template]["spec"]["containers"]
        assert re.fullmatch(
            r".+\.dkr\.ecr\.us-east-1\.amazonaws\.com/deepseek/eks-r1/vllm@sha256:[0-9a-f]{64}", c["image"]
        )
    (leader,) = lws["leaderTemplate"]["spec"]["containers"]
    uri = "s3://ds-eks-r1-models-weights-4df2ca5/deepseek-ai/DeepSeek-R1/56d4cbbb4d29f4355bab4b9a39ccb717a14ad5ad"
    assert leader["args"][0] == uri
    assert leader["args"][leader["args"].index("--load-format") + 1] == "runai_streamer"
