"""The EKS metrics collector (components/eks/cloudwatch_metrics.py): what it scrapes, where it writes, and the
least privilege it runs with. Reads eks-dev's shared run; the alarms and dashboard that read these series are
checked in tests/test_eks_serving.py."""

from __future__ import annotations

import json
import re

import yaml

from offline.harness import engine_inputs, shared_run
from tests.test_eks_serving import COLLECTOR, k8s_collector

STACK = "eks-dev"


def config() -> dict:
    return yaml.safe_load(k8s_collector("ConfigMap")["data"]["config.yaml"])


def jobs() -> dict[str, dict]:
    return {j["job_name"]: j for j in config()["receivers"]["prometheus"]["config"]["scrape_configs"]}


def test_collector_scrapes_the_vllm_pods_api_port_and_keeps_only_the_charted_series():
    job = jobs()["vllm"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["deepseek-serving"]}}]
    assert job["relabel_configs"] == [
        {"action": "keep", "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "regex": "vllm"},
        {"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_number"], "regex": "8000"},
    ]
    # Prometheus anchors relabel regexes: fullmatch is what it applies.
    keep = re.compile(job["metric_relabel_configs"][0]["regex"])
    for kept in (
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:time_to_first_token_seconds_count",
        "vllm:time_to_first_token_seconds_sum",
    ):
        assert keep.fullmatch(kept), kept
    for dropped in ("vllm:num_requests_running", "vllm:gpu_cache_usage_perc", "vllm:e2e_request_latency_seconds_sum"):
        assert not keep.fullmatch(dropped), dropped
    # The vLLM pods carry that label and serve /metrics on that port.
    pod = next(
        engine_inputs(r)
        for r in shared_run(STACK).registrations
        if r.type == "kubernetes:apps/v1:Deployment" and COLLECTOR not in r.urn
    )["spec"]["template"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "vllm"
    assert pod["spec"]["containers"][0]["ports"][0]["containerPort"] == 8000


def test_collector_scrapes_dcgm_exporter_on_the_gpu_nodes():
    job = jobs()["dcgm"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["kube-system"]}}]
    assert job["relabel_configs"][0]["regex"] == "dcgm-exporter"
    assert job["relabel_configs"][1]["regex"] == "9400"  # the chart's service.port
    assert job["metric_relabel_configs"][0]["regex"] == "DCGM_FI_DEV_GPU_UTIL"
    (release,) = [
        engine_inputs(r)
        for r in shared_run(STACK).of_type("kubernetes:helm.sh/v3:Release")
        if engine_inputs(r)["chart"] == "dcgm-exporter"
    ]
    assert release["namespace"] == "kube-system" and release["name"] == "dcgm-exporter"
    assert release["repositoryOpts"] == {"repo": "https://nvidia.github.io/dcgm-exporter/helm-charts"}
    values = release["values"]
    assert values["nodeSelector"] == {"deepseek.ai/node-pool": "gpu"}
    assert values["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert values["serviceMonitor"] == {"enabled": False}  # no Prometheus operator CRDs in this cluster
    assert values["securityContext"]["capabilities"] == {"add": [], "drop": ["ALL"]}  # no SYS_ADMIN


def test_collector_writes_emf_into_its_own_encrypted_log_group_and_nothing_else():
    run = shared_run(STACK)
    group = next(r for r in run.of_type("aws:cloudwatch/logGroup:LogGroup") if r.name == "ds-eks-dev-cw-metrics-emf")
    inputs = engine_inputs(group)
    assert inputs["name"] == "/deepseek/eks-dev/metrics"
    assert inputs["retentionInDays"] == 30 and inputs["kmsKeyId"].startswith("arn:aws:kms:")
    emf = config()["exporters"]["awsemf"]
    assert emf["log_group_name"] == "/deepseek/eks-dev/metrics" and emf["region"] == "us-east-1"
    policy = json.loads(engine_inputs(run.one("aws:iam/rolePolicy:RolePolicy", under="CloudWatchMetrics"))["policy"])
    arn = group.outputs["arn"]
    assert policy["Statement"] == [
        {
            "Sid": "WriteEmfMetrics",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [arn, f"{arn}:log-stream:*"],
        }
    ]
    (association,) = [
        engine_inputs(r)
        for r in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if engine_inputs(r)["serviceAccount"] == "adot-collector"
    ]
    assert association["namespace"] == "kube-system"


def test_collector_reads_pods_in_two_namespaces_only_and_runs_non_root():
    run = shared_run(STACK)
    roles = [engine_inputs(r) for r in run.registrations if r.type.endswith("/v1:Role") and COLLECTOR in r.urn]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["deepseek-serving", "kube-system"]
    for role in roles:
        assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    assert not [r for r in run.registrations if "ClusterRole" in r.type and COLLECTOR in r.urn]
    spec = k8s_collector("Deployment")["spec"]
    assert spec["replicas"] == 1  # two collectors would publish every datapoint twice
    (container,) = spec["template"]["spec"]["containers"]
    assert container["image"] == "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "tolerations" not in spec["template"]["spec"]  # lands on the system nodes, never on a GPU
