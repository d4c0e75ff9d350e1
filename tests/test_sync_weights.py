"""`make sync-weights` against moto's ECS: the task is started on Fargate with the stack's network, waited for
with a bounded waiter, and a failed sync (non-zero exit code) is surfaced with ECS's stopped reason."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecs.models import ecs_backends

from components.ecs.weights_sync import container_definitions
from scripts import sync_weights as sw

REGION = "us-east-1"
SYNC_CONTAINERS = container_definitions(
    "example/vllm@sha256:" + "0" * 64,
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
    "916b56a44061fd5cd7d6a8fb632557ed4f724f60",
    "bucket",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B/916b56a44061fd5cd7d6a8fb632557ed4f724f60",
    f"arn:aws:secretsmanager:{REGION}:123456789012:secret:deepseek/dev/hf-token-AbCdEf",
    "/deepseek/dev/sync-weights",
    REGION,
)


@pytest.fixture
def ecs(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    # moto 5.2.5's RunTask with awsvpc reads eni.private_dns_name, which its EC2 NetworkInterface model
    # lacks (AttributeError); give the mock ENI the name EC2 would (ip-<address>.ec2.internal).
    monkeypatch.setattr(
        NetworkInterface,
        "private_dns_name",
        property(lambda eni: f"ip-{eni.private_ip_address.replace('.', '-')}.ec2.internal"),
        raising=False,
    )
    with mock_aws():
        client = boto3.client("ecs", region_name=REGION)
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="sync", Description="sync", VpcId=vpc)["GroupId"]
        cluster = client.create_cluster(clusterName="ds-dev-vllm-cluster")["cluster"]["clusterArn"]
        family = client.register_task_definition(
            family="ds-dev-sync",
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="4096",
            memory="16384",
            # The component's own container definition; moto needs a container-level memory to place a task
            # (Fargate takes the task-level one), so the test adds it.
            containerDefinitions=[{**definition, "memory": 16384} for definition in SYNC_CONTAINERS],
        )["taskDefinition"]["taskDefinitionArn"]
        yield client, sw.SyncSpec(cluster, family, [subnet], [sg], "s3://b/deepseek-ai/x/" + "a" * 40)


def _task(arn: str):
    cluster = ecs_backends[DEFAULT_ACCOUNT_ID][REGION].tasks["ds-dev-vllm-cluster"]
    return cluster[arn]


def test_the_task_is_started_on_fargate_in_the_stacks_network(ecs):
    client, spec = ecs
    arn = sw.start(client, spec)
    task = client.describe_tasks(cluster=spec.cluster, tasks=[arn])["tasks"][0]
    assert task["launchType"] == "FARGATE"
    assert task["taskDefinitionArn"] == spec.task_definition
    assert task["startedBy"] == "make-sync-weights"


def test_a_stopped_task_with_exit_code_zero_is_a_success(ecs):
    client, spec = ecs
    arn = sw.start(client, spec)
    client.stop_task(cluster=spec.cluster, task=arn, reason="Essential container in task exited")
    _task(arn).containers[0].exitCode = 0
    sw.wait(client, spec.cluster, arn, poll_seconds=0, max_polls=3)
    assert sw.outcome(client, spec.cluster, arn) == f"{arn}: sync finished (exit code 0)"


def test_a_non_zero_exit_code_is_surfaced_with_the_stopped_reason(ecs):
    client, spec = ecs
    arn = sw.start(client, spec)
    client.stop_task(cluster=spec.cluster, task=arn, reason="Essential container in task exited")
    _task(arn).containers[0].exitCode = 1
    sw.wait(client, spec.cluster, arn, poll_seconds=0, max_polls=3)
    with pytest.raises(sw.SyncFailed, match=r"exit code 1, stopped reason: Essential container in task exited"):
        sw.outcome(client, spec.cluster, arn)


def test_the_waiter_is_bounded(ecs):
    client, spec = ecs
    arn = sw.start(client, spec)  # never stopped: moto keeps it running
    with pytest.raises(sw.SyncFailed, match=r"did not stop within 0 s"):
        sw.wait(client, spec.cluster, arn, poll_seconds=0, max_polls=2)


def test_main_reads_the_stack_outputs_and_exits_non_zero_on_failure(ecs, monkeypatch, capsys):
    _client, spec = ecs
    started = []

    def stop_on_wait(ecs_client, cluster, task_arn, poll_seconds, max_polls):
        started.append(task_arn)
        ecs_client.stop_task(cluster=cluster, task=task_arn, reason="OutOfMemoryError: container killed")
        _task(task_arn).containers[0].exitCode = 137

    monkeypatch.setattr(sw, "wait", stop_on_wait)
    outputs = {
        "region": REGION,
        "weightsSync": {
            "cluster": spec.cluster,
            "taskDefinition": spec.task_definition,
            "subnets": spec.subnets,
            "securityGroups": spec.security_groups,
            "modelUri": spec.model_uri,
        },
    }
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(outputs)))
    assert sw.main([]) == 1
    err = capsys.readouterr().err
    assert started and f"{started[0]}: sync failed: exit code 137, stopped reason: OutOfMemoryError" in err


def test_a_stack_without_the_sync_output_says_why(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"region": REGION})))
    assert sw.main([]) == 1
    assert "no weightsSync output: model.loadFrom is not s3" in capsys.readouterr().err
