"""`make smoke` against the loopback test server (gate/fake_server.py): each broken promise is reported."""

from __future__ import annotations

import json

import pytest

from gate import smoke
from gate.fake_server import FakeEndpoint, Faults
from gate.target import GateError, stack_settings
from offline.harness import run_program
from stacks.errors import ConfigError

MODEL = "deepseek-r1-distill-qwen-7b"


def run_smoke(faults: Faults, *extra: str, capsys) -> tuple[int, list[str]]:
    with FakeEndpoint("test-key", MODEL, faults) as url:
        rc = smoke.main(["--stack", "dev", "--url", url, "--api-key", "test-key", "--wait-seconds", "0", *extra])
    return rc, capsys.readouterr().out.splitlines()


def test_a_serving_endpoint_passes_every_check(capsys, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    rc, lines = run_smoke(Faults(), "--json", str(tmp_path / "build" / "smoke.json"), capsys=capsys)
    assert rc == 0
    assert lines == [
        "ok   ready: HTTP 200 after 1 attempt(s)",
        f"ok   models: lists {MODEL}",
        "ok   completion: 8 token(s)",
        "ok   stream: 8 token chunk(s), then [DONE]",
        "ok   auth: 401 without the key and with a wrong key",
        "ok   routing: /health gets the load balancer's 404",
    ]
    assert [c["name"] for c in json.loads((tmp_path / "build" / "smoke.json").read_text())["checks"]] == [
        "ready", "models", "completion", "stream", "auth", "routing",
    ]  # fmt: skip
    assert "| auth | pass |" in summary.read_text()


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        (Faults(accept_any_key=True), "FAIL auth: a request without the API key got HTTP 200 (expected 401)"),
        (Faults(model_missing=True), f"FAIL models: served model '{MODEL}' not listed (got ['some-other-model'])"),
        (Faults(no_stream=True), "FAIL stream: answered application/json, not server-sent events"),
        (Faults(forward_all_paths=True), "FAIL routing: /health got HTTP 200 (expected the load balancer's 404)"),
        (Faults(empty_completion=True), "FAIL completion: no tokens returned (content None, completion_tokens 0)"),
    ],
    ids=["wrong-key-accepted", "model-missing", "no-stream", "404-path-forwarded", "no-tokens"],
)
def test_each_failure_is_one_line_and_a_nonzero_exit(faults, expected, capsys):
    rc, lines = run_smoke(faults, capsys=capsys)
    assert rc == 1
    assert expected in lines
    assert sum(line.startswith("FAIL") for line in lines) == (2 if faults.empty_completion else 1)


def test_a_wrong_key_in_the_gate_is_reported_not_retried(capsys):
    with FakeEndpoint("test-key", MODEL) as url:
        rc = smoke.main(["--stack", "dev", "--url", url, "--api-key", "stale-key", "--wait-seconds", "0"])
    lines = capsys.readouterr().out.splitlines()
    assert rc == 1
    assert 'FAIL models: /v1/models got HTTP 401: {"error": "Unauthorized"}' in lines


class FakeClock:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_503s_while_the_first_replica_starts_are_retried_with_backoff():
    clock = FakeClock()
    with FakeEndpoint("test-key", MODEL, Faults(unavailable_first=4)) as url:
        check = smoke.wait_until_serving(smoke.Client(url, "test-key", 5), 600, clock.sleep, lambda: clock.now)
    assert check.ok and check.detail == "HTTP 200 after 5 attempt(s)"
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_retries_stop_at_the_bound():
    clock = FakeClock()
    with FakeEndpoint("test-key", MODEL, Faults(unavailable_first=10_000)) as url:
        check = smoke.wait_until_serving(smoke.Client(url, "test-key", 5), 100, clock.sleep, lambda: clock.now)
    assert not check.ok
    assert check.detail == "not serving after 100 s (8 attempts; last: HTTP 503)"
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]  # capped at 30 s; the next would pass 100 s


def test_nothing_listening_is_retried_then_reported():
    clock = FakeClock()
    check = smoke.wait_until_serving(smoke.Client("http://127.0.0.1:9", "k", 2), 3, clock.sleep, lambda: clock.now)
    assert not check.ok and check.detail.startswith("not serving after 3 s (3 attempts; last: URLError")


def test_unknown_stack_is_one_line(capsys):
    assert smoke.main(["--stack", "qa", "--url", "http://127.0.0.1:9", "--api-key", "k"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == "smoke: no stack config Pulumi.qa.yaml; stacks: dev, eks-dev, eks-r1, hybrid, hybrid-eks, prod, staging"
    )


def test_without_url_or_pulumi_cli_says_what_to_pass(capsys, monkeypatch):
    monkeypatch.delenv("GATE_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("GATE_API_KEY", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert smoke.main(["--stack", "dev"]) == 2
    assert capsys.readouterr().err.strip() == (
        "smoke: no pulumi CLI to read stack dev's outputs: pass --url and --api-key (or GATE_ENDPOINT_URL/GATE_API_KEY)"
    )


# --- the slo: config section ---------------------------------------------------------------------------


def test_slo_defaults_come_from_pulumi_yaml():
    slo = stack_settings("dev").slo
    assert (slo.ttft_p99_seconds, slo.tpot_p99_seconds) == (2.0, 0.1)
    assert (slo.input_tokens, slo.output_tokens, slo.request_rate, slo.concurrency, slo.duration_seconds) == (
        550, 150, 0.0, 0, 60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        (
            {"deepseek-cloud:slo.ttftP99Seconds": 0},
            "deepseek-cloud:slo.ttftP99Seconds: out of range (got 0; allowed: (0, 600])",
        ),
        (
            {"deepseek-cloud:slo.tpotP99Secs": 0.05},
            "deepseek-cloud:slo.tpotP99Secs: unknown key",
        ),
        (
            {"deepseek-cloud:slo.inputTokens": 8100},
            "deepseek-cloud:slo.inputTokens: slo.inputTokens + slo.outputTokens (150) exceed model.maxModelLen 8192 "
            "(got 8100; allowed: 1–8042)",
        ),
    ],
)
def test_bad_slo_values_are_reported_before_anything_is_declared(overrides, line):
    with pytest.raises(ConfigError) as caught:
        run_program("dev", overrides=overrides)
    lines = [str(p) for p in caught.value.problems]
    assert any(entry.startswith(line) for entry in lines), lines


def test_the_gate_reports_bad_slo_values_too(tmp_path):
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  deepseek-cloud:slo:\n    durationSeconds: 5\n")
    with pytest.raises(ConfigError) as caught:
        stack_settings("x", root=tmp_path)
    assert [p.path for p in caught.value.problems] == ["slo.durationSeconds"]
    with pytest.raises(GateError):
        stack_settings("missing", root=tmp_path)
