"""Network: a VPC with public and private subnets across AZs, NAT, and an S3 gateway endpoint —
or an existing VPC adopted by id (the awsx shape: adopt or create)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.shared.aws_scope import aws_scope
from components.shared.validation import ArgsProblems


@dataclass(frozen=True)
class ExistingNetwork:
    """Adopt a VPC someone else manages; nothing is created."""

    vpc_id: str
    public_subnet_ids: tuple[str, ...]
    private_subnet_ids: tuple[str, ...]


@dataclass(frozen=True)
class NetworkArgs:
    availability_zones: tuple[str, ...] = ()  # required when creating: one public + one private subnet each
    cidr: str = "10.40.0.0/16"
    nat_gateways: Literal["single", "perAz"] = "single"  # perAz survives an AZ outage; single costs less
    s3_gateway_endpoint: bool = True  # keeps weight downloads off the NAT (cost) and in-region (speed)
    existing: ExistingNetwork | None = None


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:network:Network", name, None, opts)
        _validate(args)
        if args.existing is not None:
            self.vpc_id = pulumi.Output.from_input(args.existing.vpc_id)
            self.public_subnet_ids = pulumi.Output.from_input(list(args.existing.public_subnet_ids))
            self.private_subnet_ids = pulumi.Output.from_input(list(args.existing.private_subnet_ids))
            self.nat_gateway_count = 0
            self.vpc = None  # someone else's VPC: its flow logs are its owner's (policy waiver EC2.6)
        else:
            self._create(name, args)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _create(self, name: str, args: NetworkArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,  # VPC endpoints and ECS/EKS agents resolve AWS hostnames privately
            enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        # The default security group admits all traffic between its members; strip its rules (EC2.2).
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=child)

        # /16 → sixteen /20 blocks: private subnets take the first, public the second half.
        network = ipaddress.ip_network(args.cidr)
        blocks = list(network.subnets(new_prefix=network.prefixlen + 4))
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags={"Name": f"{name}-public"},
            opts=child,
        )
        public_subnets, private_subnets, nats = [], [], []
        for i, az in enumerate(args.availability_zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=str(blocks[8 + i]),
                availability_zone=az,
                map_public_ip_on_launch=False,  # only load balancers live here; nothing gets a public IP by default
                tags={"Name": f"{name}-public-{az}", "kubernetes.io/role/elb": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}", subnet_id=public.id, route_table_id=public_rt.id, opts=child
            )
            public_subnets.append(public)
            if i == 0 or args.nat_gateways == "perAz":
                eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags={"Name": f"{name}-nat-{az}"}, opts=child)
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{i}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags={"Name": f"{name}-nat-{az}"},
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                    )
                )
        route_tables = []
        for i, az in enumerate(args.availability_zones):
            private = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=str(blocks[i]),
                availability_zone=az,
                tags={"Name": f"{name}-private-{az}", "kubernetes.io/role/internal-elb": "1"},
                opts=child,
            )
            nat = nats[i] if args.nat_gateways == "perAz" else nats[0]
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{i}",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags={"Name": f"{name}-private-{az}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=private.id, route_table_id=rt.id, opts=child)
            private_subnets.append(private)
            route_tables.append(rt)
        if args.s3_gateway_endpoint:
            region = aws_scope(self).region
            aws.ec2.VpcEndpoint(
                f"{name}-s3",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{region}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in route_tables],
                tags={"Name": f"{name}-s3"},
                opts=child,
            )
        self.vpc = vpc
        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.nat_gateway_count = len(nats)


# CloudWatch Logs retention values (PutRetentionPolicy); a flow-log group takes one of these.
_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


@dataclass(frozen=True)
class FlowLogArgs:
    """VPC flow logs (Security Hub EC2.6) into a KMS-encrypted CloudWatch log group: the only record of
    what the tasks and instances sent out of the VPC (prompts, weights)."""

    vpc_id: pulumi.Input[str] = ""
    kms_key_arn: pulumi.Input[str] = ""  # the stack key; its policy lets logs.<region> use it for log groups
    log_group_name: str = ""  # e.g. /deepseek/<stack>/vpc-flow-logs
    retention_days: int = 365  # CloudWatch.16 asks for >= 365 in prod
    traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"  # EC2.6 requires at least REJECT
    max_aggregation_interval: int = 600  # seconds: 60 or 600 (cheaper, coarser)
    protect: bool = False
    permissions_boundary_arn: str = ""  # of the delivery role; "" = none


class VpcFlowLogs(pulumi.ComponentResource):
    """A log group, the role VPC Flow Logs delivers with (write to that group only), and the flow log."""

    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: FlowLogArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("deepseek:network:VpcFlowLogs", name, None, opts)
        _validate_flow_logs(args)
        child = pulumi.ResourceOptions(parent=self)
        scope = aws_scope(self)
        account_id, region, partition = scope.account_id, scope.region, scope.partition
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.log_group_name,
            retention_in_days=args.retention_days,
            kms_key_id=args.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect),
        )
        log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{args.log_group_name}"
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(flow_log_trust_policy(account_id, region, partition)),
            description="VPC Flow Logs delivery into this stack's flow-log group only",
            permissions_boundary=args.permissions_boundary_arn or None,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-role", role=role.id, policy=json.dumps(flow_log_role_policy(log_group_arn)), opts=child
        )
        aws.ec2.FlowLog(
            f"{name}-vpc",
            vpc_id=args.vpc_id,
            traffic_type=args.traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=args.max_aggregation_interval,
            opts=child,
        )
        self.log_group_name = log_group.name
        self.register_outputs({"logGroupName": self.log_group_name})


def flow_log_trust_policy(account_id: str, region: str, partition: str = "aws") -> dict[str, Any]:
    """vpc-flow-logs.amazonaws.com for this account's flow logs only (confused-deputy guard, VPC user guide
    "IAM role for publishing flow logs to CloudWatch Logs")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account_id}:vpc-flow-log/*"},
                },
            }
        ],
    }


def flow_log_role_policy(log_group_arn: str) -> dict[str, Any]:
    """Write streams of the one pre-created group. The user guide's example also grants CreateLogGroup and
    Describe* on "*"; the group exists before the flow log, so neither is needed here."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteFlowLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            }
        ],
    }


def _validate_flow_logs(args: FlowLogArgs) -> None:
    problems = ArgsProblems("VpcFlowLogs")
    problems.check(args.log_group_name.startswith("/"), "logGroupName", "must be an explicit /path name")
    problems.check(args.retention_days in _RETENTION_DAYS, "retentionDays", "must be a CloudWatch Logs retention value")
    problems.check(args.max_aggregation_interval in (60, 600), "maxAggregationInterval", "must be 60 or 600")
    problems.check(bool(args.kms_key_arn), "kmsKeyArn", "is required (flow logs name every peer the tasks talk to)")
    problems.raise_if_any()


def _validate(args: NetworkArgs) -> None:
    problems = ArgsProblems("Network")
    if args.existing is not None:
        problems.check(args.existing.vpc_id.startswith("vpc-"), "existing.vpcId", "must be a VPC id (vpc-…)")
        for key, ids in (
            ("publicSubnetIds", args.existing.public_subnet_ids),
            ("privateSubnetIds", args.existing.private_subnet_ids),
        ):
            problems.check(len(ids) >= 2, f"existing.{key}", "needs subnets in at least two AZs")
            problems.check(all(i.startswith("subnet-") for i in ids), f"existing.{key}", "must be subnet ids")
    else:
        try:
            network = ipaddress.ip_network(args.cidr)
            problems.check(16 <= network.prefixlen <= 22, "cidr", "must be a /16 to /22 block")
        except ValueError as exc:
            problems.check(False, "cidr", str(exc))
        problems.check(2 <= len(args.availability_zones) <= 6, "availabilityZones", "needs 2 to 6 AZs")
        problems.check(
            len(set(args.availability_zones)) == len(args.availability_zones), "availabilityZones", "lists an AZ twice"
        )
    problems.raise_if_any()
