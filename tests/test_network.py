"""Network component: created VPC per environment, adopted VPC, and argument validation."""

from __future__ import annotations

import pulumi
import pytest

from components.shared.network import ExistingNetwork, Network, NetworkArgs
from offline.harness import run_program, shared_run
from offline.mocks import RecordedAwsMocks, RecordingMonitor


def test_dev_has_one_nat_gateway_and_two_azs():
    run = shared_run("dev")
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 1
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    assert sorted(s.inputs["availabilityZone"] for s in subnets) == [
        "us-east-1a",
        "us-east-1a",
        "us-east-1b",
        "us-east-1b",
    ]
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets if "public" in s.name)
    assert run.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"] == "10.40.0.0/16"


def test_prod_environment_gets_a_nat_gateway_per_az():
    run = run_program("dev", overrides={"deepseek-cloud:environment": "prod", "deepseek-cloud:network.azCount": 3})
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 3
    private_routes = [r for r in run.of_type("aws:ec2/routeTable:RouteTable") if "private" in r.name]
    assert len({r.inputs["routes"][0]["natGatewayId"] for r in private_routes}) == 3


def test_s3_gateway_endpoint_serves_every_private_route_table():
    run = shared_run("dev")
    endpoint = run.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert len(endpoint.inputs["routeTableIds"]) == 2


def test_subnets_are_carved_from_the_configured_cidr():
    run = run_program("dev", overrides={"deepseek-cloud:network.cidr": "172.20.0.0/18"})
    cidrs = sorted(s.inputs["cidrBlock"] for s in run.of_type("aws:ec2/subnet:Subnet"))
    # private subnets take the first /22 blocks, public ones the second half of the range
    assert cidrs == ["172.20.0.0/22", "172.20.32.0/22", "172.20.36.0/22", "172.20.4.0/22"]


def test_adopting_an_existing_vpc_creates_no_network_resources():
    run = run_program(
        "dev",
        overrides={
            "deepseek-cloud:network.vpcId": "vpc-0123456789abcdef0",
            "deepseek-cloud:network.publicSubnetIds": ["subnet-01", "subnet-02"],
            "deepseek-cloud:network.privateSubnetIds": ["subnet-11", "subnet-12"],
        },
    )
    assert run.of_type("aws:ec2/vpc:Vpc") == []
    assert run.of_type("aws:ec2/natGateway:NatGateway") == []
    assert run.outputs["vpcId"] == "vpc-0123456789abcdef0"
    assert run.outputs["privateSubnetIds"] == ["subnet-11", "subnet-12"]


def _construct(args: NetworkArgs) -> None:
    mocks = RecordedAwsMocks(region="us-east-1")
    pulumi.runtime.set_mocks(
        mocks, project="deepseek-cloud", stack="unit", preview=False, monitor=RecordingMonitor(mocks)
    )

    @pulumi.runtime.test
    def build():
        Network("net", args)

    build()


def test_component_validation_reports_every_problem_at_once():
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        _construct(NetworkArgs(availability_zones=("us-east-1a",), cidr="10.0.0.0/8"))
    paths = [e["property_path"] for e in caught.value.errors]
    assert paths == ["cidr", "availabilityZones"]


def test_component_validation_of_an_adopted_network():
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        _construct(NetworkArgs(existing=ExistingNetwork("net-1", ("subnet-1",), ("sn-2", "sn-3"))))
    paths = [e["property_path"] for e in caught.value.errors]
    assert paths == ["existing.vpcId", "existing.publicSubnetIds", "existing.privateSubnetIds"]
