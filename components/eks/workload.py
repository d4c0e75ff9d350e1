"""The vLLM workload's Kubernetes objects (pure: dicts, tested and validated offline).

The container runs exactly what ECS runs (components/shared/vllm.py: `vllm serve` arguments, environment,
non-root user, read-only root filesystem, cache paths; with the weights in S3 the Run:ai streamer's
`--load-format runai_streamer` and its environment); only the platform plumbing differs:

- secrets: the Secrets Store CSI driver mounts the two Secrets Manager values as files (the AWS provider
  reads them with the pod's EKS Pod Identity), and a shell wrapper exports them before `exec vllm serve`,
  so no value is ever in a manifest, a Kubernetes Secret or Pulumi state;
- drain: the same sequence as ECS (load balancer drain, then SIGTERM with vLLM's --shutdown-timeout): a
  preStop sleep as long as the target group's deregistration delay, then stop_timeout_seconds. Both fit
  the 2-minute spot notice (KServe's preStop + shutdown-timeout pattern, kserve#5485/#5496);
- probes: a startup probe as long as the replica's load estimate (+50 %), readiness on /health.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from components.eks import efa
from components.eks.gpu_capacity import GPU_POOL, GPU_TAINT, POOL_LABEL
from components.shared import vllm

CONTAINER = "vllm"
APP_LABEL = "app.kubernetes.io/name"
SECRETS_DIR = "/mnt/secrets"
API_KEY_FILE = "vllm-api-key"
HF_TOKEN_FILE = "hf-token"
CSI_DRIVER = "secrets-store.csi.k8s.io"
SPOT_NOTICE_SECONDS = 120
STARTUP_PERIOD_SECONDS = 10
# vLLM's multi-node helper shipped in the image (examples/online_serving/multi-node-serving.sh): starts a
# Ray head (leader) that waits for the group, or a Ray worker joining the leader (LWS vLLM example).
MULTI_NODE_SCRIPT = "/vllm-workspace/examples/online_serving/multi-node-serving.sh"
# The two secret files become the variables vLLM and the Hub client read; then vLLM replaces the shell
# (exec), so it receives SIGTERM itself and --shutdown-timeout applies (kserve#5496 review).
EXPORT_SECRETS = (
    f'export {vllm.API_KEY_ENV}="$(cat {SECRETS_DIR}/{API_KEY_FILE})" '
    f'{vllm.HF_TOKEN_ENV}="$(cat {SECRETS_DIR}/{HF_TOKEN_FILE})"'
)
SERVE = f'{EXPORT_SECRETS} && exec vllm serve "$@"'


@dataclass(frozen=True)
class Workload:
    """What the pod runs and how it drains; the names of the objects it refers to."""

    server: vllm.VllmServer = field(default_factory=vllm.VllmServer)
    name: str = "vllm"  # Deployment / LeaderWorkerSet / Service / ServiceAccount name
    namespace: str = "deepseek-serving"
    service_account: str = "vllm"
    secret_provider_class: str = "vllm-secrets"
    drain_seconds: int = 80  # = the target group's deregistration delay
    idle_timeout_seconds: int = 600  # the load balancer's: vLLM's keep-alive outlasts it
    cpu_request: str = "2"
    nodes_per_replica: int = 1  # > 1: a LeaderWorkerSet group
    efa_interfaces: int = 0  # EFA devices each node pod requests (multi-node): all of the instance type's
    # The Karpenter pool the pods run on (its POOL_LABEL value) and the taint they tolerate: the GPU pool,
    # or a CPU tier's own pool (components/eks/cpu_capacity.py), whose nodes nothing else lands on.
    node_pool: str = GPU_POOL
    taint_key: str = GPU_TAINT["key"]

    @property
    def labels(self) -> dict[str, str]:
        return {APP_LABEL: self.name}

    @property
    def grace_seconds(self) -> int:
        return self.drain_seconds + self.server.stop_timeout_seconds


def startup_failure_threshold(server: vllm.VllmServer) -> int:
    """Probe periods the startup probe waits: the load estimate plus margin (vllm.health_check_grace_seconds)."""
    return math.ceil(vllm.health_check_grace_seconds(server.startup_seconds) / STARTUP_PERIOD_SECONDS)


def _http_probe(period: int, timing: vllm.HealthTiming, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": vllm.HEALTH_PATH, "port": vllm.PORT},
        "periodSeconds": period,
        "timeoutSeconds": timing.timeout_seconds,
        "failureThreshold": failures,
    }


def probes(server: vllm.VllmServer) -> dict[str, Any]:
    """startup: the weights' load time; readiness: the load balancer's cadence; liveness: ECS's container check."""
    lb, box = vllm.LOAD_BALANCER_HEALTH, vllm.CONTAINER_HEALTH
    return {
        "startupProbe": _http_probe(STARTUP_PERIOD_SECONDS, box, startup_failure_threshold(server)),
        "readinessProbe": _http_probe(lb.interval_seconds, lb, lb.unhealthy_threshold),
        "livenessProbe": _http_probe(box.interval_seconds, box, box.unhealthy_threshold),
    }


def container(w: Workload, command: list[str], args: list[str], serving: bool = True) -> dict[str, Any]:
    s = w.server
    gpus = {"nvidia.com/gpu": str(s.tensor_parallel_size)} if s.device == "cuda" else {}
    limits = {**gpus, **({efa.EFA_RESOURCE: str(w.efa_interfaces)} if w.efa_interfaces else {})}
    efa_env = efa.EFA_ENV if w.efa_interfaces else {}
    keep_alive = vllm.keep_alive_seconds(w.idle_timeout_seconds)
    env = {**vllm.environment(keep_alive, s), **vllm.cpu_environment(s), **efa_env}
    spec: dict[str, Any] = {
        "name": CONTAINER,
        "image": s.image,
        "command": command,
        "args": args,
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "resources": {
            "requests": {"cpu": w.cpu_request, "memory": f"{s.memory_reservation_mib}Mi", **limits},
            "limits": limits,  # no memory limit: as on ECS, no OOM kill while the weights load
        },
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "dshm", "mountPath": "/dev/shm"},
            {"name": "tmp", "mountPath": vllm.TMP_DIR},
            {"name": "cache", "mountPath": vllm.CACHE_ROOT},
            {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True},
        ],
        "lifecycle": {"preStop": {"sleep": {"seconds": w.drain_seconds}}},
    }
    if serving:
        spec["ports"] = [{"name": "http", "containerPort": vllm.PORT, "protocol": "TCP"}]
        spec.update(probes(s))
    return spec


def pod_spec(w: Workload, containers: list[dict[str, Any]]) -> dict[str, Any]:
    s = w.server
    user = int(vllm.CONTAINER_USER)
    return {
        "serviceAccountName": w.service_account,
        "automountServiceAccountToken": False,  # vLLM never calls the Kubernetes API
        "terminationGracePeriodSeconds": w.grace_seconds,
        "securityContext": {
            "runAsUser": user,
            "runAsGroup": user,
            "fsGroup": user,
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "nodeSelector": {POOL_LABEL: w.node_pool},
        "tolerations": [{"key": w.taint_key, "operator": "Exists", "effect": GPU_TAINT["effect"]}],
        "containers": containers,
        "volumes": [
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{s.shared_memory_mib}Mi"}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": f"{vllm.TMPFS_MIB}Mi"}},
            # Pod Security "baseline" forbids hostPath: the cache lives on the node's root volume for the
            # pod's lifetime (the EC2NodeClass sizes it for the weights).
            {"name": "cache", "emptyDir": {}},
            {
                "name": "secrets",
                "csi": {
                    "driver": CSI_DRIVER,
                    "readOnly": True,
                    "volumeAttributes": {"secretProviderClass": w.secret_provider_class},
                },
            },
        ],
    }


def serving_container(w: Workload) -> dict[str, Any]:
    return container(w, ["/bin/sh", "-c", SERVE, "vllm"], vllm.serve_args(w.server))


def deployment_spec(w: Workload, replicas: int) -> dict[str, Any]:
    """One replica per pod. `replicas` is the initial count only: KEDA owns it afterwards."""
    return {
        "replicas": replicas,
        "selector": {"matchLabels": w.labels},
        # A new replica must load the weights before an old one stops: surge, never go below the count.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"metadata": {"labels": w.labels}, "spec": pod_spec(w, [serving_container(w)])},
    }


def leader_worker_spec(w: Workload, replicas: int) -> dict[str, Any]:
    """One replica = a group of nodes_per_replica pods (one per node): the leader starts the Ray head, waits
    for the workers and serves; TP within a node, PP across nodes (vllm.serve_args)."""
    leader_cmd = f"bash {MULTI_NODE_SCRIPT} leader --ray_cluster_size=$LWS_GROUP_SIZE && {SERVE}"
    worker_cmd = f"exec bash {MULTI_NODE_SCRIPT} worker --ray_address=$LWS_LEADER_ADDRESS"
    leader = container(w, ["/bin/sh", "-c", leader_cmd, "vllm"], vllm.serve_args(w.server))
    worker = container(w, ["/bin/sh", "-c", f"{EXPORT_SECRETS} && {worker_cmd}"], [], serving=False)
    return {
        "replicas": replicas,
        "startupPolicy": "LeaderCreated",
        "leaderWorkerTemplate": {
            "size": w.nodes_per_replica,
            # A lost node breaks the pipeline: restart the whole group, never a lone worker.
            "restartPolicy": "RecreateGroupOnPodRestart",
            "leaderTemplate": {"metadata": {"labels": {**w.labels, "role": "leader"}}, "spec": pod_spec(w, [leader])},
            "workerTemplate": {"metadata": {"labels": {**w.labels, "role": "worker"}}, "spec": pod_spec(w, [worker])},
        },
    }


def service_spec(w: Workload) -> dict[str, Any]:
    """ClusterIP in front of the serving pods (the leaders of a group); the ALB reaches pods directly."""
    selector = {**w.labels, "role": "leader"} if w.nodes_per_replica > 1 else w.labels
    return {
        "type": "ClusterIP",
        "selector": selector,
        "ports": [{"name": "http", "port": vllm.PORT, "targetPort": vllm.PORT, "protocol": "TCP"}],
    }


def pdb_spec(w: Workload) -> dict[str, Any]:
    """Voluntary disruptions (Karpenter drift/expiry, node drains) take one replica at a time."""
    return {"maxUnavailable": 1, "selector": {"matchLabels": w.labels}}


def target_group_binding_spec(w: Workload, target_group_arn: str) -> dict[str, Any]:
    """The AWS Load Balancer Controller registers the Service's ready pods into the Pulumi-declared target
    group by pod IP (target type ip). No `networking` block: the security-group rule is declared in Pulumi."""
    return {
        "serviceRef": {"name": w.name, "port": vllm.PORT},
        "targetGroupARN": target_group_arn,
        "targetType": "ip",
    }


def secret_provider_class_spec(api_key_arn: str, hf_token_arn: str, region: str) -> dict[str, Any]:
    """The AWS provider fetches both secrets with the pod's Pod Identity role and writes them as files
    named by objectAlias (aws/secrets-store-csi-driver-provider-aws README, usePodIdentity)."""
    objects = [
        {"objectName": api_key_arn, "objectType": "secretsmanager", "objectAlias": API_KEY_FILE},
        {"objectName": hf_token_arn, "objectType": "secretsmanager", "objectAlias": HF_TOKEN_FILE},
    ]
    return {
        "provider": "aws",
        "parameters": {"objects": yaml.safe_dump(objects, sort_keys=False), "usePodIdentity": "true", "region": region},
    }
