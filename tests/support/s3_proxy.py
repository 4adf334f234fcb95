"""A fault-injecting HTTP proxy in front of a real S3 server, for tests only; it never fakes S3.

Requests are forwarded verbatim (method, path, query, headers, body) to the real server. The
client signs with SigV4 for the proxy's own host (boto3 is pointed at the proxy), and the proxy
keeps the Host header as the client sent it, so the server checks the very signature the client
made. Rules, matched by method and key prefix, can then:

- answer an S3 error (503 SlowDown, 500 InternalError…) instead of forwarding, N times;
- forward, let the server store the object, and drop the connection before the client sees the
  answer (the client retries a write that already succeeded);
- flip one byte of the request body on its way to the server (damage in transit);
- delay a request by some seconds, then forward it (a slow link: a window to kill a worker in);
- hold a request some seconds, then drop it unforwarded (the client died before it was sent).

Every request is counted by method and key, so tests can say how often a client retried.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import unquote, urlsplit

Action = Literal["error", "drop_after_store", "flip_byte", "delay", "hold"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    # botocore never signs Expect; the proxy answers 100-continue itself.
    "expect",
}
_REASONS = {
    503: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
}


@dataclass
class Rule:
    """One fault: for requests with `method` whose key starts with `prefix`, `times` times."""

    method: str
    prefix: str
    action: Action
    times: int = 1
    status: int = 503
    # Only requests whose query string contains this (e.g. "partNumber", "uploadId=").
    query: str = ""
    seconds: float = 0.0  # for "delay" and "hold"
    fired: int = 0

    def matches(self, method: str, key: str, query: str) -> bool:
        return (
            self.fired < self.times
            and method == self.method
            and key.startswith(self.prefix)
            and self.query in query
        )


@dataclass(frozen=True)
class Seen:
    method: str
    bucket: str
    key: str
    query: str
    status: int | None  # None when the proxy dropped the connection before answering


@dataclass
class FaultProxy:
    """The proxy's state: where it listens, where it forwards, its rules and what it saw."""

    upstream: str
    host: str = "127.0.0.1"
    port: int = 0
    rules: list[Rule] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add(self, rule: Rule) -> Rule:
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()
            self.seen.clear()

    def count(self, method: str, prefix: str = "", *, query: str = "") -> int:
        """Requests seen with this method whose key starts with `prefix`."""
        with self.lock:
            return sum(
                1
                for s in self.seen
                if s.method == method and s.key.startswith(prefix) and query in s.query
            )

    def _take(self, method: str, key: str, query: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, key, query):
                    rule.fired += 1
                    return rule
        return None

    def _record(self, seen: Seen) -> None:
        with self.lock:
            self.seen.append(seen)


def _split(path: str) -> tuple[str, str, str]:
    """(bucket, key, query) of a path-style S3 request path."""
    parts = urlsplit(path)
    bucket, _, key = parts.path.lstrip("/").partition("/")
    return unquote(bucket), unquote(key), parts.query


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    upstream = urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                raise RuntimeError("chunked request bodies are not supported by the test proxy")
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _error(self, status: int, bucket: str, key: str) -> None:
            code, message = _REASONS.get(status, ("InternalError", "Injected fault."))
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
                f"{code}</Code><Message>{message}</Message><Resource>/{bucket}/{key}</Resource>"
                "<RequestId>fault-proxy</RequestId></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _drop(self) -> None:
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _forward(self) -> None:
            bucket, key, query = _split(self.path)
            body = self._body()
            rule = proxy._take(self.command, key, query)
            if rule is not None and rule.action == "error":
                proxy._record(Seen(self.command, bucket, key, query, rule.status))
                self._error(rule.status, bucket, key)
                return
            if rule is not None and rule.action in ("delay", "hold"):
                time.sleep(rule.seconds)
                if rule.action == "hold":
                    proxy._record(Seen(self.command, bucket, key, query, None))
                    self._drop()
                    return
            if rule is not None and rule.action == "flip_byte" and body:
                damaged = bytearray(body)
                damaged[len(damaged) // 2] ^= 0xFF
                body = bytes(damaged)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection = http.client.HTTPConnection(
                upstream.hostname or "127.0.0.1", upstream.port or 80, timeout=120
            )
            try:
                # skip_host/skip_accept_encoding: the Host header the client signed goes as is.
                connection.putrequest(
                    self.command, self.path, skip_host=True, skip_accept_encoding=True
                )
                for name, value in headers.items():
                    connection.putheader(name, value)
                if "content-length" not in {k.lower() for k in headers}:
                    connection.putheader("Content-Length", str(len(body)))
                connection.endheaders(body)
                response = connection.getresponse()
                data = response.read()
                status, answer = response.status, response.getheaders()
            finally:
                connection.close()
            if rule is not None and rule.action == "drop_after_store":
                proxy._record(Seen(self.command, bucket, key, query, None))
                self._drop()
                return
            proxy._record(Seen(self.command, bucket, key, query, status))
            self.send_response(status)
            for name, value in answer:
                if name.lower() in _HOP_BY_HOP or name.lower() == "content-length":
                    continue
                self.send_header(name, value)
            if self.command == "HEAD":
                length = dict((k.lower(), v) for k, v in answer).get("content-length", "0")
                self.send_header("Content-Length", length)
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _serve(self) -> None:
            try:
                self._forward()
            except (BrokenPipeError, ConnectionResetError):
                # The client went away (a worker killed on purpose): nothing left to answer.
                self.close_connection = True

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

    return Handler


@contextmanager
def running_proxy(upstream: str) -> Iterator[FaultProxy]:
    """Start a proxy on 127.0.0.1 (a free port) in front of `upstream`; stopped on exit."""
    proxy = FaultProxy(upstream=upstream)
    server = ThreadingHTTPServer((proxy.host, 0), _handler(proxy))
    server.daemon_threads = True
    proxy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="s3-fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
