"""`make smoke STACK=x`: does the deployed endpoint serve? One line per check, non-zero exit on any failure.

Checks, in order: the endpoint answers (503/502/504 and refused connections are retried with backoff while the
first replica starts, up to --wait-seconds, default alarms.replicaStartupMinutes); `/v1/models` lists the served
model; one chat completion returns tokens; one streamed chat completion returns tokens as server-sent events;
a request without the API key, and one with a wrong key, get 401; a path outside `/v1/*` gets the load
balancer's fixed 404 (vLLM's own /health would answer 200 if the listener forwarded it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from components.shared.endpoint import NOT_FOUND_ACTION
from gate.target import GateError, resolve_endpoint, stack_settings
from stacks.errors import ConfigError

RETRYABLE = (502, 503, 504)  # the ALB while no target is healthy, or a target that went away
OUTSIDE_PATH = "/health"  # vLLM answers it without a key: a forwarded request would get 200
ALB_NOT_FOUND = NOT_FOUND_ACTION["fixed_response"]["message_body"]  # the listener's default action


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class Client:
    def __init__(self, url: str, api_key: str, timeout: float) -> None:
        self.url, self.api_key, self.timeout = url, api_key, timeout

    def call(self, path: str, body: dict | None = None, key: str | None = "default") -> Reply:
        key = self.api_key if key == "default" else key
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as err:
            return Reply(err.code, dict(err.headers or {}), err.read())


def wait_until_serving(client: Client, wait_seconds: float, sleep=time.sleep, clock=time.monotonic) -> Check:
    """Retry /v1/models with exponential backoff (1 s doubling, 30 s at most) while the endpoint is starting."""
    deadline, delay, tries, last = clock() + wait_seconds, 1.0, 0, ""
    while True:
        tries += 1
        try:
            reply = client.call("/v1/models")
            if reply.status not in RETRYABLE:
                return Check("ready", True, f"HTTP {reply.status} after {tries} attempt(s)")
            last = f"HTTP {reply.status}"
        except (urllib.error.URLError, OSError) as err:
            last = f"{type(err).__name__}: {getattr(err, 'reason', err)}"
        if clock() + delay > deadline:
            return Check("ready", False, f"not serving after {wait_seconds:g} s ({tries} attempts; last: {last})")
        sleep(delay)
        delay = min(delay * 2, 30.0)


def check_models(client: Client, model: str) -> Check:
    reply = client.call("/v1/models")
    if reply.status != 200:
        return Check("models", False, f"/v1/models got HTTP {reply.status}: {_snippet(reply.body)}")
    ids = [m.get("id") for m in (reply.json() or {}).get("data", [])]
    if model not in ids:
        return Check("models", False, f"served model {model!r} not listed (got {ids})")
    return Check("models", True, f"lists {model}")


def _chat(model: str, stream: bool) -> dict:
    messages = [{"role": "user", "content": "Say hello."}]
    return {"model": model, "messages": messages, "max_tokens": 8, "stream": stream, "temperature": 0}


def check_completion(client: Client, model: str) -> Check:
    reply = client.call("/v1/chat/completions", _chat(model, stream=False))
    if reply.status != 200:
        return Check("completion", False, f"HTTP {reply.status}: {_snippet(reply.body)}")
    try:
        data = reply.json()
        text = data["choices"][0]["message"].get("content") or data["choices"][0]["message"].get("reasoning_content")
        tokens = int((data.get("usage") or {}).get("completion_tokens") or 0)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return Check("completion", False, f"not a chat completion: {_snippet(reply.body)}")
    if not text or tokens < 1:
        return Check("completion", False, f"no tokens returned (content {text!r}, completion_tokens {tokens})")
    return Check("completion", True, f"{tokens} token(s)")


def check_stream(client: Client, model: str) -> Check:
    reply = client.call("/v1/chat/completions", _chat(model, stream=True))
    if reply.status != 200:
        return Check("stream", False, f"HTTP {reply.status}: {_snippet(reply.body)}")
    kind = reply.headers.get("Content-Type", reply.headers.get("content-type", ""))
    if not kind.startswith("text/event-stream"):
        return Check("stream", False, f"answered {kind or 'no Content-Type'}, not server-sent events")
    pieces, done = [], False
    for line in reply.body.decode(errors="replace").splitlines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            done = True
            continue
        try:
            delta = (json.loads(payload).get("choices") or [{}])[0].get("delta") or {}
        except (ValueError, AttributeError, IndexError):
            return Check("stream", False, f"an event is not JSON: {payload[:80]!r}")
        pieces.append(delta.get("content") or delta.get("reasoning_content") or "")
    chunks = sum(1 for p in pieces if p)
    if not chunks:
        return Check("stream", False, "no token in the event stream")
    if not done:
        return Check("stream", False, f"{chunks} token chunk(s) but no final [DONE] event")
    return Check("stream", True, f"{chunks} token chunk(s), then [DONE]")


def check_key_required(client: Client) -> Check:
    for label, key in (("without the API key", None), ("with a wrong API key", "not-" + client.api_key[:4])):
        reply = client.call("/v1/models", key=key)
        if reply.status != 401:
            return Check("auth", False, f"a request {label} got HTTP {reply.status} (expected 401)")
    return Check("auth", True, "401 without the key and with a wrong key")


def check_outside_v1(client: Client) -> Check:
    reply = client.call(OUTSIDE_PATH, key=None)
    if reply.status != 404:
        return Check("routing", False, f"{OUTSIDE_PATH} got HTTP {reply.status} (expected the load balancer's 404)")
    if reply.body.decode(errors="replace").strip() != ALB_NOT_FOUND:
        return Check("routing", False, f"{OUTSIDE_PATH} got a 404 that is not the load balancer's fixed response")
    return Check("routing", True, f"{OUTSIDE_PATH} gets the load balancer's 404")


def run(url: str, api_key: str, model: str, wait_seconds: float, timeout: float) -> list[Check]:
    client = Client(url, api_key, timeout)
    ready = wait_until_serving(client, wait_seconds)
    if not ready.ok:
        return [ready]
    checks = [ready]
    for check in (check_models, check_completion, check_stream):
        checks.append(check(client, model))
    checks.append(check_key_required(client))
    checks.append(check_outside_v1(client))
    return checks


def _snippet(body: bytes) -> str:
    return body.decode(errors="replace").strip().replace("\n", " ")[:120]


def markdown(stack: str, url: str, checks: list[Check]) -> str:
    rows = "\n".join(f"| {c.name} | {'pass' if c.ok else '**FAIL**'} | {c.detail.replace('|', '/')} |" for c in checks)
    return f"## Smoke test: {stack}\n\n{url}\n\n| check | result | detail |\n|---|---|---|\n{rows}\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make smoke", description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="dev")
    ap.add_argument("--url", help="endpoint base URL (default: GATE_ENDPOINT_URL, else the endpointUrl output)")
    ap.add_argument("--api-key", help="API key (default: GATE_API_KEY, else the apiKeySecretArn secret)")
    ap.add_argument("--model", help="served model name (default: the stack's model.servedModelName or key)")
    ap.add_argument("--wait-seconds", type=float, help="how long to retry while it starts (default: replica startup)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per request")
    ap.add_argument("--json", dest="json_path", help="write the checks as JSON here")
    args = ap.parse_args(argv)
    try:
        settings = stack_settings(args.stack)
        endpoint = resolve_endpoint(args.stack, args.url, args.api_key)
    except (GateError, ConfigError) as exc:
        print(f"smoke: {exc}", file=sys.stderr)
        return 2
    wait = args.wait_seconds if args.wait_seconds is not None else settings.alarms.replica_startup_minutes * 60
    checks = run(endpoint.url, endpoint.api_key, args.model or settings.served_model, wait, args.timeout)
    for check in checks:
        print(check.line(), flush=True)
    if args.json_path:
        Path(args.json_path).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json_path, "w") as f:
            json.dump({"stack": args.stack, "url": endpoint.url, "checks": [asdict(c) for c in checks]}, f, indent=2)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as f:
            f.write(markdown(args.stack, endpoint.url, checks))
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
