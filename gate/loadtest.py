"""`make loadtest STACK=x`: NVIDIA AIPerf at the stack's declared traffic shape (slo:), judged against its SLOs.

AIPerf (PyPI `aiperf`, pinned in requirements-loadtest.txt, installed in its own venv-loadtest/: it needs no
torch, unlike GuideLLM or `vllm bench serve`) sends streamed chat completions of slo.inputTokens prompt tokens,
asking for slo.outputTokens (ignore_eos, so each request decodes that many), at slo.requestRate req/s (0 =
scaling.targetQpsPerReplica x replicas) for slo.durationSeconds. This module turns its JSON export into the
gate's verdict: p99 TTFT <= slo.ttftP99Seconds, p99 TPOT (AIPerf's inter_token_latency: (latency - TTFT) /
(output tokens - 1), per request) <= slo.tpotP99Seconds, error rate <= alarms.errorRatePercent; goodput is
the rate of requests that met both latency SLOs (AIPerf --goodput, DistServe's definition). Goodput per
replica is the measured requests/s one replica carries at the SLO, printed next to scaling.targetQpsPerReplica.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gate.target import GateError, StackSettings, resolve_endpoint, running_replicas, stack_settings
from stacks.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
AIPERF = ROOT / "venv-loadtest" / "bin" / "aiperf"
EXPORT = "profile_export_aiperf.json"
AGREEMENT = 0.10  # within 10 % of the scaling target counts as agreeing
STARTUP_ALLOWANCE_SECONDS = 120  # AIPerf's own start (services, tokenizer, dataset) and shutdown


@dataclass(frozen=True)
class Shape:
    """What the load test offers: from slo:, with the rate resolved against the replicas serving."""

    input_tokens: int
    output_tokens: int
    request_rate: float
    concurrency: int
    duration_seconds: int
    replicas: int


def shape_of(settings: StackSettings, replicas: int, duration: int | None = None, rate: float | None = None) -> Shape:
    slo = settings.slo
    offered = rate or slo.request_rate or settings.scaling.target_qps_per_replica * replicas
    return Shape(
        slo.input_tokens, slo.output_tokens, offered, slo.concurrency, duration or slo.duration_seconds, replicas
    )


def aiperf_command(
    aiperf: Path | str,
    url: str,
    api_key: str,
    model: str,
    tokenizer: str,
    shape: Shape,
    settings: StackSettings,
    out: Path,
    grace: float,
) -> list[str]:
    ms = {"time_to_first_token": settings.slo.ttft_p99_seconds, "inter_token_latency": settings.slo.tpot_p99_seconds}
    cmd = [
        str(aiperf), "profile",
        "--model", model,
        "--url", url,
        "--endpoint-type", "chat",
        "--streaming",
        "--api-key", api_key,  # AIPerf prints and exports it as <redacted>
        "--tokenizer", tokenizer,
        "--isl", str(shape.input_tokens), "--isl-stddev", "0",
        "--osl", str(shape.output_tokens), "--osl-stddev", "0",
        # vLLM's sampling parameter: decode exactly --osl tokens, so TPOT and throughput mean the same every run.
        "--extra-inputs", "ignore_eos:true",
        "--request-rate", f"{shape.request_rate:g}",
        "--benchmark-duration", str(shape.duration_seconds),
        "--benchmark-grace-period", f"{grace:g}",
        "--goodput", " ".join(f"{k}:{v * 1000:g}" for k, v in ms.items()),
        "--request-timeout-seconds", f"{shape.duration_seconds + grace:g}",
        "--random-seed", "0",
        "--artifact-dir", str(out),
        "--ui-type", "none",
        "--no-gpu-telemetry",
        "--no-server-metrics",
    ]  # fmt: skip
    if shape.concurrency:
        cmd += ["--concurrency", str(shape.concurrency)]
    return cmd


def run_aiperf(cmd: list[str], out: Path, timeout: float) -> dict[str, Any]:
    """Run AIPerf; its console output goes to out/aiperf.log. The JSON export, or a one-line GateError."""
    out.mkdir(parents=True, exist_ok=True)
    log = out / "aiperf.log"
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "160"}
    try:
        with log.open("w") as f:
            done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, check=False, env=env)
    except FileNotFoundError as exc:
        raise GateError(f"no load generator at {cmd[0]}: run `make loadtest-venv` (requirements-loadtest.txt)") from exc
    except subprocess.TimeoutExpired as exc:
        raise GateError(f"aiperf did not finish in {timeout:g} s (log: {log})") from exc
    export = out / EXPORT
    if done.returncode != 0 or not export.exists():
        reason = _record_errors(out / "profile_export.jsonl") or _last_error(log.read_text(errors="replace"))
        raise GateError(f"aiperf exited {done.returncode}: {reason} (log: {log})")
    return json.loads(export.read_text())


def _record_errors(records: Path) -> str:
    """'8 of 8 requests failed, e.g. HTTP 401 Unauthorized', from AIPerf's per-request records."""
    if not records.exists():
        return ""
    rows = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    failed = [r["error"] for r in rows if r.get("error")]
    if not failed:
        return ""
    first = failed[0]
    return (
        f"{len(failed)} of {len(rows)} requests failed, e.g. HTTP {first.get('code')} {first.get('type', '')}".strip()
    )


def _last_error(text: str) -> str:
    for marker in ("Reason:", "ERROR", "Error:"):
        lines = [ln.strip(" │") for ln in text.splitlines() if marker in ln]
        if lines:
            return lines[-1].strip()[:200]
    return (text.strip().splitlines() or ["no output"])[-1][:200]


@dataclass
class Verdict:
    passed: bool
    failures: list[str]
    metrics: dict[str, float | None]
    per_replica_at_slo: float
    target_qps_per_replica: float
    recommendation: str
    shape: dict[str, Any] = field(default_factory=dict)
    slo: dict[str, float] = field(default_factory=dict)


def _stat(export: dict, tag: str, stat: str, scale: float = 1.0) -> float | None:
    value = (export.get(tag) or {}).get(stat)
    return None if value is None else float(value) * scale


def metrics_of(export: dict) -> dict[str, float | None]:
    """Seconds and requests/s from AIPerf's export (its latencies are in ms)."""
    m: dict[str, float | None] = {}
    for name, tag in (("ttft", "time_to_first_token"), ("tpot", "inter_token_latency"), ("e2e", "request_latency")):
        for stat in ("p50", "p90", "p99"):
            m[f"{name}_{stat}_s"] = _stat(export, tag, stat, 1e-3)
    m["itl_p99_s"] = _stat(export, "inter_chunk_latency", "p99", 1e-3)
    m["requests"] = _stat(export, "request_count", "avg")
    m["request_throughput_rps"] = _stat(export, "request_throughput", "avg")
    m["output_token_throughput_tps"] = _stat(export, "output_token_throughput", "avg")
    m["goodput_rps"] = _stat(export, "goodput", "avg")
    m["error_rate_percent"] = _stat(export, "request_error_rate", "avg")
    m["errors"] = float(sum(int(e.get("count", 0)) for e in export.get("error_summary") or []))
    return m


def evaluate(export: dict, settings: StackSettings, shape: Shape) -> Verdict:
    m = metrics_of(export)
    slo, failures = settings.slo, []
    if not m["requests"]:
        failures.append(f"no request completed ({_errors(export)})")
    error_limit = settings.alarms.error_rate_percent
    if (m["error_rate_percent"] or 0) > error_limit:
        rate = m["error_rate_percent"]
        failures.append(f"error rate {rate:.1f} % > alarms.errorRatePercent {error_limit:g} % ({_errors(export)})")
    for name, limit, key in (("TTFT", slo.ttft_p99_seconds, "ttft"), ("TPOT", slo.tpot_p99_seconds, "tpot")):
        value = m[f"{key}_p99_s"]
        if value is None:
            failures.append(f"no {name} measured: no streamed request returned tokens")
        elif value > limit:
            failures.append(f"p99 {name} {value:.3f} s > slo.{key}P99Seconds {limit:g} s")
    per_replica = (m["goodput_rps"] or 0.0) / shape.replicas
    target = settings.scaling.target_qps_per_replica
    return Verdict(
        passed=not failures,
        failures=failures,
        metrics=m,
        per_replica_at_slo=per_replica,
        target_qps_per_replica=target,
        recommendation=recommend(per_replica, target, shape, passed=not failures),
        shape=asdict(shape),
        slo={"ttftP99Seconds": slo.ttft_p99_seconds, "tpotP99Seconds": slo.tpot_p99_seconds},
    )


def recommend(per_replica: float, target: float, shape: Shape, passed: bool) -> str:
    offered = shape.request_rate / shape.replicas
    if per_replica < target * (1 - AGREEMENT):
        if passed and offered < target * (1 - AGREEMENT):
            return (
                f"not proven: the test offered {offered:.2f} req/s per replica, below scaling.targetQpsPerReplica "
                f"{target:g}; set slo.requestRate to 0 (= target x replicas) or >= {target * shape.replicas:g}"
            )
        return (
            f"disagree: a replica meets the SLOs at {per_replica:.2f} req/s but scaling.targetQpsPerReplica is "
            f"{target:g}: autoscaling adds replicas too late; lower it to {max(per_replica * 0.9, 0.01):.2f} or less"
        )
    if per_replica > target * (1 + AGREEMENT) and passed:
        return (
            f"headroom: a replica met the SLOs at {per_replica:.2f} req/s, above scaling.targetQpsPerReplica "
            f"{target:g}; raising the target toward it would need fewer replicas"
        )
    return f"agree: a replica meets the SLOs at {per_replica:.2f} req/s ~ scaling.targetQpsPerReplica {target:g}"


def _errors(export: dict) -> str:
    summary = export.get("error_summary") or []
    if not summary:
        return "no errors recorded"
    detail = summary[0].get("error_details") or {}
    count = sum(int(e.get("count", 0)) for e in summary)
    return f"{count} errors, e.g. {detail.get('code', '')} {detail.get('message', '')}".strip()[:200]


def table(v: Verdict) -> str:
    m, rows = v.metrics, []

    def s(x: float | None, unit: str = "s") -> str:
        return "n/a" if x is None else f"{x:.3f} {unit}"

    rows.append(
        (
            "TTFT p50 / p90 / p99",
            f"{s(m['ttft_p50_s'])} / {s(m['ttft_p90_s'])} / {s(m['ttft_p99_s'])}",
            f"p99 <= {v.slo['ttftP99Seconds']:g} s",
        )
    )
    rows.append(
        (
            "TPOT p50 / p90 / p99",
            f"{s(m['tpot_p50_s'])} / {s(m['tpot_p90_s'])} / {s(m['tpot_p99_s'])}",
            f"p99 <= {v.slo['tpotP99Seconds']:g} s",
        )
    )
    rows.append(("ITL (between chunks) p99", s(m["itl_p99_s"]), ""))
    rows.append(("end-to-end p50 / p90 / p99", f"{s(m['e2e_p50_s'])} / {s(m['e2e_p90_s'])} / {s(m['e2e_p99_s'])}", ""))
    rows.append(
        ("requests (errors)", f"{m['requests'] or 0:.0f} ({m['errors']:.0f}, {m['error_rate_percent'] or 0:.1f} %)", "")
    )
    rows.append(
        (
            "throughput",
            f"{m['request_throughput_rps'] or 0:.2f} req/s, {m['output_token_throughput_tps'] or 0:.1f} output tok/s",
            f"offered {v.shape['request_rate']:g} req/s",
        )
    )
    rows.append(("goodput (met both SLOs)", f"{m['goodput_rps'] or 0:.2f} req/s", ""))
    rows.append(
        (
            "per replica at the SLOs",
            f"{v.per_replica_at_slo:.2f} req/s ({v.shape['replicas']} replica(s))",
            f"scaling.targetQpsPerReplica {v.target_qps_per_replica:g}",
        )
    )
    lines = ["| metric | measured | objective |", "|---|---|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]
    verdict = "PASS" if v.passed else "FAIL: " + "; ".join(v.failures)
    return "\n".join([*lines, "", f"verdict: {verdict}", f"recommendation: {v.recommendation}"])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make loadtest", description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="dev")
    ap.add_argument("--url")
    ap.add_argument("--api-key")
    ap.add_argument("--model", help="served model name (default: the stack's)")
    ap.add_argument("--tokenizer", help="tokenizer: HF id or local dir (default: the model's HF id)")
    ap.add_argument("--replicas", type=int, help="replicas serving (default: ECS runningCount, else minReplicas, >= 1)")
    ap.add_argument("--duration", type=int, help="seconds (default: slo.durationSeconds)")
    ap.add_argument("--request-rate", type=float, help="req/s (default: slo.requestRate, 0 = target x replicas)")
    ap.add_argument("--grace", type=float, default=30, help="seconds to wait for requests in flight at the end")
    ap.add_argument("--out", default="build/loadtest", help="directory for AIPerf's artifacts and gate.json")
    ap.add_argument("--aiperf", default=str(AIPERF), help="the aiperf executable")
    args = ap.parse_args(argv)
    try:
        settings = stack_settings(args.stack)
        endpoint = resolve_endpoint(args.stack, args.url, args.api_key)
        replicas = args.replicas or running_replicas(endpoint.outputs) or max(1, settings.scaling.min_replicas)
        shape = shape_of(settings, replicas, args.duration, args.request_rate)
        out = Path(args.out)
        cmd = aiperf_command(
            args.aiperf, endpoint.url, endpoint.api_key, args.model or settings.served_model,
            args.tokenizer or settings.hf_id, shape, settings, out, args.grace,
        )  # fmt: skip
        export = run_aiperf(cmd, out, shape.duration_seconds + args.grace + STARTUP_ALLOWANCE_SECONDS)
    except (GateError, ConfigError) as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    verdict = evaluate(export, settings, shape)
    (out / "gate.json").write_text(json.dumps({"stack": args.stack, **asdict(verdict)}, indent=2))
    report = table(verdict)
    print(report)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as f:
            f.write(f"## Load test: {args.stack}\n\n{report}\n\n")
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
