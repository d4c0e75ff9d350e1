"""The weight sync's own program (components/ecs/weights_sync.py SYNC_PROGRAM, run by the ECS task and the EKS
Job) against a Hugging Face Hub on loopback and moto's S3: the real huggingface_hub client lists the pinned
revision's files and downloads them one at a time; each lands under the bucket prefix and leaves the scratch
directory, so a revision larger than the scratch volume still syncs."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import boto3
import pytest
from moto import mock_aws

from components.ecs.weights_sync import SYNC_PROGRAM

REPO = "deepseek-ai/DeepSeek-R1"
REVISION = "56d4cbbb4d29f4355bab4b9a39ccb717a14ad5ad"
FILES = {
    ".gitattributes": b"*.safetensors filter=lfs\n",
    "config.json": b'{"architectures": ["DeepseekV3ForCausalLM"]}',
    "model-00001-of-00002.safetensors": b"\x01" * 4096,
    "model-00002-of-00002.safetensors": b"\x02" * 2048,
    "figures/benchmark.jpg": b"\xff\xd8",
}


class FakeHub(BaseHTTPRequestHandler):
    """The two Hub endpoints the client calls: the revision's recursive tree, and resolve (HEAD for metadata,
    GET for the bytes) with the commit and ETag headers huggingface_hub reads (file_download.get_hf_file_metadata)."""

    revisions: ClassVar[set[str]] = set()
    unavailable: ClassVar[set[str]] = set()  # listed in the tree, but resolve answers 404

    def log_message(self, *args):  # quiet
        pass

    def _file(self) -> tuple[str, bytes] | None:
        head = f"/{REPO}/resolve/{REVISION}/"
        if self.path.startswith(head) and self.path[len(head) :] in set(FILES) - FakeHub.unavailable:
            name = self.path[len(head) :]
            return name, FILES[name]
        return None

    def _send(self, code: int, body: bytes, headers: dict[str, str], head_only: bool = False) -> None:
        self.send_response(code)
        for k, v in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(k, v)
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def do_HEAD(self):
        self._resolve(head_only=True)

    def do_GET(self):
        if self.path.startswith(f"/api/models/{REPO}/tree/"):
            FakeHub.revisions.add(self.path.split("/tree/")[1].split("?")[0])
            tree = [
                {"type": "file", "path": n, "size": len(b), "oid": hashlib.sha1(b).hexdigest()}
                for n, b in FILES.items()
            ]
            self._send(200, json.dumps(tree).encode(), {"Content-Type": "application/json"})
            return
        self._resolve(head_only=False)

    def _resolve(self, head_only: bool) -> None:
        found = self._file()
        if found is None:
            self._send(404, b"{}", {"X-Error-Code": "EntryNotFound"}, head_only)
            return
        _name, body = found
        headers = {"X-Repo-Commit": REVISION, "ETag": f'"{hashlib.sha256(body).hexdigest()}"'}
        self._send(200, body, headers, head_only)


@pytest.fixture(scope="module")
def server():
    # One server for the module: huggingface_hub reads HF_ENDPOINT once, when it is first imported.
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def hub(server):
    FakeHub.revisions, FakeHub.unavailable = set(), set()
    yield server


def run_sync(monkeypatch, tmp_path: Path, endpoint: str) -> dict[str, bytes]:
    env = {
        "HF_ENDPOINT": endpoint,
        "HF_TOKEN": "hf_test",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(tmp_path / "tmp"),
        "WORKDIR": str(tmp_path / "sync"),
        "HF_HOME": str(tmp_path / "hf"),
        "MODEL_ID": REPO,
        "REVISION": REVISION,
        "BUCKET": "models",
        "PREFIX": f"{REPO}/{REVISION}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    import huggingface_hub.constants

    # Read at import: set it for the case another test imported huggingface_hub first in this process.
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", endpoint)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="models")
        exec(compile(SYNC_PROGRAM, "SYNC_PROGRAM", "exec"), {"__name__": "__main__"})
        listed = s3.list_objects_v2(Bucket="models")["Contents"]
        return {o["Key"]: s3.get_object(Bucket="models", Key=o["Key"])["Body"].read() for o in listed}


def test_every_file_of_the_pinned_revision_lands_under_the_prefix_and_leaves_the_scratch(hub, monkeypatch, tmp_path):
    objects = run_sync(monkeypatch, tmp_path, hub)
    prefix = f"{REPO}/{REVISION}/"
    assert objects == {prefix + n: b for n, b in FILES.items() if not n.startswith(".")}
    assert FakeHub.revisions == {REVISION}  # the tree of the pinned commit, not of main
    leftovers = [p for p in (tmp_path / "sync").rglob("*") if p.is_file() and ".cache" not in p.parts]
    assert leftovers == []  # each file was removed after its upload: the scratch holds one at a time


def test_a_file_the_hub_cannot_serve_fails_the_sync(hub, monkeypatch, tmp_path):
    FakeHub.unavailable = {"model-00002-of-00002.safetensors"}
    with pytest.raises(Exception, match="404"):
        run_sync(monkeypatch, tmp_path, hub)
