"""The real LiteLLM proxy (venv-router/, the pinned release) with the config the hybrid stack generates, the
tiers replaced by loopback OpenAI-compatible servers (gate/fake_server.py). `make test-router` (run by .ci/run):
excluded from the default run by the `router` marker. Loopback only; the proxy is stopped at the end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from components.shared import router
from gate.fake_server import FakeEndpoint
from offline.harness import ROOT, shared_run
from stacks.tiers import key_env, router_spec

pytestmark = pytest.mark.router
ROUTER_VENV = ROOT / "venv-router"
MASTER_KEY = "sk-router-test"
START_SECONDS = 120  # the proxy imports a lot on a shared 2-core machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(port: int, body: dict, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _chat(model: str, words: int = 3, stream: bool = False) -> dict:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "word " * words}],
        "max_tokens": 4,
        "stream": stream,
    }


@pytest.fixture(scope="module")
def hybrid():
    return shared_run("hybrid").program_globals["context"]


def _start(spec: router.RouterSpec, tmp: Path, keys: dict[str, str]) -> tuple[subprocess.Popen, int, Path]:
    return _launch({**router.environment(spec), **keys, router.MASTER_KEY_ENV: MASTER_KEY}, tmp)


def _launch(container_env: dict[str, str], tmp: Path) -> tuple[subprocess.Popen, int, Path]:
    if not (ROUTER_VENV / "bin" / "litellm").exists():
        pytest.fail("venv-router/ is missing: run `make test-router` (it installs requirements-router.txt)")
    port = _free_port()
    log = tmp / "router.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENAI_"))},
        **container_env,
        "DEEPSEEK_ROUTER_DIR": str(tmp / "router"),
        "DEEPSEEK_ROUTER_PORT": str(port),
        "PATH": f"{ROUTER_VENV / 'bin'}:{os.environ['PATH']}",
    }
    # The container's own command (router.command()), run by the router venv's Python.
    proc = subprocess.Popen(
        [str(ROUTER_VENV / "bin" / "python"), *router.command()[1:]],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{router.HEALTH_PATH}", timeout=2):
                return proc, port, log
        except OSError:
            time.sleep(1)
    proc.kill()
    pytest.fail(f"the proxy did not start:\n{log.read_text()[-3000:]}")


def _planned_router_env() -> dict[str, str]:
    task = shared_run("hybrid").one("aws:ecs/taskDefinition:TaskDefinition", under="TierRouter")
    [container] = json.loads(task.inputs["containerDefinitions"])
    return {e["name"]: e["value"] for e in container["environment"]}


def _events(log: Path) -> list[dict]:
    out = []
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"deepseek.route"' in line:
            out.append(json.loads(line))
    return out


def test_each_rule_sends_to_its_tier_dead_tier_falls_back_and_streams_pass(hybrid, tmp_path):
    small_name = hybrid.tiers[0].served_model_name
    large_name = hybrid.config.model.served_model_name or hybrid.model.key
    threshold = hybrid.config.tiers.rules[2].max_prompt_tokens
    keys = {key_env("large"): "key-large", key_env("cpu"): "key-small"}
    large = FakeEndpoint(api_key="key-large", model=large_name)
    small = FakeEndpoint(api_key="key-small", model=small_name)
    with large as large_url, small as small_url:
        spec = router_spec(
            hybrid,
            {"large": f"{large_url}/v1", "cpu": f"{small_url}/v1"},
            {t: key_env(t) for t in ("large", "cpu")},
        )
        # The config the stack generates, with only the tier addresses replaced, and the keep-alive the
        # planned router task runs with (the proxy refuses a KEEPALIVE_TIMEOUT it cannot parse).
        assert [t.name for t in spec.tiers] == ["large", "cpu"]
        spec = replace(spec, keep_alive_seconds=int(_planned_router_env()[router.KEEP_ALIVE_ENV]))
        proc, port, log = _start(spec, tmp_path, keys)
        try:

            def served_by(body: dict, headers: dict | None = None) -> tuple[str, int]:
                before = (large.requests, small.requests)
                status, _ = _post(port, body, headers)
                after = (large.requests, small.requests)
                tier = {(1, 0): "large", (0, 1): "cpu"}.get((after[0] - before[0], after[1] - before[1]), "?")
                return tier, status

            assert served_by(_chat(small_name)) == ("cpu", 200)  # model rule
            assert served_by(_chat(large_name)) == ("large", 200)  # model rule
            assert served_by(_chat("auto", words=threshold * 10)) == ("large", 200)  # long: default
            assert served_by(_chat("auto", words=threshold * 10), {"x-deepseek-tier": "cpu"}) == ("cpu", 200)
            assert served_by(_chat("auto", words=10)) == ("cpu", 200)  # promptTokens rule
            status, body = _post(port, _chat("auto", words=10, stream=True))
            assert status == 200
            chunks = [line for line in body.splitlines() if line.startswith("data: ")]
            assert len(chunks) >= 3 and chunks[-1] == "data: [DONE]"
            assert json.loads(chunks[0][6:])["choices"][0]["delta"]["content"] == "x"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        events = _events(log)
        assert [(e["tier"], e["rule"], e["fallback"]) for e in events] == [
            ("cpu", "model", False),
            ("large", "model", False),
            ("large", "default", False),
            ("cpu", "header", False),
            ("cpu", "promptTokens", False),
            ("cpu", "promptTokens", False),
        ]
        assert events[-1]["stream"] is True


def test_a_dead_tier_falls_back_to_the_next_and_the_fallback_is_logged(hybrid, tmp_path):
    small_name = hybrid.tiers[0].served_model_name
    large_name = hybrid.config.model.served_model_name or hybrid.model.key
    keys = {key_env("large"): "key-large", key_env("cpu"): "key-small"}
    dead = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    large = FakeEndpoint(api_key="key-large", model=large_name)
    with large as large_url:
        spec = router_spec(hybrid, {"large": f"{large_url}/v1", "cpu": dead}, {t: key_env(t) for t in ("large", "cpu")})
        proc, port, log = _start(spec, tmp_path, keys)
        try:
            status, body = _post(port, _chat(small_name))
            assert status == 200, body
            assert large.requests >= 1  # the answer came from the large tier (the only live server)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    events = _events(log)
    assert {(e["tier"], e["ok"]) for e in events} == {("cpu", False), ("large", True)}
    assert sum(e["ok"] for e in events) == 1  # one answer, after the small tier's failed attempt(s)
    served = next(e for e in events if e["ok"])
    assert served["routedTier"] == "cpu" and served["fallback"] is True


def _eks_pod_env(tmp: Path, urls: dict[str, str], keys: dict[str, str]) -> dict[str, str]:
    """The hybrid-eks router container's environment as the kubelet builds it: plain values, the ConfigMap's
    documents (config.yaml with only the tier addresses replaced), the CSI files (written here) by path."""
    from components.eks import router as eks_router
    from offline.harness import engine_inputs

    run = shared_run("hybrid-eks")
    [config_map] = [
        engine_inputs(r)
        for r in run.registrations
        if r.type == "kubernetes:core/v1:ConfigMap" and engine_inputs(r)["metadata"]["name"] == eks_router.CONFIG_MAP
    ]  # the router's, not the metrics collector's (components/eks/cloudwatch_metrics.py)
    data = dict(config_map["data"])
    config = yaml.safe_load(data["config.yaml"])
    by_model = {"deepseek-r1-distill-qwen-32b": "large", "deepseek-r1-distill-qwen-1.5b": "cpu"}
    for entry in config["model_list"]:
        entry["litellm_params"]["api_base"] = urls[by_model[entry["model_name"]]]
    data["config.yaml"] = yaml.safe_dump(config, sort_keys=False)
    [deploy] = [
        engine_inputs(r)
        for r in run.registrations
        if r.type == "kubernetes:apps/v1:Deployment" and r.name.endswith("-rtr-deploy")
    ]
    [container] = deploy["spec"]["template"]["spec"]["containers"]
    env = {}
    for e in container["env"]:
        env[e["name"]] = data[e["valueFrom"]["configMapKeyRef"]["key"]] if "valueFrom" in e else e["value"]
    secrets = tmp / "secrets"
    secrets.mkdir()
    files = {}
    for variable, path in json.loads(env[router.SECRET_FILES_ENV]).items():
        local = secrets / Path(path).name
        local.write_text(keys[Path(path).name] + "\n")  # the CSI provider's file (a trailing newline tolerated)
        files[variable] = str(local)
    env[router.SECRET_FILES_ENV] = json.dumps(files)
    assert set(eks_router.CONFIG_FILES) <= set(env)
    return env


def test_the_hybrid_eks_router_pod_routes_with_its_config_map_and_secret_files(hybrid, tmp_path):
    """The EKS router's own inputs (ConfigMap documents, keys only as files): the default tier's vLLM key is the
    master key there (as on ECS), so the large fake server expects the master key."""
    small_name = hybrid.tiers[0].served_model_name
    large_name = hybrid.config.model.served_model_name or hybrid.model.key
    large = FakeEndpoint(api_key=MASTER_KEY, model=large_name)
    small = FakeEndpoint(api_key="key-small", model=small_name)
    with large as large_url, small as small_url:
        urls = {"large": f"{large_url}/v1", "cpu": f"{small_url}/v1"}
        env = _eks_pod_env(tmp_path, urls, {"master-key": MASTER_KEY, "tier-cpu-key": "key-small"})
        assert router.MASTER_KEY_ENV not in env  # only the file says it
        proc, port, log = _launch(env, tmp_path)
        try:

            def served_by(body: dict) -> tuple[str, int]:
                before = (large.requests, small.requests)
                status, _ = _post(port, body)
                delta = (large.requests - before[0], small.requests - before[1])
                return {(1, 0): "large", (0, 1): "cpu"}.get(delta, "?"), status

            assert served_by(_chat(small_name)) == ("cpu", 200)
            assert served_by(_chat(large_name)) == ("large", 200)  # the master key file authenticates it
            assert served_by(_chat("auto", words=10)) == ("cpu", 200)
            status, body = _post(port, _chat("auto", words=10, stream=True))
            chunks = [line for line in body.splitlines() if line.startswith("data: ")]
            assert status == 200 and len(chunks) >= 3 and chunks[-1] == "data: [DONE]"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert [(e["tier"], e["rule"]) for e in _events(log)] == [
        ("cpu", "model"),
        ("large", "model"),
        ("cpu", "promptTokens"),
        ("cpu", "promptTokens"),
    ]
