"""`make sync-weights STACK=…`: copy the stack's pinned model revision from the Hugging Face Hub into its
model bucket, by running the stack's one-shot ECS task (components/ecs/weights_sync.py) and waiting for it.

Reads the stack outputs (`pulumi stack output --json`, on stdin or from --outputs FILE): `weightsSync` holds
the cluster, task definition, subnets and security group. An EKS stack has `weightsSyncJob` instead: a Job
from its suspended CronJob (scripts/sync_weights_eks.py). Starts the task on Fargate, waits with a bounded
waiter (ECS `tasks_stopped`: --poll-seconds × --max-polls), then reports the container's exit code; any
non-zero exit, missing exit code or start failure is printed with ECS's stopped reason and exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import WaiterError

CONTAINER = "sync"  # components/ecs/weights_sync.py CONTAINER_NAME


class SyncFailed(Exception):
    """The sync task did not finish with exit code 0."""


@dataclass(frozen=True)
class SyncSpec:
    cluster: str
    task_definition: str
    subnets: list[str]
    security_groups: list[str]
    model_uri: str = ""

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> SyncSpec:
        sync = outputs.get("weightsSync")
        if not sync:
            raise SyncFailed("the stack has no weightsSync output: model.loadFrom is not s3, or it is not deployed")
        return cls(sync["cluster"], sync["taskDefinition"], list(sync["subnets"]), list(sync["securityGroups"]),
                   sync.get("modelUri", ""))  # fmt: skip


def start(ecs: Any, spec: SyncSpec) -> str:
    """RunTask on Fargate in the private subnets (no public IP: the Hub through NAT, S3 through the endpoint)."""
    response = ecs.run_task(
        cluster=spec.cluster,
        taskDefinition=spec.task_definition,
        launchType="FARGATE",
        count=1,
        startedBy="make-sync-weights",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": spec.subnets,
                "securityGroups": spec.security_groups,
                "assignPublicIp": "DISABLED",
            }
        },
    )
    if response.get("failures") or not response.get("tasks"):
        reasons = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')} {f.get('detail', '')}".strip()
                            for f in response.get("failures", []))  # fmt: skip
        raise SyncFailed(f"RunTask started no task: {reasons or 'no reason given'}")
    return response["tasks"][0]["taskArn"]


def wait(ecs: Any, cluster: str, task_arn: str, poll_seconds: int = 15, max_polls: int = 240) -> None:
    """Until the task stops; gives up after poll_seconds × max_polls (default one hour)."""
    try:
        ecs.get_waiter("tasks_stopped").wait(
            cluster=cluster, tasks=[task_arn], WaiterConfig={"Delay": poll_seconds, "MaxAttempts": max_polls}
        )
    except WaiterError as exc:
        raise SyncFailed(f"{task_arn} did not stop within {poll_seconds * max_polls} s: {exc}") from None


def outcome(ecs: Any, cluster: str, task_arn: str) -> str:
    """The stopped task's verdict: a line on success, SyncFailed with ECS's reasons otherwise."""
    tasks = ecs.describe_tasks(cluster=cluster, tasks=[task_arn]).get("tasks", [])
    if not tasks:
        raise SyncFailed(f"{task_arn}: ECS no longer describes the task")
    task = tasks[0]
    container = next((c for c in task.get("containers", []) if c.get("name") == CONTAINER), None)
    code = container.get("exitCode") if container else None
    if task.get("lastStatus") == "STOPPED" and code == 0:
        return f"{task_arn}: sync finished (exit code 0)"
    reason = task.get("stoppedReason") or "no stopped reason"
    detail = (container or {}).get("reason")
    raise SyncFailed(
        f"{task_arn}: sync failed: exit code {code}, stopped reason: {reason}"
        + (f", container: {detail}" if detail else "")
        + f" (stop code {task.get('stopCode', 'unknown')}; logs: the sync task's log group)"
    )


def run(ecs: Any, spec: SyncSpec, poll_seconds: int = 15, max_polls: int = 240) -> str:
    task_arn = start(ecs, spec)
    print(f"started {task_arn} → {spec.model_uri}", flush=True)
    wait(ecs, spec.cluster, task_arn, poll_seconds, max_polls)
    return outcome(ecs, spec.cluster, task_arn)


def run_eks(outputs: dict[str, Any], args: argparse.Namespace) -> str:
    from scripts import sync_weights_eks as eks

    spec = eks.JobSpec.from_outputs(outputs)
    if args.api_server:
        kube = eks.Kube(args.api_server, args.token or "")
    else:
        kube = eks.connect(boto3.session.Session(), spec)
    return eks.run(kube, spec, args.poll_seconds, args.max_polls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make sync-weights", description=__doc__)
    parser.add_argument("--outputs", help="stack outputs JSON file (default: stdin)")
    parser.add_argument("--region", help="AWS region (default: the stack output `region`)")
    parser.add_argument("--poll-seconds", type=int, default=15)
    parser.add_argument("--max-polls", type=int, default=240)
    parser.add_argument("--api-server", help="EKS: the Kubernetes API URL (default: from EKS DescribeCluster)")
    parser.add_argument("--token", help="EKS: a bearer token (default: as `aws eks get-token` makes it)")
    args = parser.parse_args(argv)
    try:
        text = Path(args.outputs).read_text() if args.outputs else sys.stdin.read()
        outputs = json.loads(text)
        if "weightsSyncJob" in outputs:  # an EKS stack: the suspended CronJob (scripts/sync_weights_eks.py)
            print(run_eks(outputs, args))
            return 0
        spec = SyncSpec.from_outputs(outputs)
        ecs = boto3.client("ecs", region_name=args.region or outputs.get("region"))
        print(run(ecs, spec, args.poll_seconds, args.max_polls))
    except (SyncFailed, ValueError, KeyError) as exc:
        print(f"sync-weights: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
