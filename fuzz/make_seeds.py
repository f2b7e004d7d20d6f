#!/usr/bin/env python3
"""Write the committed seed corpora (fuzz/corpus/<target>/seed-*).

Run from anywhere: `python3 fuzz/make_seeds.py`. The handshakes follow what
each client sends (header set and order as observed from Chrome 120,
Firefox 121, curl 8.11 and Python websockets 13); the keys are examples.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def crlf(lines, trailing=b""):
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + trailing


# RFC 6455 §5.7 example frames.
RFC_FRAMES = {
    "rfc-unmasked-hello": bytes([0x81, 0x05]) + b"Hello",
    "rfc-masked-hello": bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
    "rfc-fragmented-hello": bytes([0x01, 0x03]) + b"Hel" + bytes([0x80, 0x02]) + b"lo",
    "rfc-ping": bytes([0x89, 0x05]) + b"Hello",
    "rfc-masked-pong": bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
    "rfc-256-binary": bytes([0x82, 0x7E, 0x01, 0x00]) + bytes(256),
    "rfc-64k-binary-header": bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
    "masked-close-1000": bytes([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2]),
    "close-1001-bye": bytes([0x88, 0x05, 0x03, 0xE9]) + b"bye",
}
for name, data in RFC_FRAMES.items():
    write("frame_header", name, data)
    write("connection_server", name, data)
    write("connection_client", name, data)

REQUESTS = {
    "rfc-1-3": crlf([
        "GET /chat HTTP/1.1",
        "Host: server.example.com",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Origin: http://example.com",
        "Sec-WebSocket-Protocol: chat, superchat",
        "Sec-WebSocket-Version: 13",
    ]),
    "chrome": crlf([
        "GET /chat HTTP/1.1",
        "Host: localhost:8080",
        "Connection: Upgrade",
        "Pragma: no-cache",
        "Cache-Control: no-cache",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Upgrade: websocket",
        "Origin: http://localhost:8080",
        "Sec-WebSocket-Version: 13",
        "Accept-Encoding: gzip, deflate, br",
        "Accept-Language: en-US,en;q=0.9",
        "Sec-WebSocket-Key: 3Uy0gVXyMX5v6Vh1sbkj+A==",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
    ]),
    "firefox": crlf([
        "GET /chat?room=1 HTTP/1.1",
        "Host: localhost:8080",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "Accept: */*",
        "Accept-Language: en-US,en;q=0.5",
        "Accept-Encoding: gzip, deflate, br",
        "Sec-WebSocket-Version: 13",
        "Origin: http://localhost:8080",
        "Sec-WebSocket-Extensions: permessage-deflate",
        "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==",
        "Connection: keep-alive, Upgrade",
        "Sec-Fetch-Dest: empty",
        "Sec-Fetch-Mode: websocket",
        "Sec-Fetch-Site: same-origin",
        "Pragma: no-cache",
        "Cache-Control: no-cache",
        "Upgrade: websocket",
    ]),
    "curl": crlf([
        "GET /chat HTTP/1.1",
        "Host: localhost:8080",
        "User-Agent: curl/8.11.0",
        "Accept: */*",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: 8jbQmUkAJqsXZB8mMi/8Zw==",
        "Connection: Upgrade",
    ]),
    "python-websockets": crlf([
        "GET / HTTP/1.1",
        "Host: localhost:8765",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: tS5nEt6kWPrpoOVhGLCmuA==",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        "User-Agent: Python/3.12 websockets/13.1",
    ]),
    "with-trailing-frame": crlf([
        "GET /chat HTTP/1.1",
        "Host: a",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ], RFC_FRAMES["rfc-masked-hello"]),
    "plain-get": crlf(["GET /index.html HTTP/1.1", "Host: example.com", "Accept: text/html"]),
    "bare-lf": b"GET /chat HTTP/1.1\nHost: a\nUpgrade: websocket\nConnection: upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n",
}
for name, data in REQUESTS.items():
    # First byte: limits (0 = defaults, odd = small); second: how to cut.
    write("handshake_request", name, b"\x00\x01" + data)
write("handshake_request", "chrome-small-limits", b"\xff\x05" + REQUESTS["chrome"])

RESPONSES = {
    "rfc-1-3": crlf([
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: {ACCEPT}",
        "Sec-WebSocket-Protocol: chat",
    ]),
    "node-ws": crlf([
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: {ACCEPT}",
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15",
    ]),
    "python-websockets": crlf([
        "HTTP/1.1 101 Switching Protocols",
        "Date: Mon, 23 Nov 2026 09:00:00 GMT",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: {ACCEPT}",
        "Server: Python/3.12 websockets/13.1",
    ]),
    "nginx-proxied": crlf([
        "HTTP/1.1 101 Switching Protocols",
        "Server: nginx/1.25.3",
        "Date: Mon, 23 Nov 2026 09:00:00 GMT",
        "Connection: upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Accept: {ACCEPT}",
    ], RFC_FRAMES["rfc-unmasked-hello"]),
    "wrong-accept": crlf([
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    ]),
    "401-with-body": crlf([
        "HTTP/1.1 401 Unauthorized",
        "Content-Type: text/plain",
        "Content-Length: 12",
        "WWW-Authenticate: Bearer",
    ], b"unauthorized"),
    "404-until-eof": crlf(["HTTP/1.0 404 Not Found", "Content-Type: text/html"], b"<h1>no</h1>"),
    "chunked-503": crlf(["HTTP/1.1 503 Service Unavailable", "Transfer-Encoding: chunked"], b"5\r\nbusy!\r\n0\r\n\r\n"),
}
for name, data in RESPONSES.items():
    write("handshake_response", name, b"\x00\x01" + data)
write("handshake_response", "rfc-1-3-small-limits", b"\xfd\x09" + RESPONSES["rfc-1-3"])

# UTF-8: cut lengths are read from the end by `arbitrary`; plain texts work as seeds.
for name, text in {
    "ascii": b"Hello, world",
    "multibyte": "κόσμε – 世界 🦀".encode(),
    "overlong": b"\xc0\xaf ok",
    "surrogate": b"\xed\xa0\x80",
    "truncated": "🦀".encode()[:3],
    "max-codepoint": b"\xf4\x8f\xbf\xbf\xf4\x90\x80\x80",
}.items():
    write("utf8_stream", name, text)

for name, data in {
    "short": bytes(range(7)),
    "long": bytes(range(256)) * 2,
    "offset-max": b"\xff" * 16 + b"abc",
}.items():
    write("mask", name, data)

for name, data in {
    "text-and-binary": b"\x00hello\x01\x02\x03" * 8,
    "pieces": bytes(range(64)),
}.items():
    write("roundtrip", name, data)
