"""GpuNodePool: GPU instances for one ECS cluster — launch template, Auto Scaling group with a
spot/on-demand mix, and an ECS capacity provider that scales the group from the tasks' needs.

ECS managed scaling owns the group's desired capacity; managed termination protection keeps
instances with running tasks from being scaled in; managed draining moves tasks off instances that
Auto Scaling is about to terminate (spot rebalance, scale-in).

Optionally (WarmPool, on-demand groups of one instance type only) an EC2 Auto Scaling warm pool of stopped
instances that pulled the serving image before they were stopped: a scale-out then starts an instance
instead of launching one and pulling ~12 GB. With ECS capacity providers: managed scaling draws on the warm
pool like any scale-out (ECS developer guide, "Configuring pre-initialized instances"); scale-in terminates
(ReuseOnScaleIn is not supported by ECS). aws/containers-roadmap#1471 (closed) reported scale-in stalling on
"all remaining instances are protected from scale-in" with warm pools in 2021: watch for it.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.shared.ebs import (
    GP3_MAX_GIB,
    GP3_MAX_IOPS,
    GP3_MAX_MIBPS,
    GP3_MIBPS_PER_IOPS,
    GP3_MIN_IOPS,
    GP3_MIN_MIBPS,
)
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
class WarmPool:
    """An EC2 Auto Scaling warm pool of stopped instances whose root volume already holds the serving image.

    - Stopped: a stopped instance costs its EBS volumes only, no instance hours (EC2 StartInstances API
      reference: "When an instance is stopped, the compute resources are released and you are not billed for
      instance usage. However, your root partition Amazon EBS volume remains ... and you are charged for
      Amazon EBS volume usage"; "a one-minute minimum for instance usage" on every start).
    - No Spot, no mixed instances policy: PutWarmPool "cannot be called on an Auto Scaling group that has a
      mixed instances policy or a launch template or launch configuration that requests Spot Instances"
      (EC2 Auto Scaling API reference, PutWarmPool). A pool with a warm pool therefore launches one on-demand
      instance type from its launch template (the config layer refuses spot or several types with it).
    - ECS: `ECS_WARM_POOLS_CHECK=true` in the agent config, agent 1.59.0 or later (the AL2023 ECS AMI ships
      1.106.2: aws/amazon-ecs-ami release-al2023.auto.pkrvars.hcl), and `ReuseOnScaleIn` not supported
      (ECS developer guide, "Configuring pre-initialized instances for your Amazon ECS Auto Scaling group";
      awsdocs/amazon-ecs-developer-guide#216: reuse breaks capacity-provider scale-in).
    """

    enabled: bool = False
    min_size: int = 0  # instances kept in the pool, stopped
    max_group_prepared_capacity: int = 0  # 0 = AWS's default: the pool holds maxSize - desired
    # Warmed:Pending:Wait allowance for the pre-pull (package install, ECR login, ~12 GB pull); the script
    # completes the lifecycle action itself, this is only the fallback (30-7200 s: PutLifecycleHook).
    prepull_timeout_seconds: int = 1800


WARM_POOL_HOOK = "deepseek-warm-pool-prepull"


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
    warm_pool: WarmPool = WarmPool()
    prepull_image: pulumi.Input[str] = ""  # the serving image (ECR, by digest) a warm-pool instance pulls
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
        self._child = pulumi.ResourceOptions(parent=self)
        self.image_id = aws.ssm.get_parameter(name=args.ami_parameter).insecure_value

        role, profile = self._instance_role(name, args)
        sg = self._security_group(name, args)
        lt = self._launch_template(name, args, profile, sg)
        asg = self._group(name, args, lt)
        if args.warm_pool.enabled:
            self._warm_pool_hook(name, args, asg, role)
        cp = self._capacity_provider(name, args, asg)

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

    def _instance_role(self, name: str, args: GpuNodePoolArgs) -> tuple[aws.iam.Role, aws.iam.InstanceProfile]:
        role = aws.iam.Role(
            f"{name}-instance",
            assume_role_policy=_ec2_trust_policy(),
            description="GPU container instances: ECS agent and SSM Session Manager",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=self._child,
        )
        # The ECS agent's own permissions (register, poll, pull from ECR) and SSM access instead of SSH.
        for suffix, policy in (
            ("ecs", "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"),
            ("ssm", "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
            *((f"extra-{i}", arn) for i, arn in enumerate(args.extra_instance_policy_arns)),
        ):
            aws.iam.RolePolicyAttachment(
                f"{name}-instance-{suffix}", role=role.name, policy_arn=policy, opts=self._child
            )
        profile = aws.iam.InstanceProfile(f"{name}-instance", role=role.name, opts=self._child)
        return role, profile

    def _security_group(self, name: str, args: GpuNodePoolArgs) -> aws.ec2.SecurityGroup:
        sg = aws.ec2.SecurityGroup(
            f"{name}-instances",
            vpc_id=args.vpc_id,
            description=(
                "GPU container instances: inbound from the load balancer to container ports only; all outbound"
                if args.ingress_security_group_ids
                else "GPU container instances: no inbound (tasks have their own ENIs); all outbound"
            ),
            tags={"Name": f"{name}-instances"},
            opts=self._child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-all",
            security_group_id=sg.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="ECS control plane, ECR/Docker Hub image pulls, SSM, S3 (via the gateway endpoint)",
            opts=self._child,
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
                opts=self._child,
            )
        return sg

    def _launch_template(
        self, name: str, args: GpuNodePoolArgs, profile: aws.iam.InstanceProfile, sg: aws.ec2.SecurityGroup
    ) -> aws.ec2.LaunchTemplate:
        user_data = pulumi.Output.all(args.cluster_name, args.prepull_image).apply(
            lambda a: base64.b64encode(_user_data(a[0], args, a[1]).encode()).decode()
        )
        return aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description="ECS GPU-optimized AL2023 container instance",
            image_id=self.image_id,
            # A warm-pool group has no mixed instances policy: the template names the one type it launches.
            instance_type=args.instance_types[0] if args.warm_pool.enabled else None,
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
            opts=self._child,
        )

    def _group(self, name: str, args: GpuNodePoolArgs, lt: aws.ec2.LaunchTemplate) -> aws.autoscaling.Group:
        # New launches pick up template changes; running instances keep theirs until ECS drains and replaces
        # them (managed termination protection blocks refreshes).
        template = {"launch_template_id": lt.id, "version": "$Latest"}
        if args.warm_pool.enabled:
            capacity: dict[str, Any] = {
                "launch_template": {"id": lt.id, "version": "$Latest"},
                "warm_pool": _warm_pool(args.warm_pool),
            }
        else:
            capacity = {
                "mixed_instances_policy": {
                    "launch_template": {
                        "launch_template_specification": template,
                        "overrides": [{"instance_type": t} for t in args.instance_types],
                    },
                    "instances_distribution": _distribution(args.spot),
                }
            }
        return aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=args.subnet_ids,
            min_size=args.min_size,
            max_size=args.max_size,
            desired_capacity=args.min_size,  # initial only: ECS managed scaling owns it afterwards
            **capacity,
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

    def _warm_pool_hook(self, name: str, args: GpuNodePoolArgs, asg: aws.autoscaling.Group, role: aws.iam.Role) -> None:
        """The launch lifecycle hook that holds a warm-pool instance in Warmed:Pending:Wait until its pre-pull
        is done (EC2 Auto Scaling user guide, "Use lifecycle hooks with a warm pool": without a hook, Auto
        Scaling stops the instance as soon as it has launched and "does not wait for user data to finish").
        The same hook pauses the instance again in Pending:Wait when it leaves the pool; the boot script
        completes that at once. A separate resource, not initial_lifecycle_hooks: those apply only when
        the group is created (terraform-provider-aws autoscaling_group docs), and prod's group exists."""
        aws.autoscaling.LifecycleHook(
            f"{name}-warm-prepull",
            name=WARM_POOL_HOOK,
            autoscaling_group_name=asg.name,
            lifecycle_transition="autoscaling:EC2_INSTANCE_LAUNCHING",
            heartbeat_timeout=args.warm_pool.prepull_timeout_seconds,
            default_result="CONTINUE",  # a failed pre-pull still yields a usable instance (it pulls at task start)
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{name}-instance-lifecycle",
            role=role.name,
            policy=asg.arn.apply(_lifecycle_policy),
            opts=self._child,
        )

    def _capacity_provider(
        self, name: str, args: GpuNodePoolArgs, asg: aws.autoscaling.Group
    ) -> aws.ecs.CapacityProvider:
        return aws.ecs.CapacityProvider(
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
            opts=self._child,
        )


def _distribution(spot: SpotMix) -> dict[str, Any]:
    return {
        # Spot off: everything on demand, whatever the split says.
        "on_demand_base_capacity": spot.on_demand_base_capacity if spot.enabled else 0,
        "on_demand_percentage_above_base_capacity": (
            spot.on_demand_percentage_above_base_capacity if spot.enabled else 100
        ),
        "on_demand_allocation_strategy": "prioritized",  # instance_types order is the preference
        "spot_allocation_strategy": spot.spot_allocation_strategy,
    }


def _warm_pool(warm: WarmPool) -> dict[str, Any]:
    return {
        "pool_state": "Stopped",  # EBS only while waiting
        # terraform-provider-aws#44732 (open): a min_size of 0 is not sent on update, so lowering it from 1 to
        # 0 leaves 1 in AWS; remove and re-add the warm pool (enabled false, then true) to get 0.
        "min_size": warm.min_size,
        # -1 = unset: the pool then holds maxSize - desired (PutWarmPool MaxGroupPreparedCapacity).
        "max_group_prepared_capacity": warm.max_group_prepared_capacity or -1,
        # ECS refuses ReuseOnScaleIn (ECS developer guide, "Configuring pre-initialized instances ...").
        "instance_reuse_policy": {"reuse_on_scale_in": False},
    }


def _lifecycle_policy(asg_arn: str) -> str:
    """The boot script's two Auto Scaling calls: find its group, complete the launch hook on that group."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CompleteOwnLaunchHook",
                    "Effect": "Allow",
                    "Action": "autoscaling:CompleteLifecycleAction",
                    "Resource": asg_arn,
                },
                {
                    # Describe* actions take no resource-level permissions (Service Authorization Reference).
                    "Sid": "FindOwnGroup",
                    "Effect": "Allow",
                    "Action": "autoscaling:DescribeAutoScalingInstances",
                    "Resource": "*",
                },
            ],
        }
    )


def _user_data(cluster: str, args: GpuNodePoolArgs, prepull_image: str = "") -> str:
    """/etc/ecs/ecs.config for the ECS agent (read by ecs-init at boot), and with a warm pool the pre-pull."""
    settings = {
        "ECS_CLUSTER": cluster,
        **({"ECS_ENABLE_GPU_SUPPORT": "true"} if args.gpu else {}),  # advertise the GPUs so tasks can reserve them
        "ECS_ENABLE_SPOT_INSTANCE_DRAINING": "true",  # drain tasks on the 2-minute spot notice
        # Tags are pinned, so a cached image is the right image: skip re-pulling ~12 GB on restarts (and use
        # the image a warm-pool instance pulled before it was stopped).
        "ECS_IMAGE_PULL_BEHAVIOR": "prefer-cached",
        "ECS_CONTAINER_STOP_TIMEOUT": f"{args.container_stop_timeout_seconds}s",
        "ECS_RESERVED_MEMORY": str(args.reserved_memory_mib),
        "ECS_AWSVPC_BLOCK_IMDS": "true",  # awsvpc tasks have their own ENI; keep them off the instance role
        "ECS_ENABLE_TASK_IAM_ROLE": "true",
        "ECS_CONTAINER_INSTANCE_PROPAGATE_TAGS_FROM": "ec2_instance",
        # The agent does not register while the instance is headed for the warm pool (agent 1.59.0+).
        **({"ECS_WARM_POOLS_CHECK": "true"} if args.warm_pool.enabled else {}),
    }
    lines = "\n".join(f"{k}={v}" for k, v in settings.items())
    script = f"#!/bin/bash\ncat >> /etc/ecs/ecs.config <<'ECS_EOF'\n{lines}\nECS_EOF\n"
    if args.extra_user_data:
        # After the agent config, in a subshell: a failure there must not keep the instance out of the cluster.
        script += f"(\n{args.extra_user_data.rstrip()}\n) || echo 'extra user data failed' >&2\n"
    if args.warm_pool.enabled:
        # Last: the pre-pull completes the lifecycle hook, after which Auto Scaling may stop the instance.
        script += prepull_user_data(prepull_image)
    return script


PREPULL_SCRIPT = "/usr/local/bin/deepseek-warm-pool-prepull"
PREPULL_UNIT = "deepseek-warm-pool-prepull.service"


def prepull_script(image: str) -> str:
    """Runs at every boot (a systemd unit; cloud-init runs user data on the first boot only). Headed for the
    warm pool (IMDSv2 autoscaling/target-lifecycle-state is Warmed:*: EC2 Auto Scaling user guide, "Retrieve
    the target lifecycle state through instance metadata"): pull the serving image from ECR with the
    instance role's credentials, then complete the launch hook, and Auto Scaling stops the instance with
    the image on its root volume. Headed for InService: complete the hook at once. The ECS-optimized AL2023
    AMI is built from AL2023 minimal plus docker and ecs-init (aws/amazon-ecs-ami al2023.pkr.hcl,
    packages_al2023): it has no AWS CLI, so user data installs awscli-2 before this first runs."""
    return f"""#!/bin/bash
set -uo pipefail
image='{image}'
imds=http://169.254.169.254/latest
meta() {{
  local token
  token=$(curl -sf -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300') &&
    curl -sf -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"
}}
state=''
for _ in $(seq 1 60); do
  state=$(meta autoscaling/target-lifecycle-state) && [ -n "$state" ] && break
  sleep 5
done
region=$(meta placement/region)
instance=$(meta instance-id)
case "$state" in
  Warmed:*)
    registry=${{image%%/*}}
    for attempt in 1 2 3; do
      if aws ecr get-login-password --region "$region" |
        docker login --username AWS --password-stdin "$registry" && docker pull "$image"; then
        echo "pre-pulled $image (attempt $attempt)"
        break
      fi
      sleep 30
    done
    docker logout "$registry"
    ;;
esac
group=$(aws autoscaling describe-auto-scaling-instances --region "$region" --instance-ids "$instance" \\
  --query 'AutoScalingInstances[0].AutoScalingGroupName' --output text)
for _ in 1 2 3 4 5; do
  aws autoscaling complete-lifecycle-action --region "$region" --auto-scaling-group-name "$group" \\
    --lifecycle-hook-name {WARM_POOL_HOOK} --instance-id "$instance" --lifecycle-action-result CONTINUE && exit 0
  sleep 20
done
exit 1
"""


def prepull_user_data(image: str) -> str:
    """User-data lines that install the AWS CLI and the every-boot pre-pull unit, then start it (no-block:
    systemctl inside cloud-final must not wait for a unit that takes minutes)."""
    return (
        "dnf install -y awscli-2\n"
        f"cat > {PREPULL_SCRIPT} <<'PREPULL_EOF'\n{prepull_script(image)}PREPULL_EOF\n"
        f"chmod 0755 {PREPULL_SCRIPT}\n"
        f"cat > /etc/systemd/system/{PREPULL_UNIT} <<'UNIT_EOF'\n"
        "[Unit]\nDescription=Warm pool: pre-pull the serving image, complete the launch lifecycle hook\n"
        "Wants=network-online.target\nAfter=network-online.target docker.service\nRequires=docker.service\n"
        f"[Service]\nType=oneshot\nExecStart={PREPULL_SCRIPT}\n"
        "[Install]\nWantedBy=multi-user.target\nUNIT_EOF\n"
        "systemctl daemon-reload\n"
        f"systemctl enable {PREPULL_UNIT}\n"
        f"systemctl start --no-block {PREPULL_UNIT}\n"
    )


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
    problems.check(root_gib <= GP3_MAX_GIB, "rootVolumeGiB", f"gp3 volumes stop at {GP3_MAX_GIB} GiB")
    problems.check(
        GP3_MIN_MIBPS <= args.root_volume_throughput_mibps <= GP3_MAX_MIBPS,
        "rootVolumeThroughputMibps",
        f"gp3 takes {GP3_MIN_MIBPS}-{GP3_MAX_MIBPS} MiB/s",
    )
    problems.check(
        args.root_volume_throughput_mibps <= args.root_volume_iops * GP3_MIBPS_PER_IOPS,
        "rootVolumeThroughputMibps",
        f"gp3 allows at most {GP3_MIBPS_PER_IOPS} MiB/s per provisioned IOPS",
    )
    problems.check(
        GP3_MIN_IOPS <= args.root_volume_iops <= GP3_MAX_IOPS,
        "rootVolumeIops",
        f"gp3 takes {GP3_MIN_IOPS}-{GP3_MAX_IOPS} IOPS",
    )
    warm = args.warm_pool
    problems.check(
        not warm.enabled or not args.spot.enabled,
        "warmPool.enabled",
        "a warm pool cannot be added to a group that requests Spot instances (PutWarmPool)",
    )
    problems.check(
        not warm.enabled or len(args.instance_types) == 1,
        "warmPool.enabled",
        "a warm-pool group has no mixed instances policy: exactly one instance type",
    )
    problems.check(
        not warm.enabled or (not isinstance(args.prepull_image, str) or bool(args.prepull_image)),
        "prepullImage",
        "a warm pool needs the image to pre-pull",
    )
    problems.check(0 <= warm.min_size <= args.max_size, "warmPool.minSize", "must be between 0 and maxSize")
    problems.check(
        warm.max_group_prepared_capacity == 0 or warm.max_group_prepared_capacity >= args.min_size,
        "warmPool.maxGroupPreparedCapacity",
        "0 (maxSize - desired) or at least minSize",
    )
    problems.check(
        30 <= warm.prepull_timeout_seconds <= 7200,
        "warmPool.prepullTimeoutSeconds",
        "a lifecycle hook times out after 30-7200 s",
    )
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
