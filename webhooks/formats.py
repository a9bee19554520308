"""Each platform's message format, signature and success check (pure functions).

References (the platforms' robot documentation):

- **WeCom** 企业微信群机器人: ``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``,
  ``{"msgtype": "markdown", "markdown": {"content": …}}`` (content at most 4096 bytes); the
  key in the URL is the only credential, there is no signature. Answers
  ``{"errcode": 0, "errmsg": "ok"}``.
- **DingTalk** 钉钉自定义机器人: ``POST https://oapi.dingtalk.com/robot/send?access_token=…``
  with, when the robot has a 加签 secret, ``&timestamp=<ms>&sign=<urlencode(base64(
  HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")))>`` (timestamp within an hour);
  ``{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {…}}``. Answers
  ``{"errcode": 0, "errmsg": "ok"}``.
- **Feishu** 飞书自定义机器人: ``POST https://open.feishu.cn/open-apis/bot/v2/hook/…``; with a
  signature secret the body carries ``"timestamp"`` (seconds, a string) and ``"sign" =
  base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b""))``;
  ``{"msg_type": "post", "content": {"post": {"zh_cn": {"title", "content": [[…]]}}}}``.
  Answers ``{"code": 0, "msg": "success"}`` (older robots: ``"StatusCode": 0``).
- **Generic**: ``{"id", "event", "at", "lead", "text"}`` with
  ``X-LeadLoop-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` and ``Idempotency-Key``.

The three robots answer HTTP 200 even when they refuse a message; the error code in the
body decides (``outcome``).

User-supplied text can never break a message: every text goes through ``clean_text`` (no
control or invisible characters); in the markdown formats (WeCom, DingTalk) the characters
that make markup (``* _ ` [ ] < > # | ~ \\``) become their full-width look-alikes, which no
renderer reads as markup, and a line cannot start a list, quote or heading; the lead line
is one line whatever the name holds; JSON encoding takes care of quotes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from pipeline.text import clean_text
from webhooks.choices import WebhookKind

#: WeCom's markdown content limit (bytes); DingTalk and Feishu allow ~20 KB, we keep to it too.
MAX_MARKDOWN_BYTES = 4000
MAX_TEXT_CHARS = 4000

_MARKUP = str.maketrans(
    {
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "#": "＃",
        "|": "｜",
        "~": "～",
        "\\": "＼",
    }
)
#: A line that would start a list, a setext heading or a rule: "- x", "+ x", "1. x", "===".
_BLOCK_START = re.compile(r"^(\s*)([-+=]|\d+[.)])")
_BLOCK_LOOKALIKE = {"-": "－", "+": "＋", "=": "＝"}


@dataclass(frozen=True)
class LeadInfo:
    id: int
    name: str
    stage: str
    grade: str
    owner: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "stage": self.stage,
            "grade": self.grade,
            "owner": self.owner,
        }


@dataclass(frozen=True)
class Message:
    """What is said, in the hook's language; ``lead_line`` and ``link_label`` are already
    worded ("Lead: 张伟 · SQL · A", "Open the lead")."""

    delivery_id: int
    event: str
    at: datetime
    language: str
    title: str
    text: str
    lead: LeadInfo | None = None
    lead_line: str = ""
    link: str = ""
    link_label: str = ""
    mentions: tuple[str, ...] = ()


def one_line(value: str) -> str:
    return " ".join(clean_text(str(value)).split())


def lines_of(value: str) -> list[str]:
    """The text's non-empty lines, each cleaned (every kind of line break is a break)."""
    text = clean_text(str(value), multiline=True)
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


def markdown_escape(line: str) -> str:
    """One line of plain text that no markdown renderer reads as markup."""
    line = line.translate(_MARKUP)
    match = _BLOCK_START.match(line)
    if match:
        marker = match.group(2)
        safe = _BLOCK_LOOKALIKE.get(marker, marker[:-1] + ("．" if marker[-1] == "." else "）"))
        line = match.group(1) + safe + line[match.end() :]
    return line


def truncate_bytes(value: str, limit: int) -> str:
    data = value.encode("utf-8")
    if len(data) <= limit:
        return value
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def _markdown_lines(message: Message) -> list[str]:
    lines = [f"**{markdown_escape(one_line(message.title))}**"]
    lines += [markdown_escape(line) for line in lines_of(message.text)]
    if message.lead_line:
        lines.append(markdown_escape(one_line(message.lead_line)))
    if message.mentions:
        lines.append(" ".join("@" + markdown_escape(one_line(name)) for name in message.mentions))
    if message.link:
        label = markdown_escape(one_line(message.link_label))
        lines.append(f"[{label}]({message.link.replace(')', '%29').replace(' ', '%20')})")
    return lines


def plain_text(message: Message) -> str:
    """The message as plain text (generic body)."""
    return "\n".join(lines_of(message.text))[:MAX_TEXT_CHARS]


def body(kind: str, message: Message) -> dict[str, Any]:
    """The JSON body for ``kind``, without the signature (``signed_request`` adds it)."""
    if kind == WebhookKind.GENERIC:
        return {
            "id": message.delivery_id,
            "event": message.event,
            "at": message.at.isoformat(),
            "lead": message.lead.as_json() if message.lead else None,
            "text": plain_text(message),
        }
    if kind == WebhookKind.WECOM:
        content = truncate_bytes("\n".join(_markdown_lines(message)), MAX_MARKDOWN_BYTES)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    if kind == WebhookKind.DINGTALK:
        # DingTalk's markdown needs a blank line between paragraphs to break the line.
        text = truncate_bytes("\n\n".join(_markdown_lines(message)), MAX_MARKDOWN_BYTES)
        return {
            "msgtype": "markdown",
            "markdown": {"title": one_line(message.title)[:100], "text": text},
            "at": {"atMobiles": [], "atUserIds": [], "isAtAll": False},
        }
    if kind == WebhookKind.FEISHU:
        paragraphs: list[list[dict[str, str]]] = [
            [{"tag": "text", "text": line[:MAX_TEXT_CHARS]}] for line in lines_of(message.text)
        ]
        if message.lead_line:
            paragraphs.append([{"tag": "text", "text": one_line(message.lead_line)}])
        if message.mentions:
            names = " ".join("@" + one_line(name) for name in message.mentions)
            paragraphs.append([{"tag": "text", "text": names}])
        if message.link:
            label = one_line(message.link_label)
            paragraphs.append([{"tag": "a", "text": label, "href": message.link}])
        locale = "zh_cn" if message.language.startswith("zh") else "en_us"
        post = {locale: {"title": one_line(message.title), "content": paragraphs}}
        return {"msg_type": "post", "content": {"post": post}}
    raise ValueError(f"unknown webhook kind {kind!r}")


def encode(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk's ``sign`` query value (already URL-encoded)."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu's ``sign``: the HMAC of an empty message keyed by ``timestamp\\nsecret``."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def generic_signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def signed_request(
    *,
    kind: str,
    url: str,
    payload: dict[str, Any],
    secret: str,
    idempotency_key: str,
    event: str,
    delivery_id: int,
    now: datetime,
) -> Request:
    """The request for one attempt: the stored payload, signed at ``now``."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "LeadLoop-Webhook/1",
    }
    if kind == WebhookKind.DINGTALK and secret:
        timestamp = str(int(now.timestamp() * 1000))
        sign = dingtalk_sign(secret, timestamp)
        url += ("&" if "?" in url else "?") + f"timestamp={timestamp}&sign={sign}"
    if kind == WebhookKind.FEISHU and secret:
        timestamp = str(int(now.timestamp()))
        payload = {"timestamp": timestamp, "sign": feishu_sign(secret, timestamp), **payload}
    raw = encode(payload)
    if kind == WebhookKind.GENERIC:
        headers["Idempotency-Key"] = idempotency_key
        headers["X-LeadLoop-Event"] = event
        headers["X-LeadLoop-Delivery"] = str(delivery_id)
        if secret:
            headers["X-LeadLoop-Signature"] = generic_signature(secret, raw)
    return Request(url=url, body=raw, headers=headers)


def _snippet(raw: bytes) -> str:
    return one_line(raw[:300].decode("utf-8", errors="replace"))


def outcome(kind: str, status: int, raw: bytes) -> str:
    """ "" if the platform took the message, else why not (for the log)."""
    if kind == WebhookKind.GENERIC:
        return "" if 200 <= status < 300 else f"HTTP {status}: {_snippet(raw)}".rstrip(": ")
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        answer = None
    if not isinstance(answer, dict):
        return f"HTTP {status}: {_snippet(raw)}".rstrip(": ")
    if kind == WebhookKind.FEISHU:
        code = answer.get("code", answer.get("StatusCode"))
        message = answer.get("msg", answer.get("StatusMessage", ""))
    else:
        code, message = answer.get("errcode"), answer.get("errmsg", "")
    if status == 200 and code == 0:
        return ""
    return f"HTTP {status}, code {code}: {one_line(str(message))[:300]}"
