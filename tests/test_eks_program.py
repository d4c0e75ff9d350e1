"""The eks-dev stack as a whole program (shared run), and the EKS config errors."""

from __future__ import annotations

import json

import pytest

from offline.harness import engine_inputs, run_program, shared_run
from stacks import versions
from stacks.config import ConfigError

STACK = "eks-dev"


def inputs(type_token: str, stack: str = STACK) -> dict:
    return engine_inputs(shared_run(stack).one(type_token))


def test_cluster_is_hardened():
    cluster = inputs("aws:eks/cluster:Cluster")
    assert cluster["version"] == "1.35"
    assert cluster["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert cluster["vpcConfig"]["endpointPrivateAccess"] is True
    assert cluster["vpcConfig"]["endpointPublicAccess"] is True
    assert cluster["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:us-east-1:")
    assert cluster["enabledClusterLogTypes"] == ["api", "audit", "authenticator"]


def test_deployer_gets_cluster_admin_through_an_access_entry():
    run = shared_run(STACK)
    entries = [engine_inputs(r) for r in run.of_type("aws:eks/accessEntry:AccessEntry")]
    admins = [e for e in entries if e["type"] == "STANDARD"]
    assert [e["principalArn"] for e in admins] == ["arn:aws:iam::123456789012:user/offline-plan"]
    association = inputs("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association["accessScope"] == {"type": "cluster"}
    assert [e["type"] for e in entries if e["type"] != "STANDARD"] == ["EC2_LINUX"]


ADMIN_ROLE = "arn:aws:iam::123456789012:role/platform-admins"
# One eks-dev run for three settings that land on different resources (the access entries, the Karpenter
# pools, the cluster's endpoint): each differs from eks-dev's own value, so each test still fails if its
# setting is lost.
VARIANT = {
    "deepseek-cloud:eks.adminRoleArn": ADMIN_ROLE,
    "deepseek-cloud:gpuPool.spot.onDemandBaseCapacity": 1,
    "deepseek-cloud:eks.endpointPublicAccess": False,
    "deepseek-cloud:eks.publicAccessCidrs": [],
}


def test_admin_role_from_config_is_a_second_admin():
    role = ADMIN_ROLE
    run = shared_run(STACK, VARIANT)
    admins = [engine_inputs(r)["principalArn"] for r in run.of_type("aws:eks/accessEntry:AccessEntry")]
    assert role in admins and len(run.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")) == 2


def test_addons_are_pinned_from_the_versions_module():
    run = shared_run(STACK)
    pinned = {
        engine_inputs(r)["addonName"]: engine_inputs(r)["addonVersion"] for r in run.of_type("aws:eks/addon:Addon")
    }
    assert pinned == versions.ADDON_VERSIONS["1.35"].by_name()


def test_system_nodes_on_demand_imdsv2_hop_1_encrypted():
    group = inputs("aws:eks/nodeGroup:NodeGroup")
    assert group["capacityType"] == "ON_DEMAND" and group["amiType"] == "AL2023_x86_64_STANDARD"
    assert group["instanceTypes"] == ["m7i.large"] and group["scalingConfig"]["desiredSize"] == 2
    lt = inputs("aws:ec2/launchTemplate:LaunchTemplate")
    assert lt["metadataOptions"]["httpTokens"] == "required"
    assert lt["metadataOptions"]["httpPutResponseHopLimit"] == 1
    ebs = lt["blockDeviceMappings"][0]["ebs"]
    assert ebs["encrypted"] == "true" and ebs["kmsKeyId"].startswith("arn:aws:kms:")


def test_kubernetes_resources_all_go_through_the_cluster_provider():
    run = shared_run(STACK)
    provider = run.one("pulumi:providers:kubernetes")
    kube = [r for r in run.registrations if r.type.startswith("kubernetes:")]
    assert kube and all(r.provider.startswith(provider.urn) for r in kube)
    config = json.loads(engine_inputs(provider)["kubeconfig"])
    assert config["users"][0]["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", "ds-eks-dev"]


def test_karpenter_release_and_interruption_plumbing():
    release = next(
        engine_inputs(r)
        for r in shared_run(STACK).of_type("kubernetes:helm.sh/v3:Release")
        if engine_inputs(r)["name"] == "karpenter"
    )
    assert (release["chart"], release["version"]) == ("oci://public.ecr.aws/karpenter/karpenter", "1.14.1")
    assert release["values"]["settings"]["interruptionQueue"] == "ds-eks-dev"
    rules = [
        json.loads(engine_inputs(r)["eventPattern"])["detail-type"][0]
        for r in shared_run(STACK).of_type("aws:cloudwatch/eventRule:EventRule")
        if r.name.startswith("ds-eks-dev-karpenter-")  # the alarms' own spot rules are part 2's
    ]
    assert sorted(rules) == [
        "AWS Health Event",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
        "EC2 Spot Instance Interruption Warning",
    ]
    associations = {
        (engine_inputs(r)["namespace"], engine_inputs(r)["serviceAccount"])
        for r in shared_run(STACK).of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    assert associations == {
        ("kube-system", "karpenter"),
        ("kube-system", "aws-load-balancer-controller"),
        ("keda", "keda-operator"),
        ("deepseek-serving", "vllm"),
        ("kube-system", "adot-collector"),  # the metrics collector: EMF into its log group
        ("deepseek-serving", "weights-sync"),
    }


def _pools(run) -> dict[str, dict]:
    return {
        engine_inputs(r)["metadata"]["name"]: engine_inputs(r)["spec"]
        for r in run.of_type("kubernetes:karpenter.sh/v1:NodePool")
    }


def test_gpu_nodepool_from_gpu_pool_config():
    pool = _pools(shared_run(STACK))["gpu"]
    req = {r["key"]: r["values"] for r in pool["template"]["spec"]["requirements"]}
    assert req["node.kubernetes.io/instance-type"] == ["g6e.xlarge", "g5.2xlarge"]
    assert req["karpenter.sh/capacity-type"] == ["spot"]
    assert pool["template"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert pool["limits"] == {"nodes": "2", "nvidia.com/gpu": "2"}
    assert pool["disruption"]["consolidationPolicy"] == "WhenEmpty"
    assert pool["disruption"]["budgets"] == [{"nodes": "1"}]


def test_on_demand_base_becomes_a_weighted_floor_pool():
    pools = _pools(shared_run(STACK, VARIANT))
    assert set(pools) == {"gpu", "gpu-on-demand-floor"}
    floor, main = pools["gpu-on-demand-floor"], pools["gpu"]
    assert floor["weight"] > main["weight"]
    assert floor["limits"]["nodes"] == "1" and main["limits"]["nodes"] == "1"
    capacity = {r["key"]: r["values"] for r in floor["template"]["spec"]["requirements"]}["karpenter.sh/capacity-type"]
    assert capacity == ["on-demand"]


def test_gpu_node_class_pins_the_ami_and_sizes_the_root_volume():
    node_class = inputs("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")["spec"]
    assert node_class["amiSelectorTerms"] == [{"alias": f"al2023@{versions.AMI_RELEASE}"}]
    ebs = node_class["blockDeviceMappings"][0]["ebs"]
    # The ECS sizing (components/gpu_node_pool.py): (30 AMI + 2 × 30 image + 15.2 GB weights) × 1.2 → 130.
    assert ebs["volumeSize"] == "130Gi" and ebs["throughput"] == 500 and ebs["encrypted"] is True
    assert node_class["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_cost_counts_control_plane_system_nodes_and_gpu_range():
    from stacks.cost import estimate

    run = shared_run(STACK)
    est = estimate(run.program_globals["context"], run.registrations)
    items = est["fixedItemsMonthly"]
    assert items["eksControlPlane"]["monthly"] == 73.0  # $0.10/h × 730
    # Root volumes: 40 GiB + the serving image (30) + the sync's scratch (21 GiB, Fargate's floor as on ECS),
    # rounded up to 100 (stacks/eks.py system_root_gib: the weight-sync Job runs on the system nodes).
    assert items["eksSystemNodes"]["monthly"] == round(2 * (0.1008 * 730 + 100 * 0.08), 2)
    assert est["rootVolume"]["sizeGiB"] == 130
    assert est["max"]["instances"] == 2 and est["min"]["instances"] == 0


@pytest.mark.parametrize(
    ("overrides", "path", "reason"),
    [
        ({"deepseek-cloud:eks.kubernetesVersion": "1.29"}, "eks.kubernetesVersion", "unknown Kubernetes version"),
        # Standard support ends 2026-12-02 (EKS version calendar, endoflife.date/amazon-eks): not offered.
        ({"deepseek-cloud:eks.kubernetesVersion": "1.34"}, "eks.kubernetesVersion", "unknown Kubernetes version"),
        ({"deepseek-cloud:eks.publicAccessCidrs": []}, "eks.publicAccessCidrs", "open to everyone"),
        (
            {"deepseek-cloud:environment": "prod", "deepseek-cloud:eks.publicAccessCidrs": ["0.0.0.0/0"]},
            "eks.publicAccessCidrs",
            "prod API server open to the internet",
        ),
        ({"deepseek-cloud:eks.endpointPublicAccess": False}, "eks.publicAccessCidrs", "set while"),
        ({"deepseek-cloud:gpuPool.instanceTypes": ["m7i.large"]}, "gpuPool.instanceTypes[0]", "has no NVIDIA GPU"),
        ({"deepseek-cloud:eks.systemPool.instanceType": "g6e.xlarge"}, "eks.systemPool.instanceType", "a GPU type"),
        ({"deepseek-cloud:gpuPool.minSize": 1}, "gpuPool.minSize", "pending pods"),
        (
            {"deepseek-cloud:gpuPool.spot.onDemandPercentageAboveBaseCapacity": 50},
            "gpuPool.spot.onDemandPercentageAboveBaseCapacity",
            "no percentage split",
        ),
    ],
)
def test_bad_eks_config_is_one_line_each(overrides, path, reason):
    with pytest.raises(ConfigError) as err:
        run_program(STACK, overrides=overrides)
    lines = [line for line in str(err.value).splitlines() if f"deepseek-cloud:{path}:" in line]
    assert len(lines) == 1 and reason in lines[0], str(err.value)


def test_private_only_endpoint_is_valid_with_a_warning():
    run = shared_run(STACK, VARIANT)
    assert any("must run there" in w for w in run.program_globals["context"].warnings)
    vpc = engine_inputs(run.one("aws:eks/cluster:Cluster"))["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False and vpc["endpointPrivateAccess"] is True


def test_preview_plans_and_passes_the_policy_pack():
    from offline import plan
    from offline.policy_bridge import check_planned_resources

    run = shared_run(STACK, preview=True)
    assert len(run.registrations) == len(shared_run(STACK).registrations)
    doc = plan.plan_document(run)
    assert doc["outputs"]["clusterEndpoint"] == plan.KNOWN_AFTER_DEPLOY
    assert doc["outputs"]["clusterName"] == "ds-eks-dev"  # set by the program: known
    assert check_planned_resources(run, "dev")["mandatory"] == []


def test_s3_loading_on_eks_needs_a_pinned_revision():
    # eks-dev's 7B distill pins a revision: s3 (the default) plans. V3 pins none: s3 is refused on EKS as on ECS.
    with pytest.raises(ConfigError) as err:
        run_program(
            "eks-r1", overrides={"deepseek-cloud:model.name": "deepseek-v3", "deepseek-cloud:model.loadFrom": "s3"}
        )
    (line,) = [x for x in str(err.value).splitlines() if "deepseek-cloud:model.loadFrom:" in x]
    assert "deepseek-v3 has no pinned revision in stacks/models.yaml" in line and "(got s3;" in line
