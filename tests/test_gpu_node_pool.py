"""GpuNodePool through the real program: launch template, Auto Scaling group, capacity provider.

Each test does its own fresh run of __main__.py under the offline mocks.
"""

from __future__ import annotations

import base64

import pytest

from components.ecs.capacity import GPU_AMI_PARAMETER, root_volume_gib
from offline.harness import ProgramRun, run_program, shared_run
from stacks.errors import ConfigError

ASG = "aws:autoscaling/group:Group"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
CP = "aws:ecs/capacityProvider:CapacityProvider"
SPOT = "deepseek-cloud:gpuPool.spot"


def distribution(run: ProgramRun) -> dict:
    return run.one(ASG).inputs["mixedInstancesPolicy"]["instancesDistribution"]


def instance_security_group(run: ProgramRun) -> str:
    """The pool's security group id, as the launch template's network interface carries it."""
    [nic] = run.one(LT).inputs["networkInterfaces"]
    [sg_id] = nic["securityGroups"]
    return sg_id


def user_data(run: ProgramRun) -> str:
    return base64.b64decode(run.one(LT).inputs["userData"]).decode()


def ecs_config(run: ProgramRun) -> dict[str, str]:
    body = user_data(run).split("<<'ECS_EOF'\n", 1)[1].split("\nECS_EOF", 1)[0]
    return dict(line.split("=", 1) for line in body.splitlines())


# One run for the pool settings that land on different fields (the spot split on the ASG's instances
# distribution, the type list on its overrides, targetCapacity on the capacity provider, the root volume on the
# launch template); each differs from dev's own value, so each test below still fails if its setting is lost.
POOL_VARIANT = {
    f"{SPOT}.enabled": True,
    f"{SPOT}.onDemandBaseCapacity": 1,
    f"{SPOT}.onDemandPercentageAboveBaseCapacity": 25,
    f"{SPOT}.spotAllocationStrategy": "capacity-optimized",
    "deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarge", "g6e.2xlarge"],
    "deepseek-cloud:gpuPool.targetCapacity": 80,
    "deepseek-cloud:gpuPool.rootVolumeGiB": 400,
}


def test_spot_split_reaches_the_instances_distribution() -> None:
    run = shared_run("dev", POOL_VARIANT)
    d = distribution(run)
    assert d["onDemandBaseCapacity"] == 1
    assert d["onDemandPercentageAboveBaseCapacity"] == 25
    assert d["spotAllocationStrategy"] == "capacity-optimized"
    assert d["onDemandAllocationStrategy"] == "prioritized"


def test_spot_disabled_means_all_on_demand() -> None:
    run = run_program(
        "dev",
        overrides={
            f"{SPOT}.enabled": False,
            f"{SPOT}.onDemandBaseCapacity": 1,
            f"{SPOT}.onDemandPercentageAboveBaseCapacity": 25,
        },
    )
    d = distribution(run)
    assert d["onDemandBaseCapacity"] == 0
    assert d["onDemandPercentageAboveBaseCapacity"] == 100


def test_every_instance_type_is_an_override_in_order() -> None:
    run = shared_run("dev", POOL_VARIANT)
    overrides = run.one(ASG).inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]
    assert [o["instanceType"] for o in overrides] == ["g6e.xlarge", "g6e.2xlarge"]


def test_launch_template_imdsv2_hop_limit_one_no_public_ip_encrypted_root() -> None:
    run = shared_run("dev")
    lt = run.one(LT).inputs
    assert lt["metadataOptions"]["httpTokens"] == "required"
    assert lt["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert lt["metadataOptions"]["httpEndpoint"] == "enabled"
    [nic] = lt["networkInterfaces"]
    assert nic["associatePublicIpAddress"] == "false"
    assert len(nic["securityGroups"]) == 1 and nic["securityGroups"][0].startswith("sg-")
    [root] = lt["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda"
    ebs = root["ebs"]
    assert ebs["encrypted"] == "true"
    assert ebs["volumeType"] == "gp3"
    assert ebs["kmsKeyId"] == run.one("aws:kms/key:Key").outputs["arn"]
    # 7B distill: 15.23 GB checkpoint -> (30 AMI + 2 x 30 image + 14.2 weights) x 1.2 = 125 -> 130 GiB
    assert ebs["volumeSize"] == 130 == root_volume_gib(15.23e9)
    assert ebs["throughput"] == 500 and ebs["iops"] == 3000
    assert {t["resourceType"] for t in lt["tagSpecifications"]} == {"instance", "volume"}


def test_ami_comes_from_aws_public_ssm_parameter() -> None:
    run = shared_run("dev")
    # The value AWS's public parameter held when moto 5.2.5 recorded it (moto/ssm/resources), per region:
    # the mock answers from that recording, so a concrete id shows the program used the parameter it names.
    assert GPU_AMI_PARAMETER == "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
    assert run.one(LT).inputs["imageId"] == "ami-0ca77a28d8801702a"
    assert "aws:ssm/getParameter:getParameter" in run.calls


def test_user_data_joins_cluster_with_gpu_and_spot_draining() -> None:
    run = shared_run("dev")
    config = ecs_config(run)
    assert config["ECS_CLUSTER"] == run.one("aws:ecs/cluster:Cluster").outputs["name"]
    assert config["ECS_ENABLE_GPU_SUPPORT"] == "true"
    assert config["ECS_ENABLE_SPOT_INSTANCE_DRAINING"] == "true"
    assert config["ECS_IMAGE_PULL_BEHAVIOR"] == "prefer-cached"
    assert config["ECS_AWSVPC_BLOCK_IMDS"] == "true"
    stop = int(config["ECS_CONTAINER_STOP_TIMEOUT"].removesuffix("s"))
    assert stop == 30 < 120
    # The CloudWatch agent (GPU metrics for the alarms) runs after the agent config, and may fail alone.
    assert "amazon-cloudwatch-agent" in user_data(run).split("\nECS_EOF\n", 1)[1]


def test_asg_is_owned_by_ecs_managed_scaling() -> None:
    run = shared_run("dev")
    asg = run.one(ASG)
    assert asg.ignore_changes == ["desiredCapacity"]
    assert asg.inputs["protectFromScaleIn"] is True
    assert asg.inputs["capacityRebalance"] is True
    assert asg.inputs["vpcZoneIdentifiers"] == run.outputs["privateSubnetIds"]
    assert asg.inputs["minSize"] == 0 and asg.inputs["maxSize"] == 2
    assert asg.inputs["defaultInstanceWarmup"] == 300
    assert asg.inputs["healthCheckGracePeriod"] == 600
    managed = [t for t in asg.inputs["tags"] if t["key"] == "AmazonECSManaged"]
    assert managed == [{"key": "AmazonECSManaged", "value": "true", "propagateAtLaunch": True}]
    spec = asg.inputs["mixedInstancesPolicy"]["launchTemplate"]["launchTemplateSpecification"]
    assert spec["launchTemplateId"].startswith("lt-") and spec["version"] == "$Latest"


def test_capacity_provider_managed_scaling_termination_protection_and_draining() -> None:
    run = shared_run("dev", POOL_VARIANT)
    provider = run.one(CP).inputs["autoScalingGroupProvider"]
    assert provider["autoScalingGroupArn"] == run.one(ASG).outputs["arn"]
    assert provider["managedTerminationProtection"] == "ENABLED"
    assert provider["managedDraining"] == "ENABLED"
    scaling = provider["managedScaling"]
    assert scaling["status"] == "ENABLED"
    assert scaling["targetCapacity"] == 80
    assert scaling["minimumScalingStepSize"] == 1 and scaling["maximumScalingStepSize"] == 2
    association = run.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders").inputs
    assert association["capacityProviders"] == [run.one(CP).outputs["name"]]


def test_instance_security_group_has_no_ingress_and_described_egress() -> None:
    run = shared_run("dev")
    sg_id = instance_security_group(run)
    ingress = [
        r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == sg_id
    ]  # fmt: skip
    assert ingress == []  # awsvpc: tasks have their own ENI and security group
    egress = [
        r for r in run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.inputs["securityGroupId"] == sg_id
    ]  # fmt: skip
    assert [(r.inputs["ipProtocol"], r.inputs["cidrIpv4"]) for r in egress] == [("-1", "0.0.0.0/0")]
    assert all(r.inputs.get("description") for r in egress)


def test_instance_role_has_ecs_ssm_and_cloudwatch_agent_policies() -> None:
    run = shared_run("dev")
    role = run.by_name("ds-dev-vllm-pool-instance")
    attached = {
        a.inputs["policyArn"]
        for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role.outputs["name"]
    }
    assert attached == {
        "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    }


def test_region_and_model_change_the_pool() -> None:
    base = shared_run("dev")
    moved = run_program(
        "dev",
        overrides={"aws:region": "eu-west-1", "deepseek-cloud:gpuPool.instanceTypes": ["g5.2xlarge", "g5.4xlarge"]},
    )
    assert moved.one(LT).inputs["imageId"] == "ami-05db4db06e751ab89"  # eu-west-1's value of the same parameter
    assert moved.one(LT).inputs["imageId"] != base.one(LT).inputs["imageId"]
    azs = {s.inputs["availabilityZone"] for s in moved.of_type("aws:ec2/subnet:Subnet")}
    assert azs == {"eu-west-1a", "eu-west-1b"}
    overrides = moved.one(ASG).inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]
    assert [o["instanceType"] for o in overrides] == ["g5.2xlarge", "g5.4xlarge"]

    bigger = run_program("dev", overrides={"deepseek-cloud:model.name": "deepseek-r1-distill-qwen-14b",
                                           "deepseek-cloud:gpuPool.instanceTypes": ["g6e.xlarge"]})  # fmt: skip
    # 29.54 GB checkpoint: (30 + 60 + 27.5) x 1.2 = 141 -> 150 GiB
    assert bigger.one(LT).inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 150


def test_explicit_root_volume_size_wins_and_too_small_is_rejected() -> None:
    run = shared_run("dev", POOL_VARIANT)
    assert run.one(LT).inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 400
    # Reported by the config checks before anything is declared (the component's own check: test_config_first).
    with pytest.raises(ConfigError, match=r"deepseek-cloud:gpuPool\.rootVolumeGiB: smaller than .* 30 GiB"):
        run_program("dev", overrides={"deepseek-cloud:gpuPool.rootVolumeGiB": 20})


def test_group_metrics_are_enabled_for_the_capacity_alarm() -> None:
    run = shared_run("prod")
    asg = run.one("aws:autoscaling/group:Group")
    assert "GroupInServiceInstances" in asg.inputs["enabledMetrics"]
    assert asg.inputs["metricsGranularity"] == "1Minute"
