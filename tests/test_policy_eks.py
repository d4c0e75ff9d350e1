"""The EKS and Kubernetes rules, through their real `validate` (tests/test_policy_rules.py harness)."""

from __future__ import annotations

import copy

import pytest

from offline.harness import engine_inputs, shared_run
from tests.test_policy_rules import U, run_resource

CLUSTER = "aws:eks/cluster:Cluster"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
RELEASE = "kubernetes:helm.sh/v3:Release"


def planned_cluster() -> dict:
    return engine_inputs(shared_run("eks-dev").one(CLUSTER))


def deployment(namespace: str = "deepseek-serving", **container) -> dict:
    c = {
        "name": "vllm",
        "image": "vllm/vllm-openai:v0.31.0",
        "resources": {"limits": {"nvidia.com/gpu": 1}, "requests": {"cpu": "4", "memory": "24Gi"}},
        **container,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "vllm", "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [c]}}},
    }


def test_planned_cluster_passes_eks_1_3_8():
    for policy in ("eks-endpoint-not-public", "eks-secrets-encrypted", "eks-audit-logging"):
        assert run_resource(policy, CLUSTER, planned_cluster()) == [], policy


@pytest.mark.parametrize(
    ("policy", "path", "value", "message"),
    [
        ("eks-endpoint-not-public", ("vpcConfig", "publicAccessCidrs"), ["0.0.0.0/0"], "open to 0.0.0.0/0"),
        ("eks-endpoint-not-public", ("vpcConfig", "publicAccessCidrs"), [], "0.0.0.0/0 (default)"),
        ("eks-secrets-encrypted", ("encryptionConfig",), {}, "not envelope-encrypted"),
        ("eks-audit-logging", ("enabledClusterLogTypes",), ["api"], "missing audit, authenticator"),
    ],
)
def test_eks_controls_fail_on_a_broken_cluster(policy, path, value, message):
    props = copy.deepcopy(planned_cluster())
    node = props
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    (violation,) = run_resource(policy, CLUSTER, props)
    assert message in violation


def test_private_only_endpoint_and_unknown_cidrs_pass():
    props = copy.deepcopy(planned_cluster())
    props["vpcConfig"]["endpointPublicAccess"] = False
    props["vpcConfig"].pop("publicAccessCidrs", None)
    assert run_resource("eks-endpoint-not-public", CLUSTER, props) == []
    props["vpcConfig"].update(endpointPublicAccess=True, publicAccessCidrs=U)
    assert run_resource("eks-endpoint-not-public", CLUSTER, props) == []


def test_compliant_gpu_deployment_passes_the_kubernetes_rules():
    for policy in ("k8s-no-privileged-pods", "k8s-gpu-pod-resources", "k8s-images-pinned"):
        assert run_resource(policy, DEPLOYMENT, deployment()) == [], policy


def test_privileged_pod_outside_kube_system_fails_inside_passes():
    bad = {"securityContext": {"privileged": True}}
    assert len(run_resource("k8s-no-privileged-pods", DEPLOYMENT, deployment(**bad))) == 1
    assert run_resource("k8s-no-privileged-pods", DEPLOYMENT, deployment("kube-system", **bad)) == []


def test_gpu_container_without_cpu_memory_requests_fails():
    (violation,) = run_resource(
        "k8s-gpu-pod-resources", DEPLOYMENT, deployment(resources={"limits": {"nvidia.com/gpu": 1}})
    )
    assert "lacks cpu, memory" in violation


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ("vllm/vllm-openai:v0.31.0", True),
        ("vllm/vllm-openai@sha256:" + "a" * 64, True),
        ("vllm/vllm-openai:latest", False),
        ("vllm/vllm-openai", False),
        ("registry.local:5000/vllm", False),
    ],
)
def test_images_must_be_pinned(image, ok):
    assert (run_resource("k8s-images-pinned", DEPLOYMENT, deployment(image=image)) == []) is ok


def test_planned_helm_releases_are_pinned_and_a_range_fails():
    releases = [engine_inputs(r) for r in shared_run("eks-dev").of_type(RELEASE)]
    assert len(releases) == 2
    for props in releases:
        assert run_resource("helm-chart-version-pinned", RELEASE, props) == []
    assert len(run_resource("helm-chart-version-pinned", RELEASE, {**releases[0], "version": "^1.14"})) == 1
    assert len(run_resource("helm-chart-version-pinned", RELEASE, {**releases[0], "version": ""})) == 1
