"""GpuNodePool: GPU instances for one ECS cluster — launch template, Auto Scaling group with a
spot/on-demand mix, and an ECS capacity provider that scales the group from the tasks' needs.

ECS managed scaling owns the group's desired capacity; managed termination protection keeps
instances with running tasks from being scaled in; managed draining moves tasks off instances that
Auto Scaling is about to terminate (spot rebalance, scale-in).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.shared.validation import ArgsProblems

GIB = 1024**3

# AWS's public SSM parameter: the current ECS GPU-optimized Amazon Linux 2023 AMI (NVIDIA driver,
# NVIDIA container toolkit, ECS agent). Read at plan time so the plan shows which AMI it launches.
GPU_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
# The same AMI without the NVIDIA stack, for CPU pools (a cpu tier).
CPU_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"

# Root volume budget. The AMI's own snapshot is 30 GiB (aws/amazon-ecs-ami: block_device_size_gb
# default 30); the launch template may grow it but never shrink it.
AMI_SNAPSHOT_GIB = 30
# vllm/vllm-openai unpacks to ~29 GB (vllm-project/vllm PR #22377: "official vllm-openai:latest
# docker image: 28.6 GB"; ~12 GB to pull, vllm issue #27154). Two copies fit: the running tag and the
# next one while a deployment replaces it (the agent deletes the old one an hour later).
INFERENCE_IMAGE_GIB = 30
IMAGE_COPIES = 2
ROOT_HEADROOM = 1.2  # docker logs, vLLM/torch compile caches, tmp; gp3 cannot shrink later
ROOT_VOLUME_STEP_GIB = 10


def root_volume_gib(weights_bytes: float) -> int:
    """Root volume that holds the AMI, two inference images and one copy of the weights (the host
    cache is shared by every replica on the instance), with headroom; rounded up to 10 GiB."""
    needed = (AMI_SNAPSHOT_GIB + IMAGE_COPIES * INFERENCE_IMAGE_GIB + weights_bytes / GIB) * ROOT_HEADROOM
    return int(math.ceil(needed / ROOT_VOLUME_STEP_GIB) * ROOT_VOLUME_STEP_GIB)


@dataclass(frozen=True)
class SpotMix:
    """The Auto Scaling instances distribution. enabled=False means on-demand only."""

    enabled: bool = True
    on_demand_base_capacity: int = 0
    on_demand_percentage_above_base_capacity: int = 0
    spot_allocation_strategy: Literal[
        "price-capacity-optimized", "capacity-optimized", "capacity-optimized-prioritized", "lowest-price"
    ] = "price-capacity-optimized"


@dataclass(frozen=True)
class GpuNodePoolArgs:
    instance_types: tuple[str, ...] = ()  # first = preferred on-demand type (allocation "prioritized")
    architectures: tuple[str, ...] = ("x86_64",)  # each type's CPU architecture; the GPU AMI is x86_64
    cluster_name: pulumi.Input[str] = ""  # the ECS cluster the instances join
    vpc_id: pulumi.Input[str] = ""
    subnet_ids: pulumi.Input[list[str]] = field(default_factory=list)  # private subnets, one per AZ
    min_size: int = 0
    max_size: int = 1
    target_capacity: int = 100  # ECS managed scaling: percent of instances that should run tasks
    spot: SpotMix = SpotMix()
    kms_key_arn: pulumi.Input[str] = ""  # encrypts the root volume (customer-managed key)
    root_volume_gib: int = 0  # 0 = root_volume_gib(weights_bytes)
    weights_bytes: float = 0.0  # the model's weights: sizes the root volume
    # gp3 baseline is 125 MiB/s; weights load from disk at the volume's throughput, so buy more.
    root_volume_throughput_mibps: int = 500  # gp3 allows up to 0.25 MiB/s per provisioned IOPS
    root_volume_iops: int = 3000  # gp3 baseline, no charge
    # Bridge-mode tasks are reached on the instance's ephemeral ports; awsvpc tasks have their own
    # ENI and security group, so the instances then need no ingress at all (leave this empty).
    ingress_security_group_ids: tuple[pulumi.Input[str], ...] = ()
    ingress_port_range: tuple[int, int] = (32768, 65535)
    # Under the 2-minute spot notice: the agent's SIGTERM→SIGKILL wait for containers without their own.
    container_stop_timeout_seconds: int = 30
    reserved_memory_mib: int = 1024  # kept from tasks for the ECS agent, Docker and the OS daemons
    instance_boot_seconds: int = 300  # GPU instance to registered ECS agent (driver load, agent start)
    ami_parameter: str = GPU_AMI_PARAMETER
    extra_user_data: str = ""  # shell lines run after the ECS agent config (e.g. the CloudWatch agent)
    extra_instance_policy_arns: tuple[str, ...] = ()  # managed policies those lines need
    permissions_boundary_arn: str = ""  # the instance role's permissions boundary; "" = none
    gpu: bool = True  # False: a CPU pool (a cpu tier): ami_parameter names the standard ECS AMI, no GPU support


class GpuNodePool(pulumi.ComponentResource):
    asg_name: pulumi.Output[str]
    asg_arn: pulumi.Output[str]
    capacity_provider_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    launch_template_id: pulumi.Output[str]
    image_id: str
    root_volume_gib: int

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:compute:GpuNodePool", name, None, opts)
        self.root_volume_gib = args.root_volume_gib or root_volume_gib(args.weights_bytes)
        _validate(args, self.root_volume_gib)
        child = pulumi.ResourceOptions(parent=self)

        self.image_id = aws.ssm.get_parameter(name=args.ami_parameter).insecure_value

        role = aws.iam.Role(
            f"{name}-instance",
            assume_role_policy=_ec2_trust_policy(),
            description="GPU container instances: ECS agent and SSM Session Manager",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        # The ECS agent's own permissions (register, poll, pull from ECR) and SSM access instead of SSH.
        for suffix, policy in (
            ("ecs", "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"),
            ("ssm", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
            *((f"extra-{i}", arn) for i, arn in enumerate(args.extra_instance_policy_arns)),
        ):
            aws.iam.RolePolicyAttachment(f"{name}-instance-{suffix}", role=role.name, policy_arn=policy, opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-instance", role=role.name, opts=child)

        sg = aws.ec2.SecurityGroup(
            f"{name}-instances",
            vpc_id=args.vpc_id,
            description=(
                "GPU container instances: inbound from the load balancer to container ports only; all outbound"
                if args.ingress_security_group_ids
                else "GPU container instances: no inbound (tasks have their own ENIs); all outbound"
            ),
            tags={"Name": f"{name}-instances"},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-all",
            security_group_id=sg.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="ECS control plane, ECR/Docker Hub image pulls, SSM, S3 (via the gateway endpoint)",
            opts=child,
        )
        low, high = args.ingress_port_range
        for i, source in enumerate(args.ingress_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-lb-{i}",
                security_group_id=sg.id,
                referenced_security_group_id=source,
                ip_protocol="tcp",
                from_port=low,
                to_port=high,
                description="Load balancer to bridge-mode container ports",
                opts=child,
            )

        user_data = pulumi.Output.from_input(args.cluster_name).apply(
            lambda cluster: base64.b64encode(_user_data(cluster, args).encode()).decode()
        )
        lt = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description="ECS GPU-optimized AL2023 container instance",
            image_id=self.image_id,
            iam_instance_profile={"arn": profile.arn},
            user_data=user_data,
            update_default_version=True,
            ebs_optimized=True,
            monitoring={"enabled": True},  # 1-minute instance metrics for the capacity alarms
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",  # IMDSv2 only: no SSRF-style credential reads through a GET
                # One hop: the instance itself reaches IMDS, containers behind Docker's bridge (one more
                # hop) cannot; tasks get their credentials from their task role, not the instance role.
                "http_put_response_hop_limit": 1,
                "instance_metadata_tags": "disabled",
            },
            network_interfaces=[
                {
                    "device_index": 0,
                    "associate_public_ip_address": "false",  # private subnets; egress through NAT
                    "security_groups": [sg.id],
                    "delete_on_termination": "true",
                }
            ],
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",  # the AL2023 ECS AMI's root device
                    "ebs": {
                        "volume_type": "gp3",
                        "volume_size": self.root_volume_gib,
                        "iops": args.root_volume_iops,
                        "throughput": args.root_volume_throughput_mibps,
                        "encrypted": "true",
                        "kms_key_id": args.kms_key_arn,
                        "delete_on_termination": "true",
                    },
                }
            ],
            tag_specifications=[
                {"resource_type": "instance", "tags": {"Name": f"{name}-gpu"}},
                {"resource_type": "volume", "tags": {"Name": f"{name}-gpu-root"}},
            ],
            opts=child,
        )

        spot = args.spot
        distribution = {
            # Spot off: everything on demand, whatever the split says.
            "on_demand_base_capacity": spot.on_demand_base_capacity if spot.enabled else 0,
            "on_demand_percentage_above_base_capacity": (
                spot.on_demand_percentage_above_base_capacity if spot.enabled else 100
            ),
            "on_demand_allocation_strategy": "prioritized",  # instance_types order is the preference
            "spot_allocation_strategy": spot.spot_allocation_strategy,
        }
        asg = aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=args.subnet_ids,
            min_size=args.min_size,
            max_size=args.max_size,
            desired_capacity=args.min_size,  # initial only: ECS managed scaling owns it afterwards
            mixed_instances_policy={
                "launch_template": {
                    "launch_template_specification": {
                        "launch_template_id": lt.id,
                        # New launches pick up template changes; running instances keep theirs until
                        # ECS drains and replaces them (managed termination protection blocks refreshes).
                        "version": "$Latest",
                    },
                    "overrides": [{"instance_type": t} for t in args.instance_types],
                },
                "instances_distribution": distribution,
            },
            capacity_rebalance=True,  # replace spot instances at elevated risk before their 2-minute notice
            # Group metrics feed the "GPU pool below minimum" alarm and the dashboard; AWS publishes none by default.
            enabled_metrics=[
                "GroupMinSize",
                "GroupMaxSize",
                "GroupDesiredCapacity",
                "GroupInServiceInstances",
                "GroupPendingInstances",
                "GroupTerminatingInstances",
            ],
            metrics_granularity="1Minute",
            protect_from_scale_in=True,  # required by managed termination protection
            health_check_type="EC2",
            health_check_grace_period=2 * args.instance_boot_seconds,
            default_instance_warmup=args.instance_boot_seconds,
            # Spot capacity can take a while; `pulumi up` should not fail waiting for instances that
            # ECS will launch anyway when tasks need them.
            wait_for_capacity_timeout="0",
            # Scale-in protected instances would block deletion; force-delete terminates them.
            force_delete=True,
            tags=[
                {"key": "Name", "value": f"{name}-gpu", "propagate_at_launch": True},
                # ECS adds this tag when managed scaling is on; declaring it keeps plans from flapping.
                {"key": "AmazonECSManaged", "value": "true", "propagate_at_launch": True},
            ],
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )
        cp = aws.ecs.CapacityProvider(
            f"{name}-cp",
            auto_scaling_group_provider={
                "auto_scaling_group_arn": asg.arn,
                "managed_termination_protection": "ENABLED",
                "managed_draining": "ENABLED",
                "managed_scaling": {
                    "status": "ENABLED",
                    "target_capacity": args.target_capacity,
                    "minimum_scaling_step_size": 1,
                    "maximum_scaling_step_size": max(1, min(args.max_size, 10)),
                    "instance_warmup_period": args.instance_boot_seconds,
                },
            },
            opts=child,
        )
        self.asg_name = asg.name
        self.asg_arn = asg.arn
        self.capacity_provider_name = cp.name
        self.security_group_id = sg.id
        self.launch_template_id = lt.id
        self.instance_role_name = role.name
        self.register_outputs(
            {
                "asgName": self.asg_name,
                "asgArn": self.asg_arn,
                "capacityProviderName": self.capacity_provider_name,
                "securityGroupId": self.security_group_id,
                "launchTemplateId": self.launch_template_id,
            }
        )


def _user_data(cluster: str, args: GpuNodePoolArgs) -> str:
    """/etc/ecs/ecs.config for the ECS agent (read by ecs-init at boot)."""
    settings = {
        "ECS_CLUSTER": cluster,
        **({"ECS_ENABLE_GPU_SUPPORT": "true"} if args.gpu else {}),  # advertise the GPUs so tasks can reserve them
        "ECS_ENABLE_SPOT_INSTANCE_DRAINING": "true",  # drain tasks on the 2-minute spot notice
        # Tags are pinned, so a cached image is the right image: skip re-pulling ~12 GB on restarts.
        "ECS_IMAGE_PULL_BEHAVIOR": "prefer-cached",
        "ECS_CONTAINER_STOP_TIMEOUT": f"{args.container_stop_timeout_seconds}s",
        "ECS_RESERVED_MEMORY": str(args.reserved_memory_mib),
        "ECS_AWSVPC_BLOCK_IMDS": "true",  # awsvpc tasks have their own ENI; keep them off the instance role
        "ECS_ENABLE_TASK_IAM_ROLE": "true",
        "ECS_CONTAINER_INSTANCE_PROPAGATE_TAGS_FROM": "ec2_instance",
    }
    lines = "\n".join(f"{k}={v}" for k, v in settings.items())
    script = f"#!/bin/bash\ncat >> /etc/ecs/ecs.config <<'ECS_EOF'\n{lines}\nECS_EOF\n"
    if args.extra_user_data:
        # After the agent config, in a subshell: a failure there must not keep the instance out of the cluster.
        script += f"(\n{args.extra_user_data.rstrip()}\n) || echo 'extra user data failed' >&2\n"
    return script


def _ec2_trust_policy() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def _validate(args: GpuNodePoolArgs, root_gib: int) -> None:
    problems = ArgsProblems("GpuNodePool")
    problems.check(bool(args.instance_types), "instanceTypes", "needs at least one instance type")
    problems.check(len(set(args.instance_types)) == len(args.instance_types), "instanceTypes", "lists a type twice")
    problems.check(
        all(a == "x86_64" for a in args.architectures), "instanceTypes", "the ECS GPU-optimized AMI is x86_64 only"
    )
    problems.check(not isinstance(args.cluster_name, str) or bool(args.cluster_name), "clusterName", "is required")
    problems.check(0 <= args.min_size <= args.max_size, "minSize", "must be between 0 and maxSize")
    problems.check(args.max_size >= 1, "maxSize", "must be at least 1")
    problems.check(1 <= args.target_capacity <= 100, "targetCapacity", "ECS allows 1-100 percent")
    problems.check(
        0 <= args.spot.on_demand_base_capacity <= args.max_size,
        "spot.onDemandBaseCapacity",
        "must be between 0 and maxSize",
    )
    problems.check(
        0 <= args.spot.on_demand_percentage_above_base_capacity <= 100,
        "spot.onDemandPercentageAboveBaseCapacity",
        "must be 0-100",
    )
    problems.check(
        root_gib >= AMI_SNAPSHOT_GIB,
        "rootVolumeGiB",
        f"the AMI's root snapshot is {AMI_SNAPSHOT_GIB} GiB; a volume cannot be smaller",
    )
    problems.check(root_gib <= 16384, "rootVolumeGiB", "gp3 volumes stop at 16384 GiB")
    problems.check(
        125 <= args.root_volume_throughput_mibps <= min(2000, args.root_volume_iops // 4),
        "rootVolumeThroughputMibps",
        "gp3 takes 125-2000 MiB/s and at most IOPS/4",
    )
    problems.check(3000 <= args.root_volume_iops <= 80000, "rootVolumeIops", "gp3 takes 3000-80000 IOPS")
    problems.check(
        args.container_stop_timeout_seconds < 120,
        "containerStopTimeoutSeconds",
        "must end before the 2-minute spot interruption",
    )
    low, high = args.ingress_port_range
    problems.check(1 <= low <= high <= 65535, "ingressPortRange", "must be a port range within 1-65535")
    problems.raise_if_any()
    if args.weights_bytes and root_gib < root_volume_gib(args.weights_bytes):
        pulumi.log.warn(
            f"gpuPool.rootVolumeGiB {root_gib} is below the {root_volume_gib(args.weights_bytes)} GiB the image "
            "and weights need; tasks may fail with 'no space left on device'"
        )
