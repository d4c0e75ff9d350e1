"""A loopback stand-in for the deployed endpoint: vLLM's OpenAI-compatible API behind the ALB.

It answers as the stack does: `/v1/models`, `/v1/chat/completions` and `/v1/completions` (streamed as
server-sent events when `stream` is true), 401 without the right `Authorization: Bearer <key>` (vLLM's
`--api-key`), the ALB's fixed 404 for any path outside `/v1/*`, and 503 while no replica is registered
(scale from zero). Each `Faults` flag breaks one of those promises so the tests can show that the smoke
test and the load gate report it. Standard library only; binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from components.shared.endpoint import NOT_FOUND_ACTION

ALB_NOT_FOUND = NOT_FOUND_ACTION["fixed_response"]["message_body"]

# One output "token": a single letter, so a byte-level tokenizer without merges counts it as one token.
TOKEN_TEXT = "x"


@dataclass(frozen=True)
class Faults:
    accept_any_key: bool = False  # serves requests with a wrong or missing key
    model_missing: bool = False  # /v1/models lists another model
    no_stream: bool = False  # ignores `stream: true` and answers with one JSON body
    forward_all_paths: bool = False  # answers 200 outside /v1/* (the listener rule forwards everything)
    empty_completion: bool = False  # completions carry no tokens
    unavailable_first: int = 0  # the first N requests get the ALB's 503 (no healthy target yet)
    first_token_delay: float = 0.0  # seconds before the first token (slow prefill)
    token_delay: float = 0.0  # seconds between tokens (slow decode)


class FakeEndpoint:
    """`with FakeEndpoint(...) as url:` serves on an ephemeral loopback port and stops on exit."""

    def __init__(self, api_key: str = "test-key", model: str = "deepseek-r1-distill-qwen-7b", faults=Faults()):
        self.api_key, self.model, self.faults = api_key, model, faults
        self.requests = 0
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"endpoint": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        # serve_forever checks for shutdown() every poll_interval (default 0.5 s): each `with` block would end
        # up to 0.5 s late.
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> str:
        self._thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self) -> int:
        with self._lock:
            self.requests += 1
            return self.requests


class _Handler(BaseHTTPRequestHandler):
    endpoint: FakeEndpoint
    protocol_version = "HTTP/1.1"  # keep-alive, as the load generator's connection pool expects

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._route(None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._json(400, {"error": {"message": "invalid JSON", "type": "BadRequestError"}})
            return
        self._route(body)

    def _route(self, body: dict | None) -> None:
        ep, faults = self.endpoint, self.endpoint.faults
        path = self.path.split("?", 1)[0]
        if ep.count() <= faults.unavailable_first:
            self._text(503, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
            return
        if not (path == "/v1" or path.startswith("/v1/")) and not faults.forward_all_paths:
            # The ALB's fixed response for paths its /v1/* rule does not forward.
            self._send(404, ALB_NOT_FOUND.encode(), "application/json")
            return
        authorized = faults.accept_any_key or self.headers.get("Authorization") == f"Bearer {ep.api_key}"
        if path.startswith("/v1") and not authorized:
            self._json(401, {"error": "Unauthorized"})  # vLLM's api-key middleware guards /v1 paths only
            return
        if path == "/v1/models" and body is None:
            name = "some-other-model" if faults.model_missing else ep.model
            self._json(200, {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "vllm"}]})
        elif path in ("/v1/chat/completions", "/v1/completions") and body is not None:
            self._complete(path, body)
        elif path.startswith("/v1/"):
            self._json(404, {"error": {"message": "Not Found", "type": "NotFoundError", "code": 404}})
        else:
            self._json(200, {"status": "ok"})

    def _complete(self, path: str, body: dict) -> None:
        ep, faults = self.endpoint, self.endpoint.faults
        if body.get("model") != ep.model:
            self._json(404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}})
            return
        n = int(body.get("max_completion_tokens") or body.get("max_tokens") or 16)
        n = 0 if faults.empty_completion else max(1, n)
        chat = path.endswith("chat/completions")
        if body.get("stream") and not faults.no_stream:
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(chat, n, _prompt_tokens(body) if usage else None)
            return
        time.sleep(faults.first_token_delay + faults.token_delay * max(0, n - 1))
        text = TOKEN_TEXT * n
        choice = {"index": 0, "finish_reason": "length"}
        choice |= {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
        p = _prompt_tokens(body)
        usage = {"prompt_tokens": p, "completion_tokens": n, "total_tokens": n + p}
        obj = "chat.completion" if chat else "text_completion"
        self._json(200, {"id": "cmpl-1", "object": obj, "model": ep.model, "choices": [choice], "usage": usage})

    def _stream(self, chat: bool, n: int, prompt_tokens: int | None) -> None:
        faults, model = self.endpoint.faults, self.endpoint.model
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        obj = "chat.completion.chunk" if chat else "text_completion"
        time.sleep(faults.first_token_delay)
        for i in range(n):
            if i:
                time.sleep(faults.token_delay)
            delta = {"delta": {"content": TOKEN_TEXT}} if chat else {"text": TOKEN_TEXT}
            choice = {"index": 0, "finish_reason": "length" if i == n - 1 else None, **delta}
            self._event({"id": "cmpl-1", "object": obj, "model": model, "choices": [choice]})
        if prompt_tokens is not None:
            counts = {"prompt_tokens": prompt_tokens, "completion_tokens": n, "total_tokens": n + prompt_tokens}
            self._event({"id": "cmpl-1", "object": obj, "model": model, "choices": [], "usage": counts})
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _event(self, data: dict) -> None:
        self._chunk(b"data: " + json.dumps(data).encode() + b"\n\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _prompt_tokens(body: dict) -> int:
    """Prompt length as the byte-level test tokenizer counts it (gate/tiny_tokenizer.py): one token a byte."""
    if "messages" in body:
        return sum(len(str(m.get("content") or "").encode()) for m in body["messages"])
    return len(str(body.get("prompt") or "").encode())


def main() -> None:
    """Serve until SIGINT/SIGTERM or --seconds (a bound, so a forgotten server stops by itself)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--api-key", default="test-key")
    ap.add_argument("--model", default="deepseek-r1-distill-qwen-7b")
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--first-token-delay", type=float, default=0.0)
    ap.add_argument("--token-delay", type=float, default=0.0)
    args = ap.parse_args()
    faults = Faults(first_token_delay=args.first_token_delay, token_delay=args.token_delay)
    with FakeEndpoint(args.api_key, args.model, faults) as url:
        print(url, flush=True)
        time.sleep(args.seconds)


if __name__ == "__main__":
    main()
