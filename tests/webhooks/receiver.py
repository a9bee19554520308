"""A local stand-in for the three chat platforms and a generic endpoint.

A threaded ``http.server`` on 127.0.0.1 that checks each request as the platform would —
the URL credential, the signature and its timestamp window, the message shape and size —
and answers the way the platform answers (HTTP 200 with ``errcode``/``code`` in the body
for the robots). It can be told to fail the next N requests of a kind with the platform's
own error answer, and records every request with its verdict.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WECOM_KEY = "wecom-key-693a"
DINGTALK_TOKEN = "ding-token-5f1c"
FEISHU_HOOK = "feishu-hook-77c2"
HOUR_MS = 3600 * 1000


@dataclass
class Received:
    kind: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes
    body: Any
    verdict: str  # "ok", "forced failure" or what the platform would refuse


@dataclass
class Receiver:
    base: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, kind: str) -> str:
        return {
            "wecom": f"{self.base}/wecom/cgi-bin/webhook/send?key={WECOM_KEY}",
            "dingtalk": f"{self.base}/dingtalk/robot/send?access_token={DINGTALK_TOKEN}",
            "feishu": f"{self.base}/feishu/open-apis/bot/v2/hook/{FEISHU_HOOK}",
            "generic": f"{self.base}/generic",
            "redirect": f"{self.base}/redirect",
        }[kind]

    def fail_next(self, kind: str, times: int) -> None:
        self.failures[kind] = times

    def of(self, kind: str) -> list[Received]:
        return [request for request in self.requests if request.kind == kind]


def _b64_hmac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def check_wecom(query, headers, raw, body, secrets) -> str:
    if query.get("key") != [WECOM_KEY]:
        return "93000 invalid webhook url"
    if body.get("msgtype") == "markdown":
        content = body.get("markdown", {}).get("content")
        if not isinstance(content, str) or not content:
            return "40008 invalid message type"
        if len(content.encode()) > 4096:
            return "40058 markdown.content exceed max length 4096"
        return "ok"
    if body.get("msgtype") == "text":
        return "ok" if isinstance(body.get("text", {}).get("content"), str) else "40008"
    return "40008 invalid message type"


def check_dingtalk(query, headers, raw, body, secrets) -> str:
    if query.get("access_token") != [DINGTALK_TOKEN]:
        return "300001 token is not exist"
    secret = secrets.get("dingtalk")
    if secret:
        timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > HOUR_MS:
            return "310000 timestamp invalid"
        expected = _b64_hmac(secret.encode(), f"{timestamp}\n{secret}".encode())
        if not hmac.compare_digest(sign, expected):
            return "310000 sign not match"
    if body.get("msgtype") != "markdown":
        return "40035 msgtype invalid"
    markdown = body.get("markdown", {})
    if not markdown.get("title") or not markdown.get("text"):
        return "40035 markdown title/text missing"
    return "ok"


def check_feishu(query, headers, raw, body, secrets) -> str:
    secret = secrets.get("feishu")
    if secret:
        timestamp, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 3600:
            return "19021 timestamp is not within one hour from current time"
        if not hmac.compare_digest(sign, _b64_hmac(f"{timestamp}\n{secret}".encode(), b"")):
            return "19021 sign match fail"
    if body.get("msg_type") != "post":
        return "9499 bad request"
    post = body.get("content", {}).get("post", {})
    if not post or not all(
        isinstance(paragraph, list) and all("tag" in element for element in paragraph)
        for locale in post.values()
        for paragraph in locale.get("content", [])
    ):
        return "9499 bad post content"
    return "ok"


def check_generic(query, headers, raw, body, secrets) -> str:
    secret = secrets.get("generic", "")
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(headers.get("x-leadloop-signature", ""), expected):
        return "bad signature"
    if not headers.get("idempotency-key"):
        return "no idempotency key"
    if set(body) != {"id", "event", "at", "lead", "text"}:
        return "bad body keys"
    return "ok"


CHECKS = {
    "wecom": check_wecom,
    "dingtalk": check_dingtalk,
    "feishu": check_feishu,
    "generic": check_generic,
}
FORCED = {
    "wecom": (200, {"errcode": 45009, "errmsg": "api freq out of limit"}),
    "dingtalk": (200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
    "feishu": (200, {"code": 11232, "msg": "frequency limited", "data": {}}),
    "generic": (503, {"error": "unavailable"}),
}


def answer_for(kind: str, verdict: str) -> tuple[int, dict[str, Any]]:
    if verdict == "ok":
        if kind == "feishu":
            return 200, {"code": 0, "msg": "success", "data": {}}
        if kind == "generic":
            return 200, {"received": True}
        return 200, {"errcode": 0, "errmsg": "ok"}
    code, _, message = verdict.partition(" ")
    if kind == "feishu":
        return 200, {"code": int(code) if code.isdigit() else 9499, "msg": message or verdict}
    if kind == "generic":
        return 401, {"error": verdict}
    return 200, {"errcode": int(code) if code.isdigit() else 40000, "errmsg": message or verdict}


def make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            kind = parts.path.strip("/").split("/")[0]
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {key.lower(): value for key, value in self.headers.items()}
            query = parse_qs(parts.query)
            if kind == "redirect":
                with receiver.lock:  # recorded before answering: the client reads it next
                    receiver.requests.append(
                        Received(kind, parts.path, query, headers, raw, None, "redirected")
                    )
                self.send_response(302)
                self.send_header("Location", receiver.url("generic"))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                body = None
            with receiver.lock:
                if body is None:
                    verdict = "40000 body is not JSON"
                elif receiver.failures.get(kind, 0) > 0:
                    receiver.failures[kind] -= 1
                    verdict = "forced failure"
                else:
                    verdict = CHECKS[kind](query, headers, raw, body, receiver.secrets)
                receiver.requests.append(
                    Received(kind, parts.path, query, headers, raw, body, verdict)
                )
            status, answer = (
                FORCED[kind] if verdict == "forced failure" else answer_for(kind, verdict)
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def start() -> tuple[Receiver, ThreadingHTTPServer, threading.Thread]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(receiver))
    server.daemon_threads = True
    receiver.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return receiver, server, thread
