"""`make sync-weights` on an EKS stack, against a fake Kubernetes API on loopback.

What is exercised: the make target's own logic (scripts/sync_weights.py → scripts/sync_weights_eks.py) over
real HTTP: it reads the stack's CronJob (the one eks-dev's program declares), POSTs the Job made from its
jobTemplate (checked strictly with kubernetes-validate for the pinned Kubernetes version), polls the Job
(bounded), and on failure reports the Job condition and the pod's container state; the bearer token on
every call; the EKS token's form (a presigned STS URL signed over the x-k8s-aws-id header, made by botocore
with fake credentials). What is not: a real API server (admission, the Job controller, the scheduler, the
CSI driver, Pod Identity), EKS DescribeCluster and the cluster's CA, STS accepting the token.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import kubernetes_validate
import pytest

from offline.harness import engine_inputs, shared_run
from scripts import sync_weights as sw
from scripts import sync_weights_eks as eks

STACK = "eks-dev"
TOKEN = "k8s-aws-v1.test-token"
NS = "deepseek-serving"


def cron_job() -> dict[str, Any]:
    """The CronJob eks-dev's program declares, as the API server would return it."""
    [reg] = shared_run(STACK).of_type("kubernetes:batch/v1:CronJob")
    obj = copy.deepcopy(engine_inputs(reg))
    obj["metadata"]["uid"] = "0f6c3c57-5d36-4a40-9d38-000000000001"
    return obj


class FakeApi(BaseHTTPRequestHandler):
    """Answers the CronJob GET, the Job POST/GET and the pod list from `self.server.state`."""

    def log_message(self, *_: Any) -> None:  # keep pytest output clean
        pass

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        state = self.server.state  # type: ignore[attr-defined]
        state["auth"].append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(401, {"kind": "Status", "message": "Unauthorized"})
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorized():
            return
        state = self.server.state  # type: ignore[attr-defined]
        path = urllib.parse.urlparse(self.path)
        if path.path == f"/apis/batch/v1/namespaces/{NS}/cronjobs/weights-sync" and state["cron"]:
            return self._reply(200, state["cron"])
        if state["job"] and path.path == f"/apis/batch/v1/namespaces/{NS}/jobs/{state['job']['metadata']['name']}":
            state["polls"] += 1
            statuses = state["statuses"]
            status = statuses[min(state["polls"] - 1, len(statuses) - 1)]
            return self._reply(200, {**state["job"], "status": status})
        if path.path == f"/api/v1/namespaces/{NS}/pods":
            state["pod_queries"].append(urllib.parse.parse_qs(path.query))
            return self._reply(200, {"kind": "PodList", "items": state["pods"]})
        self._reply(404, {"kind": "Status", "message": f"{path.path} not found"})

    def do_POST(self) -> None:
        if not self._authorized():
            return
        state = self.server.state  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != f"/apis/batch/v1/namespaces/{NS}/jobs":
            return self._reply(404, {"kind": "Status", "message": "not found"})
        state["job"] = {**body, "metadata": {**body["metadata"], "uid": "job-uid"}}
        self._reply(201, state["job"])


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    server.state = {  # type: ignore[attr-defined]
        "cron": cron_job(),
        "job": None,
        "statuses": [
            {"active": 1},
            {"active": 1},
            {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
        ],
        "pods": [],
        "polls": 0,
        "auth": [],
        "pod_queries": [],
    }
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)  # shutdown() waits ≤ 0.02 s
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def outputs() -> dict[str, Any]:
    return {"region": "us-east-1", "weightsSyncJob": shared_run(STACK).outputs["weightsSyncJob"]}


def run_main(api, tmp_path, capsys, *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs()))
    url = f"http://127.0.0.1:{api.server_address[1]}"
    code = sw.main(["--outputs", str(path), "--api-server", url, "--token", TOKEN, "--poll-seconds", "0", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_stack_outputs_name_the_cron_job_the_program_declares():
    sync = shared_run(STACK).outputs["weightsSyncJob"]
    assert {k: sync[k] for k in ("clusterName", "region", "namespace", "cronJob")} == {
        "clusterName": "ds-eks-dev",
        "region": "us-east-1",
        "namespace": NS,
        "cronJob": "weights-sync",
    }
    assert sync["modelUri"].endswith(
        "/deepseek-ai/DeepSeek-R1-Distill-Qwen-7B/916b56a44061fd5cd7d6a8fb632557ed4f724f60"
    )
    assert cron_job()["spec"]["suspend"] is True
    r1 = shared_run("eks-r1").outputs["weightsSyncJob"]  # R1's pinned revision: its own bucket prefix and sync
    assert r1["modelUri"].endswith("/deepseek-ai/DeepSeek-R1/56d4cbbb4d29f4355bab4b9a39ccb717a14ad5ad")


def test_a_job_from_the_cron_job_is_created_waited_for_and_reported(api, tmp_path, capsys):
    code, out, err = run_main(api, tmp_path, capsys)
    assert (code, err) == (0, "")
    job = api.state["job"]
    assert job["metadata"]["name"].startswith("weights-sync-")
    assert job["metadata"]["ownerReferences"][0] == {
        "apiVersion": "batch/v1", "kind": "CronJob", "name": "weights-sync",
        "uid": "0f6c3c57-5d36-4a40-9d38-000000000001", "controller": True, "blockOwnerDeletion": True,
    }  # fmt: skip
    assert job["spec"] == cron_job()["spec"]["jobTemplate"]["spec"]  # the program's template, unchanged
    assert api.state["polls"] == 3  # active, active, Complete
    assert f"job {NS}/{job['metadata']['name']}: sync finished → s3://" in out
    assert set(api.state["auth"]) == {f"Bearer {TOKEN}"}


def test_the_job_it_posts_is_strictly_valid_for_the_pinned_kubernetes(api, tmp_path, capsys):
    run_main(api, tmp_path, capsys)
    job = {k: v for k, v in api.state["job"].items()}
    job["metadata"] = {k: v for k, v in job["metadata"].items() if k != "uid"}
    version = shared_run(STACK).program_globals["context"].config.eks.kubernetes_version
    kubernetes_validate.validate(job, f"{version}.0", strict=True)
    pod = job["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"deepseek.ai/node-pool": "system"} and "tolerations" not in pod
    assert pod["serviceAccountName"] == "weights-sync" and pod["restartPolicy"] == "Never"


def test_a_failed_job_is_surfaced_with_its_condition_and_the_containers_exit(api, tmp_path, capsys):
    api.state["statuses"] = [
        {"failed": 2, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                      "message": "Job has reached the specified backoff limit"}]}
    ]  # fmt: skip
    api.state["pods"] = [
        {
            "metadata": {"name": "weights-sync-1-abcde"},
            "status": {"containerStatuses": [
                {"name": "sync", "state": {"terminated": {"exitCode": 1, "reason": "Error",
                                                          "message": "401 Client Error: Unauthorized"}}}
            ]},
        }
    ]  # fmt: skip
    code, _, err = run_main(api, tmp_path, capsys)
    assert code == 1
    assert "sync failed: BackoffLimitExceeded: Job has reached the specified backoff limit" in err
    assert "weights-sync-1-abcde: exit code 1, Error: 401 Client Error: Unauthorized" in err
    job = api.state["job"]["metadata"]["name"]
    assert api.state["pod_queries"] == [{"labelSelector": [f"job-name={job}"]}]


def test_a_job_that_does_not_finish_in_time_is_reported_and_the_wait_is_bounded(api, tmp_path, capsys):
    api.state["statuses"] = [{"active": 1}]
    api.state["pods"] = [
        {"metadata": {"name": "weights-sync-1-xyz"},
         "status": {"containerStatuses": [{"name": "sync", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}
    ]  # fmt: skip
    code, _, err = run_main(api, tmp_path, capsys, "--max-polls", "4")
    assert code == 1 and api.state["polls"] == 4
    assert "did not finish within 0 s (weights-sync-1-xyz: waiting, ImagePullBackOff)" in err


def test_a_missing_cron_job_or_a_refused_token_is_one_line(api, tmp_path, capsys):
    api.state["cron"] = None
    code, _, err = run_main(api, tmp_path, capsys)
    assert code == 1
    assert err.strip() == (
        f"sync-weights: GET /apis/batch/v1/namespaces/{NS}/cronjobs/weights-sync: HTTP 404 "
        f"/apis/batch/v1/namespaces/{NS}/cronjobs/weights-sync not found"
    )
    path = tmp_path / "outputs.json"
    url = f"http://127.0.0.1:{api.server_address[1]}"
    assert sw.main(["--outputs", str(path), "--api-server", url, "--token", "wrong"]) == 1
    assert "HTTP 401 Unauthorized" in capsys.readouterr().err


def test_the_eks_token_is_a_presigned_sts_url_signed_over_the_cluster_header(monkeypatch):
    for key, value in (("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "secret")):
        monkeypatch.setenv(key, value)
    token = eks.eks_token(boto3.session.Session(), "ds-eks-dev", "us-east-1")
    assert token.startswith("k8s-aws-v1.") and "=" not in token
    body = token[len("k8s-aws-v1.") :]
    url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    parts = urllib.parse.urlparse(url)
    query = urllib.parse.parse_qs(parts.query)
    assert parts.netloc == "sts.us-east-1.amazonaws.com"
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]


def test_an_ecs_stack_still_takes_the_ecs_path(tmp_path, capsys):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"region": "us-east-1"}))
    assert sw.main(["--outputs", str(path)]) == 1
    assert "no weightsSync output" in capsys.readouterr().err
