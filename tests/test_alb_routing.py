"""Which request paths reach vLLM: an evaluator of ALB listener rules run over the planned registrations.

ALB semantics (Elastic Load Balancing user guide, "Listener rules for your Application Load Balancer",
"Path conditions"; checked 2026-12-01):
- rules are evaluated in priority order, lowest value first; the first rule whose conditions all match
  decides; when none matches, the listener's default action applies;
- a condition's `values` are alternatives (any may match); several conditions on one rule must all match;
- a path pattern is case-sensitive, `*` matches 0 or more characters (including `/`), `?` exactly one;
- the pattern is compared with the path only, never with the query string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from components.shared.router import KEEP_ALIVE_ENV as ROUTER_KEEP_ALIVE_ENV
from components.shared.router import PORT as ROUTER_PORT
from components.shared.vllm import KEEP_ALIVE_MARGIN_SECONDS
from components.shared.vllm import PORT as CONTAINER_PORT
from offline.harness import ProgramRun, platform_stacks, shared_run

LISTENER = "aws:lb/listener:Listener"
RULE = "aws:lb/listenerRule:ListenerRule"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"

# Paths vLLM serves without checking VLLM_API_KEY (vLLM issues #58144, #18892; vLLM security docs).
UNGUARDED = ["/invocations", "/metrics", "/tokenize", "/detokenize", "/pooling", "/score", "/rerank", "/version"]
MORE = ["/health", "/load", "/ping", "/", "/docs", "/openapi.json", "/V1/models", "/v1", "/v2/chat", "/x/v1/models"]
API = ["/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings?x=/metrics"]


# -- the evaluator ----------------------------------------------------------------------------------


def path_pattern_regex(pattern: str) -> re.Pattern[str]:
    """An ALB path pattern as a regular expression: `*` any run of characters, `?` one, case-sensitive."""
    parts = ("." * (c == "?") + ".*" * (c == "*") if c in "*?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _condition_matches(condition: dict[str, Any], path: str) -> bool:
    if set(condition) != {"pathPattern"}:  # any other condition kind: this evaluator refuses to guess
        raise ValueError(f"unsupported condition {sorted(condition)}")
    return any(path_pattern_regex(p).fullmatch(path) for p in condition["pathPattern"]["values"])


@dataclass(frozen=True)
class Outcome:
    kind: str  # forward | fixed-response | redirect
    detail: str  # target group ARN, status code, or redirect protocol


def _outcome(actions: list[dict[str, Any]]) -> Outcome:
    # Non-terminal actions (authenticate-*) come first in `actions`; the last one is the terminal action.
    action = actions[-1]
    kind = action["type"]
    if kind == "forward":
        return Outcome(kind, action.get("targetGroupArn") or str(action.get("forward")))
    if kind == "fixed-response":
        return Outcome(kind, str(action["fixedResponse"]["statusCode"]))
    if kind == "redirect":
        return Outcome(kind, str(action["redirect"].get("protocol")))
    raise ValueError(f"unsupported action {kind}")


def route(run: ProgramRun, port: int, request_target: str, load_balancer_arn: str = "") -> Outcome:
    """What the load balancer (the stack's only one, or `load_balancer_arn`) does with `GET <request_target>`
    arriving on `port`."""
    path = request_target.split("?", 1)[0]
    [listener] = [
        r
        for r in run.of_type(LISTENER)
        if r.inputs["port"] == port and load_balancer_arn in ("", r.inputs["loadBalancerArn"])
    ]
    arn = listener.outputs["arn"]
    rules = sorted((r.inputs for r in run.of_type(RULE) if r.inputs["listenerArn"] == arn), key=lambda r: r["priority"])
    for rule in rules:
        if all(_condition_matches(c, path) for c in rule["conditions"]):
            return _outcome(rule["actions"])
    return _outcome(listener.inputs["defaultActions"])


def load_balancers(run: ProgramRun) -> list[tuple[str, int, int]]:
    """(ARN, serving port, the port its targets listen on) per load balancer. A tiered stack has one public
    load balancer in front of the router and an internal one (HTTP inside the VPC) per tier; the others
    front vLLM directly."""
    lbs = run.of_type("aws:lb/loadBalancer:LoadBalancer")
    tiered = any(lb.inputs["internal"] for lb in lbs)
    found = []
    for lb in lbs:
        arn = lb.outputs["arn"]
        ports = {r.inputs["port"] for r in run.of_type(LISTENER) if r.inputs["loadBalancerArn"] == arn}
        target = ROUTER_PORT if tiered and not lb.inputs["internal"] else CONTAINER_PORT
        found.append((arn, 443 if 443 in ports else 80, target))
    return found


# -- the evaluator can fail --------------------------------------------------------------------------


def test_path_pattern_semantics():
    star = path_pattern_regex("/v1/*")
    assert star.fullmatch("/v1/") and star.fullmatch("/v1/chat/completions")
    assert not star.fullmatch("/v1") and not star.fullmatch("/V1/models") and not star.fullmatch("/x/v1/a")
    one = path_pattern_regex("/img/?.png")
    assert one.fullmatch("/img/a.png") and not one.fullmatch("/img/ab.png") and not one.fullmatch("/img/aXpng")


# -- the planned stacks ------------------------------------------------------------------------------


# (stack, overrides, serving port or None: 443 where a listener serves it, else 80): every shipped ECS stack,
# plus dev without and with a certificate. Runs are made when a test first needs them, not while pytest
# collects (each xdist worker collects every file).
CASES = {
    **{stack: (stack, None, None) for stack in platform_stacks("ecs")},
    "dev+http": ("dev", {"deepseek-cloud:serving.allowedCidrs": ["10.0.0.0/8"]}, 80),
    "dev+https": ("dev", {"deepseek-cloud:serving.certificateArn": CERT}, 443),
}


@pytest.fixture
def run(label: str) -> ProgramRun:
    stack, overrides, _ = CASES[label]
    return shared_run(stack, overrides)


@pytest.fixture
def port(label: str, run: ProgramRun) -> int:
    expected = CASES[label][2]
    return expected or (443 if any(r.inputs["port"] == 443 for r in run.of_type(LISTENER)) else 80)


@pytest.mark.parametrize("label", list(CASES))
def test_only_the_openai_api_reaches_vllm(label: str, run: ProgramRun, port: int) -> None:
    """Each load balancer forwards /v1/* to its own target group (the router's, or one vLLM tier's) and
    answers 404 to everything else; every target group is reached that way."""
    targets = {tg.outputs["arn"]: tg.inputs["port"] for tg in run.of_type("aws:lb/targetGroup:TargetGroup")}
    reached = []
    for lb_arn, lb_port, target_port in load_balancers(run):
        tg_arn = route(run, lb_port, API[0], lb_arn).detail
        assert targets[tg_arn] == target_port, (label, lb_arn)
        for path in API:
            assert route(run, lb_port, path, lb_arn) == Outcome("forward", tg_arn), (label, path)
        for path in UNGUARDED + MORE:
            assert route(run, lb_port, path, lb_arn) == Outcome("fixed-response", "404"), (label, path)
        reached.append(tg_arn)
    assert sorted(reached) == sorted(targets), label
    assert port in {p for _, p, _ in load_balancers(run)}, label


@pytest.mark.parametrize("label", list(CASES))
def test_no_listener_forwards_by_default_and_the_api_rule_is_the_only_forward(
    label: str, run: ProgramRun, port: int
) -> None:
    for listener in run.of_type(LISTENER):
        assert _outcome(listener.inputs["defaultActions"]).kind != "forward", (label, listener.name)
    forwards = [r.inputs for r in run.of_type(RULE) if _outcome(r.inputs["actions"]).kind == "forward"]
    one_per_lb = [[{"pathPattern": {"values": ["/v1/*"]}}]] * len(run.of_type("aws:lb/loadBalancer:LoadBalancer"))
    assert [r["conditions"] for r in forwards] == one_per_lb, label


def test_plain_http_with_a_certificate_only_redirects() -> None:
    run = shared_run("dev", {"deepseek-cloud:serving.certificateArn": CERT})
    for path in [*API, *UNGUARDED]:
        assert route(run, 80, path) == Outcome("redirect", "HTTPS"), path


@pytest.mark.parametrize("label", list(CASES))
def test_servers_keep_idle_connections_longer_than_the_load_balancer(label: str, run: ProgramRun, port: int) -> None:
    """A backend keep-alive shorter than the ALB idle timeout makes the ALB reuse sockets the server closed
    (502s): vLLM (VLLM_HTTP_TIMEOUT_KEEP_ALIVE) and, in a tiered stack, the router (KEEPALIVE_TIMEOUT) each
    outlast it; one such server per target group."""
    idles = {lb.inputs["idleTimeout"] for lb in run.of_type("aws:lb/loadBalancer:LoadBalancer")}
    keep_alive = []
    for task in run.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        for container in json.loads(task.inputs["containerDefinitions"]):
            env = {e["name"]: e["value"] for e in container["environment"]}
            keep_alive += [int(env[v]) for v in ("VLLM_HTTP_TIMEOUT_KEEP_ALIVE", ROUTER_KEEP_ALIVE_ENV) if v in env]
    assert idles == {600}, label
    targets = len(run.of_type("aws:lb/targetGroup:TargetGroup"))
    assert keep_alive == [600 + KEEP_ALIVE_MARGIN_SECONDS] * targets, label
