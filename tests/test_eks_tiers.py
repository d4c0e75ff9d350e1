"""Tiered serving on EKS (Pulumi.hybrid-eks.yaml, stacks/eks_tiers.py): the same tiers, routing and router config
as the ECS hybrid stack; the router a restricted Deployment behind the ALB; the tiers cluster-internal; the CPU tier
on its own tainted NodePool with the ECS CPU tier's image and vLLM arguments. Reads the shared runs of hybrid-eks
and hybrid only (no extra program run except the config-error cases, which stop before any resource)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.eks import autoscaling, cpu_capacity
from components.eks import router as eks_router
from components.shared import router, router_metrics, vllm
from offline.harness import engine_inputs, shared_run
from stacks.ecs_tiers import CPU_IMAGE
from tests.test_config import only_line, problems_for

STACK = "hybrid-eks"
NS = "deepseek-cloud"
SERVING = "deepseek-serving"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def objects(kind: str, stack: str = STACK) -> list[dict]:
    run = shared_run(stack)
    return [
        engine_inputs(r) for r in run.registrations if r.type.startswith("kubernetes:") and r.type.endswith(f":{kind}")
    ]


def named(kind: str, name: str) -> dict:
    (obj,) = [o for o in objects(kind) if o.get("metadata", {}).get("name") == name]
    return obj


def ecs_router_env() -> dict[str, str]:
    task = shared_run("hybrid").one("aws:ecs/taskDefinition:TaskDefinition", under="TierRouter")
    [container] = json.loads(task.inputs["containerDefinitions"])
    return {e["name"]: e["value"] for e in container["environment"]}


# --- one router config for both platforms ----------------------------------------------------------------------


def test_the_router_config_is_hybrids_with_cluster_service_urls_instead_of_internal_albs():
    data = named("ConfigMap", eks_router.CONFIG_MAP)["data"]
    ecs = ecs_router_env()
    eks_config = yaml.safe_load(data["config.yaml"])
    ecs_config = yaml.safe_load(ecs[router.CONFIG_ENV])
    eks_bases = [m["litellm_params"].pop("api_base") for m in eks_config["model_list"]]
    ecs_bases = [m["litellm_params"].pop("api_base") for m in ecs_config["model_list"]]
    assert eks_bases == [
        "http://vllm.deepseek-serving.svc.cluster.local:8000/v1",
        "http://vllm-cpu.deepseek-serving.svc.cluster.local:8000/v1",
    ]
    assert all(b.startswith("http://ds-hybrid-") and b.endswith(".elb.amazonaws.com/v1") for b in ecs_bases)  # mocks
    # Everything else the generator writes is the same: groups, aliases, fallbacks, keys by name, the hook.
    assert eks_config == ecs_config
    assert [m["model_name"] for m in eks_config["model_list"]] == [
        "deepseek-r1-distill-qwen-32b",
        "deepseek-r1-distill-qwen-1.5b",
    ]
    assert eks_config["router_settings"]["fallbacks"] == [
        {"deepseek-r1-distill-qwen-1.5b": ["deepseek-r1-distill-qwen-32b"]},
        {"deepseek-r1-distill-qwen-32b": ["deepseek-r1-distill-qwen-1.5b"]},
    ]
    assert data[f"{router.HOOK_MODULE}.py"] == ecs[router.HOOK_ENV] == router.hook_source()
    assert data["routing.json"] == ecs[router.ROUTING_ENV]


def test_the_router_runs_the_pinned_image_restricted_and_its_config_from_the_config_map():
    deploy = named("Deployment", "router")
    spec = deploy["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["image"] == router.IMAGE and "@sha256:" in c["image"]
    assert c["command"] == router.command()
    assert c["securityContext"] == {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["securityContext"]["runAsUser"] == 65532
    env = {e["name"]: e for e in c["env"]}
    for variable, key in eks_router.CONFIG_FILES.items():
        assert env[variable]["valueFrom"] == {"configMapKeyRef": {"name": "router-config", "key": key}}
    # The ALB's idle timeout 600 s + 15: the proxy's keep-alive outlasts it, as on ECS.
    assert env[router.KEEP_ALIVE_ENV]["value"] == ecs_router_env()[router.KEEP_ALIVE_ENV] == "615"
    data = named("ConfigMap", eks_router.CONFIG_MAP)["data"]
    checksum = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    assert deploy["spec"]["template"]["metadata"]["annotations"] == {eks_router.CHECKSUM_ANNOTATION: checksum}
    assert [p["httpGet"]["path"] for p in (c["startupProbe"], c["readinessProbe"], c["livenessProbe"])] == [
        router.HEALTH_PATH
    ] * 3
    assert c["lifecycle"] == {"preStop": {"sleep": {"seconds": 80}}}  # the target group's deregistration delay
    assert spec["terminationGracePeriodSeconds"] == 110
    assert c["resources"]["requests"] == {"cpu": "1000m", "memory": "2048Mi"}  # tiers.router cpu 1024, 2048 MiB


def test_the_keys_come_from_secrets_manager_files_and_no_value_is_in_any_manifest():
    (c,) = named("Deployment", "router")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    assert router.MASTER_KEY_ENV not in env and "TIER_CPU_API_KEY" not in env
    # The default tier's vLLM key IS the master key (as on ECS): both variables read the one file.
    assert json.loads(env[router.SECRET_FILES_ENV]["value"]) == {
        "LITELLM_MASTER_KEY": "/mnt/secrets/master-key",
        "TIER_LARGE_API_KEY": "/mnt/secrets/master-key",
        "TIER_CPU_API_KEY": "/mnt/secrets/tier-cpu-key",
    }
    spc = named("SecretProviderClass", eks_router.SECRET_PROVIDER_CLASS)["spec"]
    listed = yaml.safe_load(spc["parameters"]["objects"])
    assert [o["objectAlias"] for o in listed] == ["master-key", "tier-cpu-key"]
    assert ":secret:deepseek/hybrid-eks/vllm-api-key-" in listed[0]["objectName"]
    assert ":secret:deepseek/hybrid-eks/cpu/vllm-api-key-" in listed[1]["objectName"]
    assert spc["parameters"]["usePodIdentity"] == "true"
    assert objects("Secret") == []
    run = shared_run(STACK)
    (policy,) = [
        json.loads(r.inputs["policy"])
        for r in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name == "ds-hybrid-eks-rtr-secrets"  # not the log shipper's (tests/test_router_logs.py)
    ]
    read = policy["Statement"][0]
    assert read["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert sorted(read["Resource"]) == sorted(o["objectName"] for o in listed)


def test_the_bootstrap_reads_the_secret_files_into_the_environment_before_the_proxy_starts(tmp_path: Path):
    """router.command() with a stand-in `litellm` that records its environment: the EKS pods' path."""
    (tmp_path / "master").write_text("sk-master\n")
    (tmp_path / "cpu").write_text("sk-cpu")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "litellm"
    record = tmp_path / "env.json"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'env': dict(os.environ)}}, open({str(record)!r}, 'w'))\n"
    )
    fake.chmod(0o755)
    files = {router.MASTER_KEY_ENV: str(tmp_path / "master"), "TIER_CPU_API_KEY": str(tmp_path / "cpu")}
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        router.CONFIG_ENV: "model_list: []\n",
        router.HOOK_ENV: "# hook\n",
        router.SECRET_FILES_ENV: json.dumps(files),
        "DEEPSEEK_ROUTER_DIR": str(tmp_path / "work"),
    }
    subprocess.run([sys.executable, *router.command()[1:]], env=env, check=True, timeout=60)
    seen = json.loads(record.read_text())
    assert seen["env"][router.MASTER_KEY_ENV] == "sk-master"  # the file's trailing newline dropped
    assert seen["env"]["TIER_CPU_API_KEY"] == "sk-cpu"
    assert seen["argv"][:2] == ["--config", str(tmp_path / "work" / "config.yaml")]
    assert (tmp_path / "work" / "config.yaml").read_text() == "model_list: []\n"


# --- the load balancer reaches the router only ----------------------------------------------------------------


def test_the_alb_target_group_binds_the_router_and_the_tiers_are_cluster_internal():
    (tgb,) = objects("TargetGroupBinding")
    assert tgb["spec"]["serviceRef"] == {"name": "router", "port": router.PORT}
    run = shared_run(STACK)
    (tg,) = run.of_type("aws:lb/targetGroup:TargetGroup")
    assert tg.inputs["port"] == router.PORT and tg.inputs["healthCheck"]["path"] == router.HEALTH_PATH
    assert len(run.of_type("aws:lb/loadBalancer:LoadBalancer")) == 1  # no internal ALB per tier (ECS has them)
    assert [r.name for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")].count(
        "ds-hybrid-eks-model-from-alb"
    ) == 0  # the vLLM port is no longer open to the load balancer
    services = {s["metadata"]["name"]: s["spec"] for s in objects("Service")}
    assert set(services) == {"vllm", "vllm-cpu", "router"}
    assert {s["type"] for s in services.values()} == {"ClusterIP"}
    (alb_rule,) = [
        r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "rtr" in r.name
    ]
    assert (alb_rule.inputs["fromPort"], alb_rule.inputs["toPort"]) == (router.PORT, router.PORT)


def test_single_tier_eks_stacks_still_bind_vllm():
    (tgb,) = objects("TargetGroupBinding", "eks-dev")
    assert tgb["spec"]["serviceRef"] == {"name": "vllm", "port": vllm.PORT}
    # no router config: the only ConfigMap is the metrics collector's (components/eks/cloudwatch_metrics.py)
    assert [c["metadata"]["name"] for c in objects("ConfigMap", "eks-dev")] == ["adot-collector"]
    rules = shared_run("eks-dev").of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    (rule,) = [r for r in rules if r.name == "ds-eks-dev-model-from-alb"]  # the rule hybrid-eks no longer has
    assert rule.inputs["fromPort"] == vllm.PORT


# --- the CPU tier ------------------------------------------------------------------------------------------------


def test_the_cpu_tier_has_its_own_tainted_node_pool_of_the_configured_types():
    pool = named("NodePool", "tier-cpu")["spec"]
    template = pool["template"]
    assert template["metadata"]["labels"] == {"deepseek.ai/node-pool": "tier-cpu"}
    assert template["spec"]["taints"] == [{"key": "deepseek.ai/tier", "value": "cpu", "effect": "NoSchedule"}]
    requirements = {r["key"]: r["values"] for r in template["spec"]["requirements"]}
    assert requirements["node.kubernetes.io/instance-type"] == ["c7i.12xlarge"]
    assert requirements["karpenter.sh/capacity-type"] == ["on-demand"]  # capacity.spot false
    assert requirements["kubernetes.io/arch"] == ["amd64"]
    assert pool["limits"] == {"nodes": "3", "cpu": "144"}  # maxSize 3 × 48 vCPUs
    assert pool["disruption"]["consolidationPolicy"] == "WhenEmpty"
    node_class = named("EC2NodeClass", "tier-cpu")["spec"]
    assert node_class["associatePublicIPAddress"] is False
    assert node_class["metadataOptions"]["httpTokens"] == "required"
    assert node_class["amiSelectorTerms"] == named("EC2NodeClass", "gpu")["spec"]["amiSelectorTerms"]


def test_the_cpu_tier_runs_the_ecs_cpu_tiers_image_and_vllm_arguments_on_its_pool_only():
    run = shared_run("hybrid")
    (task,) = [r for r in run.of_type("aws:ecs/taskDefinition:TaskDefinition") if "-cpu-" in r.name]
    (ecs_c,) = json.loads(engine_inputs(task)["containerDefinitions"])
    spec = named("Deployment", "vllm-cpu")["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["image"] == ecs_c["image"] == CPU_IMAGE
    assert c["args"] == ecs_c["command"]
    assert c["args"][:3] == [  # the catalog's pinned commit of the 1.5B distill, on both platforms
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "--revision", "ad9f0ae0864d7fbcd1cd905e3c6c5b069cc8b562"
    ]  # fmt: skip
    eks_env = {e["name"]: e["value"] for e in c["env"]}
    ecs_env = {e["name"]: e["value"] for e in ecs_c["environment"]}
    assert eks_env["VLLM_CPU_KVCACHE_SPACE"] == ecs_env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert eks_env["VLLM_CPU_OMP_THREADS_BIND"] == "auto"
    assert "nvidia.com/gpu" not in json.dumps(c["resources"])
    # One replica per c7i.12xlarge (48 vCPUs × 0.9), the memory the CPU sizing needs (weights + KV + runtime).
    assert c["resources"]["requests"]["cpu"] == "43"
    assert c["resources"]["requests"]["memory"] == "8516Mi"  # ⌈(3.32 GiB weights + 1 KV + 4 runtime) × 1024⌉
    assert spec["nodeSelector"] == {"deepseek.ai/node-pool": "tier-cpu"}
    assert spec["tolerations"] == [{"key": "deepseek.ai/tier", "operator": "Exists", "effect": "NoSchedule"}]
    gpu = named("Deployment", "vllm")["spec"]["template"]["spec"]
    assert gpu["nodeSelector"] == {"deepseek.ai/node-pool": "gpu"}
    # The GPU model server's probes and drain, the same shape on the CPU tier.
    (gpu_c,) = gpu["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe] == gpu_c[probe]
    assert c["startupProbe"]["httpGet"] == gpu_c["startupProbe"]["httpGet"]
    assert c["lifecycle"] == gpu_c["lifecycle"] == {"preStop": {"sleep": {"seconds": 80}}}
    assert spec["securityContext"] == gpu["securityContext"]


def test_the_metrics_scraper_keeps_both_tiers_pods():
    run = shared_run(STACK)
    (scraper,) = run.of_type("aws:amp/scraper:Scraper")
    config = yaml.safe_load(scraper.inputs["scrapeConfiguration"])
    keep = config["scrape_configs"][0]["relabel_configs"][0]
    assert keep["regex"] == "vllm|vllm\\-cpu"
    single = yaml.safe_load(autoscaling.scrape_configuration(SERVING, {"app.kubernetes.io/name": "vllm"}))
    assert single["scrape_configs"][0]["relabel_configs"][0]["regex"] == "vllm"


def test_each_tier_scales_on_its_own_request_rate_and_the_router_on_the_albs_requests():
    scaled = {s["metadata"]["name"]: s["spec"] for s in objects("ScaledObject")}
    assert set(scaled) == {"vllm", "vllm-cpu", "router"}
    cpu, large, rtr = scaled["vllm-cpu"], scaled["vllm"], scaled["router"]
    ((cpu_trigger,), (large_trigger,)) = cpu["triggers"], large["triggers"]  # no ALB 503 wake behind the router
    assert cpu_trigger["metadata"]["query"] == (
        'sum(rate(vllm:request_success_total{namespace="deepseek-serving",'
        'model_name="deepseek-r1-distill-qwen-1.5b"}[2m]))'
    )
    assert cpu_trigger["metadata"]["threshold"] == "0.5"
    assert (cpu["minReplicaCount"], cpu["maxReplicaCount"]) == (1, 3)
    assert 'model_name="deepseek-r1-distill-qwen-32b"' in large_trigger["metadata"]["query"]
    assert large_trigger["metadata"]["threshold"] == "2"
    assert rtr["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "router"}
    assert rtr["triggers"][0]["metadata"]["metricName"] == "RequestCount"
    assert (rtr["minReplicaCount"], rtr["maxReplicaCount"]) == (1, 4)


# --- observability: the ECS router's metrics, alarm and dashboard ----------------------------------------------


def test_the_router_metrics_alarm_and_dashboard_are_hybrids_read_from_container_insights_logs():
    eks, ecs = shared_run(STACK), shared_run("hybrid")
    (group,) = [g for g in eks.of_type("aws:cloudwatch/logGroup:LogGroup") if "containerinsights" in g.inputs["name"]]
    assert group.inputs["name"] == "/aws/containerinsights/ds-hybrid-eks/application"
    eks_filters = {
        f.name.rsplit("-", 1)[1]: f.inputs for f in eks.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    }
    ecs_filters = {
        f.name.rsplit("-", 1)[1]: f.inputs for f in ecs.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    }
    assert set(eks_filters) == set(ecs_filters) == {"requests", "errors", "latency", "fallbacks"}
    for key, f in eks_filters.items():
        assert f["pattern"] == ecs_filters[key]["pattern"].replace("$.", "$.log_processed.")
        assert f["metricTransformation"]["dimensions"] == {"Tier": "$.log_processed.tier"}
        assert f["metricTransformation"]["namespace"] == router_metrics.METRIC_NAMESPACE
    assert eks_filters["fallbacks"]["pattern"] == (
        '{ $.log_processed.event = "deepseek.route" && $.log_processed.fallback IS TRUE }'
    )
    (eks_alarm,) = [a.inputs for a in eks.of_type(ALARM) if a.name == "ds-hybrid-eks-rtr-fallbacks"]
    (ecs_alarm,) = [a.inputs for a in ecs.of_type(ALARM) if a.name == "ds-hybrid-rtr-fallbacks"]
    assert eks_alarm["metricQueries"] == ecs_alarm["metricQueries"]
    assert eks_alarm["threshold"] == ecs_alarm["threshold"] == 10
    (eks_board,) = [d for d in eks.of_type("aws:cloudwatch/dashboard:Dashboard") if d.name == "ds-hybrid-eks-rtr-tiers"]
    (ecs_board,) = [d for d in ecs.of_type("aws:cloudwatch/dashboard:Dashboard") if d.name == "ds-hybrid-rtr-tiers"]
    assert json.loads(eks_board.inputs["dashboardBody"]) == json.loads(ecs_board.inputs["dashboardBody"])


# --- Kubernetes objects are valid -------------------------------------------------------------------------------


def test_every_hybrid_eks_object_is_strictly_valid():
    import kubernetes_validate

    from tests.test_eks_validation import by_bucket, kubernetes_version, validate_custom

    buckets = by_bucket(STACK)
    kinds = {o["kind"] for o in buckets["builtin"]}
    assert {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "ServiceAccount"} <= kinds
    for obj in buckets["custom"]:
        validate_custom(obj)
    for obj in buckets["builtin"]:
        kubernetes_validate.validate(obj, f"{kubernetes_version(STACK)}.0", strict=True)


# --- config: what EKS tiers can be ---------------------------------------------------------------------------


def test_a_gpu_extra_tier_or_a_tier_at_zero_is_refused_on_eks_in_one_line_each():
    lines = problems_for(
        {
            f"{NS}:tiers.extra.0.capacity.kind": "gpu",
            f"{NS}:tiers.extra.0.capacity.instanceTypes": ["g6e.xlarge"],
            f"{NS}:tiers.extra.0.scaling.minReplicas": 0,
            f"{NS}:scaling.minReplicas": 0,
        },
        stack=STACK,
    )
    assert only_line(lines, f"{NS}:tiers.extra[0].capacity.kind") == (
        f"{NS}:tiers.extra[0].capacity.kind: EKS builds cpu extra tiers only (got gpu; allowed: cpu)"
    )
    assert only_line(lines, f"{NS}:tiers.extra[0].scaling.minReplicas") == (
        f"{NS}:tiers.extra[0].scaling.minReplicas: behind the tier router nothing wakes a tier from zero replicas "
        "on EKS (got 0; allowed: ≥ 1 on eks)"
    )
    assert only_line(lines, f"{NS}:scaling.minReplicas") == (
        f"{NS}:scaling.minReplicas: behind the tier router nothing wakes a tier from zero replicas on EKS "
        "(got 0; allowed: ≥ 1 (schedules included) on eks with tiers)"
    )


def test_hybrid_eks_differs_from_hybrid_only_where_eks_requires():
    root = Path(__file__).resolve().parent.parent
    ecs = yaml.safe_load((root / "Pulumi.hybrid.yaml").read_text())["config"]
    eks = yaml.safe_load((root / "Pulumi.hybrid-eks.yaml").read_text())["config"]
    for key in ("model", "scaling", "tiers", "alarms", "environment"):
        assert eks[f"{NS}:{key}"] == ecs[f"{NS}:{key}"], key
    assert {k: v for k, v in eks[f"{NS}:gpuPool"].items() if k != "minSize"} == {
        k: v for k, v in ecs[f"{NS}:gpuPool"].items() if k != "minSize"
    }
    assert (eks[f"{NS}:platform"], eks[f"{NS}:gpuPool"]["minSize"]) == ("eks", 0)


def test_cpu_capacity_refuses_an_unpinned_ami():
    with pytest.raises(Exception, match="amiAlias"):
        cpu_capacity._validate(cpu_capacity.CpuCapacityArgs(tier="cpu", instance_types=("c7i.12xlarge",)))
