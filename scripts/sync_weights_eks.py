"""`make sync-weights STACK=<eks stack>`: create a Job from the stack's suspended weight-sync CronJob
(components/eks/weights_sync.py), as `kubectl create job --from=cronjob/weights-sync` does, wait for it
(bounded), and report its outcome; a failed Job is printed with its condition and the pod's container
state (exit code, reason), and exits non-zero.

Talks to the cluster's API directly (JSON over HTTPS, urllib): the endpoint and CA from EKS DescribeCluster,
a bearer token as `aws eks get-token` makes it (a presigned STS GetCallerIdentity URL that names the cluster
in the signed `x-k8s-aws-id` header; aws-iam-authenticator README, "API Authorization from Outside a
Cluster"). The caller needs an EKS access entry that may create Jobs in the serving namespace.
"""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from scripts.sync_weights import SyncFailed

CONTAINER = "sync"  # components/eks/weights_sync.py CONTAINER
TOKEN_PREFIX = "k8s-aws-v1."
TERMINAL = ("Complete", "Failed")


@dataclass(frozen=True)
class JobSpec:
    cluster: str
    region: str
    namespace: str
    cron_job: str
    model_uri: str = ""

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> JobSpec:
        sync = outputs["weightsSyncJob"]
        return cls(sync["clusterName"], sync["region"], sync["namespace"], sync["cronJob"], sync.get("modelUri", ""))


class Kube:
    """The few Kubernetes API calls the sync needs."""

    def __init__(self, server: str, token: str, ca_file: str | None = None):
        self.server = server.rstrip("/")
        self.token = token
        self.context = ssl.create_default_context(cafile=ca_file) if server.startswith("https") else None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            self.server + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                     **({"Content-Type": "application/json"} if body is not None else {})},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("message", "")
            except ValueError:
                message = ""
            raise SyncFailed(f"{method} {path}: HTTP {exc.code} {message}".rstrip()) from None


def eks_token(session: Any, cluster: str, region: str) -> str:
    """What `aws eks get-token` returns: k8s-aws-v1.<base64url of a presigned GetCallerIdentity URL>."""
    sts = session.client("sts", region_name=region, endpoint_url=f"https://sts.{region}.amazonaws.com")

    def name_the_cluster(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = cluster

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", name_the_cluster)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def connect(session: Any, spec: JobSpec) -> Kube:
    cluster = session.client("eks", region_name=spec.region).describe_cluster(name=spec.cluster)["cluster"]
    ca = tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False)  # noqa: SIM115 - read by ssl below
    with ca:
        ca.write(base64.b64decode(cluster["certificateAuthority"]["data"]))
    return Kube(cluster["endpoint"], eks_token(session, spec.cluster, spec.region), ca.name)


def job_from_cron_job(cron: dict[str, Any], name: str) -> dict[str, Any]:
    """The Job `kubectl create job --from=cronjob/...` makes: the jobTemplate, owned by the CronJob."""
    template = cron["spec"]["jobTemplate"]
    meta = cron["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": dict((template.get("metadata") or {}).get("labels") or {}),
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": template["spec"],
    }


def start(kube: Kube, spec: JobSpec, now: float | None = None) -> str:
    base = f"/apis/batch/v1/namespaces/{spec.namespace}"
    cron = kube.call("GET", f"{base}/cronjobs/{spec.cron_job}")
    name = f"{spec.cron_job}-{int(now if now is not None else time.time())}"
    created = kube.call("POST", f"{base}/jobs", job_from_cron_job(cron, name))
    return created["metadata"]["name"]


def _condition(job: dict[str, Any]) -> dict[str, Any] | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in TERMINAL and c.get("status") == "True":
            return c
    return None


def pod_states(kube: Kube, namespace: str, job: str) -> list[str]:
    """The sync container's last state in each of the Job's pods: exit code and reason, or why it waits."""
    pods = kube.call("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=job-name%3D{job}")
    lines = []
    for pod in pods.get("items", []):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status.get("name") != CONTAINER:
                continue
            state = status.get("state") or {}
            if "terminated" in state:
                t = state["terminated"]
                lines.append(f"{pod['metadata']['name']}: exit code {t.get('exitCode')}, {t.get('reason', '')}"
                             + (f": {t['message']}" if t.get("message") else ""))  # fmt: skip
            elif "waiting" in state:
                w = state["waiting"]
                lines.append(
                    f"{pod['metadata']['name']}: waiting, {w.get('reason', '')} {w.get('message', '')}".rstrip()
                )
    return lines


def wait(kube: Kube, spec: JobSpec, job: str, poll_seconds: int = 15, max_polls: int = 240, sleep=time.sleep) -> str:
    path = f"/apis/batch/v1/namespaces/{spec.namespace}/jobs/{job}"
    for attempt in range(max_polls):
        done = _condition(kube.call("GET", path))
        if done and done["type"] == "Complete":
            return f"job {spec.namespace}/{job}: sync finished → {spec.model_uri}"
        if done:
            pods = "; ".join(pod_states(kube, spec.namespace, job)) or "no pod status"
            raise SyncFailed(
                f"job {spec.namespace}/{job}: sync failed: {done.get('reason', '')}: {done.get('message', '')} "
                f"({pods}); logs: kubectl logs -n {spec.namespace} job/{job}"
            )
        if attempt + 1 < max_polls:
            sleep(poll_seconds)
    pods = "; ".join(pod_states(kube, spec.namespace, job)) or "no pod yet"
    raise SyncFailed(
        f"job {spec.namespace}/{job} did not finish within {poll_seconds * max_polls} s ({pods}); it keeps "
        f"running: kubectl get -n {spec.namespace} job/{job}"
    )


def run(kube: Kube, spec: JobSpec, poll_seconds: int = 15, max_polls: int = 240, sleep=time.sleep) -> str:
    job = start(kube, spec)
    print(f"started job {spec.namespace}/{job} → {spec.model_uri}", flush=True)
    return wait(kube, spec, job, poll_seconds, max_polls, sleep)
