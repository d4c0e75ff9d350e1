"""The stack builder: which platform declares what, and fresh runs do not leak into each other."""

from __future__ import annotations

from offline.harness import run_program, shared_run


def test_eks_platform_declares_the_cluster_gpu_capacity_serving_and_observability():
    run_program("prod")  # a full ECS stack first: its outputs must not leak into the next run
    # dev's model.loadFrom s3 on EKS too: the ECR image by digest and the model bucket's URI are outputs.
    run = run_program("dev", overrides={"deepseek-cloud:platform": "eks"})
    assert sorted(run.outputs) == [
        "alarmNames",
        "alarmTopicArn",
        "apiKeySecretArn",
        "clusterEndpoint",
        "clusterName",
        "dashboardName",
        "endpointUrl",
        "gpuNodePools",
        "hfTokenSecretArn",
        "imageRef",
        "interruptionQueueName",
        "karpenterNodeRoleName",
        "layout",
        "modelUri",
        "privateSubnetIds",
        "prometheusWorkspaceArn",
        "publicSubnetIds",
        "region",
        "servingNamespace",
        "sizing",
        "versions",
        "vpcId",
        "weightsSyncJob",
        "workload",
    ]
    assert len(run.of_type("aws:eks/cluster:Cluster")) == 1
    assert run.of_type("aws:ecs/cluster:Cluster") == []
    assert run.of_type("aws:autoscaling/group:Group") == []
    assert len(run.of_type("aws:ec2/vpc:Vpc")) == 1


def test_ecs_platform_exports_endpoint_and_observability_outputs():
    run = shared_run("dev")
    for key in ("endpointUrl", "clusterName", "serviceName", "logGroupName", "asgName", "alarmTopicArn"):
        assert key in run.outputs, key
    assert run.outputs["endpointUrl"].startswith("http://")  # dev has no certificate: HTTP, warned in the plan


def test_a_run_closes_every_event_loop_its_threads_made(monkeypatch):
    """The SDK calls the mock monitor from an executor; the stack transforms there need an event loop per
    worker thread. A loop left open is finalized by the collector, which raised an unraisable ValueError
    when its self-pipe socket went first."""
    import asyncio

    made: list[asyncio.AbstractEventLoop] = []
    new_event_loop = asyncio.new_event_loop

    def recorded() -> asyncio.AbstractEventLoop:
        made.append(new_event_loop())
        return made[-1]

    monkeypatch.setattr(asyncio, "new_event_loop", recorded)
    run_program("dev")
    assert len(made) >= 2  # the program's own loop and at least one RPC worker's
    assert [loop for loop in made if not loop.is_closed()] == []
