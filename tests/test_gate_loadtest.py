"""`make loadtest`: the SLO verdict from AIPerf's export, and real AIPerf runs against the loopback test server."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from gate import loadtest
from gate.fake_server import FakeEndpoint, Faults
from gate.target import stack_settings

MODEL = "deepseek-r1-distill-qwen-7b"
SETTINGS = stack_settings("dev")  # slo: p99 TTFT 2 s, TPOT 0.1 s; scaling.targetQpsPerReplica 50; errors 5 %


def export(ttft_p99_ms=500.0, tpot_p99_ms=50.0, goodput=40.0, throughput=45.0, error_rate=0.0, requests=100.0):
    """The fields of AIPerf's profile_export_aiperf.json (schema 1.4) the gate reads."""
    lat = {"unit": "ms"}
    return {
        "time_to_first_token": {**lat, "p50": 100.0, "p90": 300.0, "p99": ttft_p99_ms},
        "inter_token_latency": {**lat, "p50": 20.0, "p90": 40.0, "p99": tpot_p99_ms},
        "inter_chunk_latency": {**lat, "p99": 60.0},
        "request_latency": {**lat, "p50": 3000.0, "p90": 5000.0, "p99": 8000.0},
        "request_count": {"avg": requests},
        "request_throughput": {"avg": throughput},
        "output_token_throughput": {"avg": throughput * 150},
        "goodput": {"avg": goodput},
        "request_error_rate": {"avg": error_rate},
        "error_summary": [{"error_details": {"code": 503, "message": "Service Unavailable"}, "count": 7}]
        if error_rate
        else [],
    }


def shape(rate=50.0, replicas=1):
    return loadtest.Shape(550, 150, rate, 0, 60, replicas)


def test_within_the_slos_at_the_target_passes_and_agrees():
    v = loadtest.evaluate(export(goodput=48.0), SETTINGS, shape())
    assert v.passed and v.failures == []
    assert v.per_replica_at_slo == 48.0
    assert v.recommendation == "agree: a replica meets the SLOs at 48.00 req/s ~ scaling.targetQpsPerReplica 50"


def test_slow_first_token_and_slow_decode_each_fail():
    v = loadtest.evaluate(export(ttft_p99_ms=2500.0, tpot_p99_ms=120.0, goodput=12.0), SETTINGS, shape(replicas=2))
    assert not v.passed
    assert v.failures == [
        "p99 TTFT 2.500 s > slo.ttftP99Seconds 2 s",
        "p99 TPOT 0.120 s > slo.tpotP99Seconds 0.1 s",
    ]
    assert v.per_replica_at_slo == 6.0
    assert v.recommendation == (
        "disagree: a replica meets the SLOs at 6.00 req/s but scaling.targetQpsPerReplica is 50: autoscaling adds "
        "replicas too late; lower it to 5.40 or less"
    )


def test_errors_above_the_alarm_threshold_fail():
    v = loadtest.evaluate(export(error_rate=7.0), SETTINGS, shape())
    assert v.failures == ["error rate 7.0 % > alarms.errorRatePercent 5 % (7 errors, e.g. 503 Service Unavailable)"]


def test_no_streamed_tokens_fail():
    data = export()
    del data["time_to_first_token"], data["inter_token_latency"]
    v = loadtest.evaluate(data, SETTINGS, shape())
    assert v.failures == [
        "no TTFT measured: no streamed request returned tokens",
        "no TPOT measured: no streamed request returned tokens",
    ]


def test_a_test_below_the_target_does_not_prove_it():
    v = loadtest.evaluate(export(goodput=4.0, throughput=4.0), SETTINGS, shape(rate=4.0))
    assert v.passed
    assert v.recommendation.startswith("not proven: the test offered 4.00 req/s per replica, below scaling.target")


def test_headroom_above_the_target_is_reported():
    v = loadtest.evaluate(export(goodput=80.0), SETTINGS, shape(rate=80.0))
    assert v.recommendation.startswith("headroom: a replica met the SLOs at 80.00 req/s, above")


def test_the_rate_defaults_to_the_scaling_target_times_replicas():
    assert loadtest.shape_of(SETTINGS, replicas=3).request_rate == 150.0
    custom = dataclasses.replace(SETTINGS, slo=SETTINGS.slo.model_copy(update={"request_rate": 7.5}))
    assert loadtest.shape_of(custom, replicas=3).request_rate == 7.5


def test_aiperf_gets_the_declared_shape_and_slos_as_goodput():
    cmd = loadtest.aiperf_command("aiperf", "http://h", "k", MODEL, "tok", shape(), SETTINGS, Path("o"), 30)
    value = {flag: cmd[cmd.index(flag) + 1] for flag in ("--isl", "--osl", "--request-rate", "--benchmark-duration")}
    assert cmd[:2] == ["aiperf", "profile"] and "--streaming" in cmd
    assert value == {"--isl": "550", "--osl": "150", "--request-rate": "50", "--benchmark-duration": "60"}
    assert cmd[cmd.index("--goodput") + 1] == "time_to_first_token:2000 inter_token_latency:100"
    assert "--concurrency" not in cmd


# --- the real load generator on loopback --------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> str:
    if not loadtest.AIPERF.exists():
        pytest.fail(f"{loadtest.AIPERF} missing: `make test-loadtest` builds it (requirements-loadtest.txt)")
    directory = tmp_path_factory.mktemp("tokenizer")
    python = loadtest.AIPERF.parent / "python"
    subprocess.run(
        [str(python), "-m", "gate.tiny_tokenizer", str(directory)], check=True, timeout=120, cwd=loadtest.ROOT
    )
    return str(directory)


def small(**slo) -> loadtest.StackSettings:
    """Few requests: 8 output tokens, 3 s at 3 req/s."""
    update = {"input_tokens": 32, "output_tokens": 8, **slo}
    return dataclasses.replace(SETTINGS, slo=SETTINGS.slo.model_copy(update=update))


def profile(url: str, key: str, settings, tokenizer: str, out: Path) -> loadtest.Verdict:
    s = loadtest.shape_of(settings, replicas=1, duration=3, rate=3)
    cmd = loadtest.aiperf_command(loadtest.AIPERF, url, key, MODEL, tokenizer, s, settings, out, grace=10)
    return loadtest.evaluate(loadtest.run_aiperf(cmd, out, timeout=180), settings, s)


@pytest.mark.aiperf
def test_the_cli_passes_a_healthy_endpoint(tokenizer, tmp_path, capsys, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    with FakeEndpoint("test-key", MODEL, Faults(token_delay=0.005)) as url:
        rc = loadtest.main(
            ["--stack", "dev", "--url", url, "--api-key", "test-key", "--tokenizer", tokenizer, "--duration", "3",
             "--request-rate", "3", "--grace", "10", "--replicas", "1", "--out", str(tmp_path / "lt")]
        )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    result = json.loads((tmp_path / "lt" / "gate.json").read_text())
    assert result["passed"] is True and result["metrics"]["requests"] >= 3
    assert result["metrics"]["tpot_p99_s"] < 0.1 and result["metrics"]["error_rate_percent"] == 0
    assert result["shape"]["output_tokens"] == 150  # the dev stack's declared shape
    assert "verdict: PASS" in out and "| per replica at the SLOs |" in out
    assert "test-key" not in (tmp_path / "lt" / "aiperf.log").read_text()  # AIPerf redacts the key
    assert "## Load test: dev" in summary.read_text()


@pytest.mark.aiperf
def test_a_slow_endpoint_misses_both_slos(tokenizer, tmp_path):
    faults = Faults(first_token_delay=0.4, token_delay=0.06)
    with FakeEndpoint("test-key", MODEL, faults) as url:
        v = profile(url, "test-key", small(ttft_p99_seconds=0.3, tpot_p99_seconds=0.05), tokenizer, tmp_path)
    assert not v.passed
    assert [f.split(" ")[1] for f in v.failures] == ["TTFT", "TPOT"]
    assert v.metrics["ttft_p50_s"] >= 0.4 and v.metrics["tpot_p50_s"] >= 0.06
    assert v.metrics["goodput_rps"] == 0 and v.recommendation.startswith("disagree:")


@pytest.mark.aiperf
def test_a_refused_key_fails_with_the_http_status(tokenizer, tmp_path):
    with FakeEndpoint("the-real-key", MODEL) as url, pytest.raises(loadtest.GateError) as caught:
        profile(url, "test-key", small(), tokenizer, tmp_path)
    assert "requests failed, e.g. HTTP 401 Unauthorized" in str(caught.value)
