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
    # Part 1: Karpenter, device plugin; part 2: LB controller, KEDA, Secrets Store CSI driver + AWS provider;
    # metrics: NVIDIA's DCGM exporter.
    assert sorted((r["chart"], r["version"]) for r in releases) == [
        ("aws-load-balancer-controller", "3.5.0"),
        ("dcgm-exporter", "4.8.2"),
        ("keda", "2.20.2"),
        ("nvidia-device-plugin", "0.20.0"),
        ("oci://public.ecr.aws/karpenter/karpenter", "1.14.1"),
        ("secrets-store-csi-driver", "1.6.0"),
        ("secrets-store-csi-driver-provider-aws", "3.1.1"),
    ]
    for props in releases:
        assert run_resource("helm-chart-version-pinned", RELEASE, props) == []
    assert len(run_resource("helm-chart-version-pinned", RELEASE, {**releases[0], "version": "^1.14"})) == 1
    assert len(run_resource("helm-chart-version-pinned", RELEASE, {**releases[0], "version": ""})) == 1


# -- what the EKS stack adds beyond the cluster: node class, queue, node group, node roles ---------------------

NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_CLASS_RULES = (
    "karpenter-nodeclass-imdsv2",
    "karpenter-nodeclass-ebs-encrypted",
    "karpenter-nodeclass-no-public-ip",
)


def planned(type_: str) -> dict:
    return engine_inputs(shared_run("eks-dev").one(type_))


def test_planned_node_class_passes_ec2_3_8_9():
    props = planned(NODE_CLASS)
    assert props["spec"]["associatePublicIPAddress"] is False
    for policy in NODE_CLASS_RULES:
        assert run_resource(policy, NODE_CLASS, props) == [], policy


@pytest.mark.parametrize(
    ("policy", "key", "value", "message"),
    [
        ("karpenter-nodeclass-imdsv2", "metadataOptions", {"httpTokens": "optional"}, "httpTokens is 'optional'"),
        ("karpenter-nodeclass-ebs-encrypted", "blockDeviceMappings", [], "no blockDeviceMappings"),
        ("karpenter-nodeclass-no-public-ip", "associatePublicIPAddress", True, "associatePublicIPAddress is True"),
    ],
)
def test_a_broken_node_class_fails(policy, key, value, message):
    props = copy.deepcopy(planned(NODE_CLASS))
    props["spec"][key] = value
    (violation,) = run_resource(policy, NODE_CLASS, props)
    assert message in violation


def test_unencrypted_volume_and_missing_key_are_two_violations():
    props = copy.deepcopy(planned(NODE_CLASS))
    props["spec"]["blockDeviceMappings"][0]["ebs"].update(encrypted=False, kmsKeyID=None)
    found = run_resource("karpenter-nodeclass-ebs-encrypted", NODE_CLASS, props)
    assert [m.split(": ", 1)[1] for m in found] == [
        "EBS volume /dev/xvda has encrypted=False",
        "EBS volume /dev/xvda has no kmsKeyID (customer-managed KMS key required)",
    ]


def test_interruption_queue_is_sse_sqs_and_its_policy_names_service_principals():
    queue = planned(QUEUE)
    assert queue["sqsManagedSseEnabled"] is True
    assert run_resource("sqs-queue-encrypted", QUEUE, queue) == []
    assert len(run_resource("sqs-queue-encrypted", QUEUE, {**queue, "sqsManagedSseEnabled": False})) == 1
    assert (
        run_resource("sqs-queue-encrypted", QUEUE, {**queue, "sqsManagedSseEnabled": False, "kmsMasterKeyId": "k"})
        == []
    )
    policy = planned(QUEUE_POLICY)
    assert run_resource("sqs-queue-policy-not-public", QUEUE_POLICY, policy) == []


def test_planned_cluster_version_is_in_standard_support_and_an_old_one_fails():
    props = planned_cluster()
    assert props["version"] == "1.35"
    assert run_resource("eks-supported-version", CLUSTER, props) == []
    (violation,) = run_resource("eks-supported-version", CLUSTER, {**props, "version": "1.30"})
    assert "Kubernetes 1.30 is not in EKS standard support (1.35, 1.36)" in violation
    # 1.34's standard support ends 2026-12-02 (endoflife.date/amazon-eks): a cluster created now would
    # leave it a day later.
    (violation,) = run_resource("eks-supported-version", CLUSTER, {**props, "version": "1.34"})
    assert "Kubernetes 1.34 is not in EKS standard support" in violation


def test_node_group_counts_as_an_autoscaling_group():
    props = planned(NODE_GROUP)
    assert run_resource("autoscaling-launch-template", NODE_GROUP, props) == []
    (violation,) = run_resource("autoscaling-launch-template", NODE_GROUP, {**props, "launchTemplate": None})
    assert "node group has no launchTemplate" in violation
    assert run_resource("autoscaling-multi-az-prod", NODE_GROUP, props) == []  # dev: not enforced
    (prod,) = run_resource("autoscaling-multi-az-prod", NODE_GROUP, props, config={"environment": "prod"})
    assert prod.endswith("prod node group has 1 instance type(s); list 2+ in instanceTypes")


def test_ssm_rule_follows_node_group_and_node_class_roles():
    from tests.test_policy_rules import run_stack

    run = shared_run("eks-dev")
    types = {NODE_GROUP, NODE_CLASS, "aws:iam/role:Role", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"}
    resources = [  # stack rules see state: inputs + outputs (the roles' generated names and ARNs)
        {"type": r.type, "name": r.name, "props": {**engine_inputs(r), **(r.outputs or {})}}
        for r in run.registrations
        if r.type in types
    ]
    assert run_stack("ssm-managed-instance-profile", resources) == []
    without_ssm = [r for r in resources if "AmazonSSMManagedInstanceCore" not in str(r["props"].get("policyArn", ""))]
    found = sorted(m for m, _urn in run_stack("ssm-managed-instance-profile", without_ssm))
    assert len(found) == 2 and all("lacks AmazonSSMManagedInstanceCore" in m for m in found), found
