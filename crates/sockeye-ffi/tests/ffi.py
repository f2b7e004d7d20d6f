"""Drive the sockeye C ABI from Python through ctypes.

A client handle and a server handle talk to each other in memory: the
opening handshake, text and binary both ways, ping/pong, a close with a code
and a reason, and the null and invalid arguments the ABI must refuse.

Run from anywhere after `cargo build --release -p sockeye-ffi`:

    python3 crates/sockeye-ffi/tests/ffi.py

The library is found at $SOCKEYE_FFI_LIB, else in $CARGO_TARGET_DIR/release
(default: target/release at the workspace root). Constants are read from
include/sockeye.h, so this test also checks that the header and the library
agree.
"""

import ctypes
import os
import pathlib
import re
import sys
import unittest

CRATE = pathlib.Path(__file__).resolve().parent.parent
WORKSPACE = CRATE.parent.parent
HEADER = CRATE / "include" / "sockeye.h"


def library_path():
    if "SOCKEYE_FFI_LIB" in os.environ:
        return pathlib.Path(os.environ["SOCKEYE_FFI_LIB"])
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", WORKSPACE / "target"))
    name = {"darwin": "libsockeye_ffi.dylib", "win32": "sockeye_ffi.dll"}.get(
        sys.platform, "libsockeye_ffi.so"
    )
    return target / "release" / name


def header_constants():
    """Every `NAME = value` enum constant of the header."""
    text = HEADER.read_text(encoding="utf-8")
    return {
        name: int(value)
        for name, value in re.findall(r"^\s*(SOCKEYE_[A-Z0-9_]+) = (-?\d+),?$", text, re.M)
    }


C = header_constants()
NO_TIMEOUT = 2**64 - 1


class Event(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_uint32),
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("len", ctypes.c_size_t),
        ("close_code", ctypes.c_uint16),
        ("is_text", ctypes.c_bool),
        ("is_first", ctypes.c_bool),
        ("is_last", ctypes.c_bool),
        ("error", ctypes.c_uint32),
    ]


class Header(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_char_p)]


def load():
    lib = ctypes.CDLL(str(library_path()))
    conn = ctypes.c_void_p
    size = ctypes.c_size_t
    u8p = ctypes.c_char_p
    signatures = {
        "sockeye_config_new": [ctypes.POINTER(ctypes.c_void_p)],
        "sockeye_config_set": [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64],
        "sockeye_config_free": [ctypes.c_void_p],
        "sockeye_conn_new_upgraded": [
            ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint64, ctypes.POINTER(ctypes.c_void_p),
        ],
        "sockeye_conn_new_client": [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_char_p), size, ctypes.POINTER(Header), size,
            ctypes.c_uint64, ctypes.POINTER(ctypes.c_void_p),
        ],
        "sockeye_conn_new_server": [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), size,
            ctypes.c_uint64, ctypes.POINTER(ctypes.c_void_p),
        ],
        "sockeye_conn_free": [conn],
        "sockeye_conn_receive": [conn, u8p, size],
        "sockeye_conn_receive_eof": [conn],
        "sockeye_conn_handle_timeout": [conn, ctypes.c_uint64],
        "sockeye_conn_next_timeout_ms": [conn, ctypes.POINTER(ctypes.c_uint64)],
        "sockeye_conn_poll_event": [conn, ctypes.POINTER(Event)],
        "sockeye_conn_transmit": [
            conn, ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)), ctypes.POINTER(size),
        ],
        "sockeye_conn_consume": [conn, size],
        "sockeye_conn_send_text": [conn, u8p, size],
        "sockeye_conn_send_binary": [conn, u8p, size],
        "sockeye_conn_send_fragment": [conn, ctypes.c_bool, u8p, size, ctypes.c_bool],
        "sockeye_conn_ping": [conn, u8p, size],
        "sockeye_conn_pong": [conn, u8p, size],
        "sockeye_conn_close": [conn, ctypes.c_uint64, ctypes.c_uint16, u8p, size],
        "sockeye_conn_state": [conn, ctypes.POINTER(ctypes.c_uint32)],
        "sockeye_conn_buffered_amount": [conn, ctypes.POINTER(size)],
        "sockeye_status_describe": [ctypes.c_int32, ctypes.POINTER(ctypes.c_char_p)],
    }
    for name, argtypes in signatures.items():
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = ctypes.c_int32
    return lib


LIB = load()
OK = C["SOCKEYE_STATUS_OK"]


def check(status):
    if status != OK:
        text = ctypes.c_char_p()
        LIB.sockeye_status_describe(status, ctypes.byref(text))
        raise AssertionError(f"status {status}: {text.value!r}")


class Handle:
    """A `sockeye_conn *` with Python conveniences; freed by `free()`."""

    def __init__(self, pointer):
        self.ptr = pointer

    @classmethod
    def upgraded(cls, role, config=None):
        out = ctypes.c_void_p()
        check(LIB.sockeye_conn_new_upgraded(role, config, 0, ctypes.byref(out)))
        return cls(out)

    @classmethod
    def client(cls, host, path, protocols=(), headers=(), now=0):
        protocol_array = (ctypes.c_char_p * max(len(protocols), 1))(*[p.encode() for p in protocols])
        header_array = (Header * max(len(headers), 1))(
            *[Header(name.encode(), value.encode()) for name, value in headers]
        )
        out = ctypes.c_void_p()
        check(LIB.sockeye_conn_new_client(
            None, host.encode(), path.encode(), protocol_array, len(protocols),
            header_array, len(headers), now, ctypes.byref(out),
        ))
        return cls(out)

    @classmethod
    def server(cls, protocols=(), now=0):
        protocol_array = (ctypes.c_char_p * max(len(protocols), 1))(*[p.encode() for p in protocols])
        out = ctypes.c_void_p()
        check(LIB.sockeye_conn_new_server(None, protocol_array, len(protocols), now, ctypes.byref(out)))
        return cls(out)

    def free(self):
        check(LIB.sockeye_conn_free(self.ptr))
        self.ptr = None

    def state(self):
        value = ctypes.c_uint32()
        check(LIB.sockeye_conn_state(self.ptr, ctypes.byref(value)))
        return value.value

    def buffered(self):
        value = ctypes.c_size_t()
        check(LIB.sockeye_conn_buffered_amount(self.ptr, ctypes.byref(value)))
        return value.value

    def take_output(self):
        """Every queued byte, consumed."""
        out = bytearray()
        while True:
            data = ctypes.POINTER(ctypes.c_uint8)()
            length = ctypes.c_size_t()
            check(LIB.sockeye_conn_transmit(self.ptr, ctypes.byref(data), ctypes.byref(length)))
            if length.value == 0:
                return bytes(out)
            out += ctypes.string_at(data, length.value)
            check(LIB.sockeye_conn_consume(self.ptr, length.value))

    def feed(self, data):
        check(LIB.sockeye_conn_receive(self.ptr, data, len(data)))

    def events(self):
        """Every pending event as (kind, payload, close_code, error)."""
        out = []
        event = Event()
        while True:
            status = LIB.sockeye_conn_poll_event(self.ptr, ctypes.byref(event))
            if status == C["SOCKEYE_STATUS_NO_EVENT"]:
                return out
            check(status)
            payload = ctypes.string_at(event.data, event.len)
            out.append((event.kind, payload, event.close_code, event.error))


def shuttle(sender, receiver):
    receiver.feed(sender.take_output())


K_OPEN = C["SOCKEYE_EVENT_KIND_OPEN"]
K_TEXT = C["SOCKEYE_EVENT_KIND_TEXT"]
K_BINARY = C["SOCKEYE_EVENT_KIND_BINARY"]
K_PING = C["SOCKEYE_EVENT_KIND_PING"]
K_PONG = C["SOCKEYE_EVENT_KIND_PONG"]
K_CLOSE = C["SOCKEYE_EVENT_KIND_CLOSE"]
K_ERROR = C["SOCKEYE_EVENT_KIND_ERROR"]
NONE = C["SOCKEYE_ERROR_NONE"]


class Exchange:
    """The same conversation, whichever way the pair was opened."""

    def exchange(self, client, server):
        self.assertEqual(client.state(), C["SOCKEYE_STATE_OPEN"])
        self.assertEqual(server.state(), C["SOCKEYE_STATE_OPEN"])

        text = "grüße ✓".encode()
        check(LIB.sockeye_conn_send_text(client.ptr, text, len(text)))
        check(LIB.sockeye_conn_send_binary(client.ptr, b"\x00\x01\xff", 3))
        check(LIB.sockeye_conn_ping(client.ptr, b"are you there", 13))
        shuttle(client, server)
        self.assertEqual(server.events(), [
            (K_TEXT, text, 0, NONE),
            (K_BINARY, b"\x00\x01\xff", 0, NONE),
            (K_PING, b"are you there", 0, NONE),
        ])

        big = bytes(range(256)) * 300
        check(LIB.sockeye_conn_send_binary(server.ptr, big, len(big)))
        check(LIB.sockeye_conn_send_text(server.ptr, b"reply", 5))
        check(LIB.sockeye_conn_pong(server.ptr, b"unsolicited", 11))
        shuttle(server, client)
        self.assertEqual(client.events(), [
            (K_PONG, b"are you there", 0, NONE),
            (K_BINARY, big, 0, NONE),
            (K_TEXT, b"reply", 0, NONE),
            (K_PONG, b"unsolicited", 0, NONE),
        ])

        reason = "bye now".encode()
        check(LIB.sockeye_conn_close(client.ptr, 10, 4000, reason, len(reason)))
        self.assertEqual(client.state(), C["SOCKEYE_STATE_CLOSING"])
        shuttle(client, server)
        self.assertEqual(server.events(), [(K_CLOSE, reason, 4000, NONE)])
        self.assertEqual(server.state(), C["SOCKEYE_STATE_CLOSED"])
        shuttle(server, client)
        self.assertEqual(client.events(), [(K_CLOSE, reason, 4000, NONE)])
        self.assertEqual(client.state(), C["SOCKEYE_STATE_CLOSED"])
        self.assertEqual(
            LIB.sockeye_conn_send_text(client.ptr, b"late", 4), C["SOCKEYE_STATUS_ERR_CLOSED"]
        )


class UpgradedPair(Exchange, unittest.TestCase):
    def test_full_exchange_without_handshake(self):
        client = Handle.upgraded(C["SOCKEYE_ROLE_CLIENT"])
        server = Handle.upgraded(C["SOCKEYE_ROLE_SERVER"])
        self.exchange(client, server)
        client.free()
        server.free()


class HandshakePair(Exchange, unittest.TestCase):
    def test_handshake_then_full_exchange(self):
        client = Handle.client(
            "example.com:80", "/chat?room=1", protocols=["chat.v2", "chat.v1"],
            headers=[("Origin", "http://example.com"), ("X-Trace", "abc")],
        )
        server = Handle.server(protocols=["chat.v1"])
        self.assertEqual(client.state(), C["SOCKEYE_STATE_CONNECTING"])
        self.assertEqual(server.state(), C["SOCKEYE_STATE_CONNECTING"])
        self.assertEqual(
            LIB.sockeye_conn_send_text(client.ptr, b"early", 5), C["SOCKEYE_STATUS_ERR_NOT_OPEN"]
        )
        request = client.take_output()
        self.assertTrue(request.startswith(b"GET /chat?room=1 HTTP/1.1\r\n"), request)
        self.assertIn(b"X-Trace: abc\r\n", request)
        # Byte by byte: partial input is never an error.
        for index in range(len(request)):
            server.feed(request[index:index + 1])
            if index + 1 < len(request):
                self.assertEqual(server.events(), [])
        self.assertEqual(server.events(), [(K_OPEN, b"chat.v1", 0, NONE)])
        shuttle(server, client)
        self.assertEqual(client.events(), [(K_OPEN, b"chat.v1", 0, NONE)])
        self.exchange(client, server)
        client.free()
        server.free()

    def test_bad_request_gets_an_http_error_and_an_error_event(self):
        server = Handle.server()
        server.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        events = server.events()
        self.assertEqual(len(events), 1)
        kind, description, code, error = events[0]
        self.assertEqual((kind, code, error), (K_ERROR, 1006, C["SOCKEYE_ERROR_HANDSHAKE"]))
        self.assertTrue(description)
        self.assertEqual(server.state(), C["SOCKEYE_STATE_CLOSED"])
        self.assertTrue(server.take_output().startswith(b"HTTP/1.1 426"))
        server.free()

    def test_handshake_timeout(self):
        server = Handle.server(now=1000)
        deadline = ctypes.c_uint64()
        check(LIB.sockeye_conn_next_timeout_ms(server.ptr, ctypes.byref(deadline)))
        self.assertEqual(deadline.value, 11000)
        check(LIB.sockeye_conn_handle_timeout(server.ptr, deadline.value))
        [(kind, _, _, error)] = server.events()
        self.assertEqual((kind, error), (K_ERROR, C["SOCKEYE_ERROR_HANDSHAKE"]))
        server.free()

    def test_client_rejects_null_host(self):
        out = ctypes.c_void_p()
        status = LIB.sockeye_conn_new_client(None, None, b"/", None, 0, None, 0, 0, ctypes.byref(out))
        self.assertEqual(status, C["SOCKEYE_STATUS_ERR_NULL"])
        status = LIB.sockeye_conn_new_client(None, b"h", b"/", None, 1, None, 0, 0, ctypes.byref(out))
        self.assertEqual(status, C["SOCKEYE_STATUS_ERR_NULL"])
        status = LIB.sockeye_conn_new_client(None, b"h\xff", b"/", None, 0, None, 0, 0, ctypes.byref(out))
        self.assertEqual(status, C["SOCKEYE_STATUS_ERR_INVALID_UTF8"])
        self.assertIsNone(out.value)


class InvalidArguments(unittest.TestCase):
    def setUp(self):
        self.conn = Handle.upgraded(C["SOCKEYE_ROLE_SERVER"])

    def tearDown(self):
        self.conn.free()

    def test_null_handle_is_refused_everywhere(self):
        null = C["SOCKEYE_STATUS_ERR_NULL"]
        self.assertEqual(LIB.sockeye_conn_receive(None, b"x", 1), null)
        self.assertEqual(LIB.sockeye_conn_send_text(None, b"x", 1), null)
        self.assertEqual(LIB.sockeye_conn_close(None, 0, 1000, None, 0), null)
        self.assertEqual(LIB.sockeye_conn_consume(None, 0), null)
        self.assertEqual(LIB.sockeye_conn_poll_event(None, ctypes.byref(Event())), null)
        self.assertEqual(LIB.sockeye_conn_free(None), OK)

    def test_null_pointers_with_lengths_and_null_outputs_are_refused(self):
        null = C["SOCKEYE_STATUS_ERR_NULL"]
        self.assertEqual(LIB.sockeye_conn_receive(self.conn.ptr, None, 4), null)
        self.assertEqual(LIB.sockeye_conn_send_binary(self.conn.ptr, None, 4), null)
        self.assertEqual(LIB.sockeye_conn_poll_event(self.conn.ptr, None), null)
        self.assertEqual(LIB.sockeye_conn_state(self.conn.ptr, None), null)
        self.assertEqual(LIB.sockeye_conn_new_upgraded(2, None, 0, None), null)
        # A null pointer with length 0 is an empty buffer.
        self.assertEqual(LIB.sockeye_conn_send_binary(self.conn.ptr, None, 0), OK)

    def test_invalid_values_are_refused_and_change_nothing(self):
        c = self.conn.ptr
        self.assertEqual(LIB.sockeye_conn_send_text(c, b"\xc3", 1), C["SOCKEYE_STATUS_ERR_INVALID_UTF8"])
        self.assertEqual(LIB.sockeye_conn_close(c, 0, 1005, None, 0), C["SOCKEYE_STATUS_ERR_INVALID_CLOSE_CODE"])
        self.assertEqual(LIB.sockeye_conn_close(c, 0, 1000, b"x" * 124, 124), C["SOCKEYE_STATUS_ERR_TOO_LONG"])
        self.assertEqual(LIB.sockeye_conn_ping(c, b"x" * 126, 126), C["SOCKEYE_STATUS_ERR_TOO_LONG"])
        self.assertEqual(LIB.sockeye_conn_consume(c, 1), C["SOCKEYE_STATUS_ERR_OUT_OF_RANGE"])
        out = ctypes.c_void_p()
        self.assertEqual(
            LIB.sockeye_conn_new_upgraded(9, None, 0, ctypes.byref(out)),
            C["SOCKEYE_STATUS_ERR_INVALID_ARGUMENT"],
        )
        self.assertEqual(self.conn.state(), C["SOCKEYE_STATE_OPEN"])
        self.assertEqual(self.conn.buffered(), 0)

    def test_config_options_are_checked(self):
        config = ctypes.c_void_p()
        check(LIB.sockeye_config_new(ctypes.byref(config)))
        invalid = C["SOCKEYE_STATUS_ERR_INVALID_ARGUMENT"]
        self.assertEqual(LIB.sockeye_config_set(config, 4242, 1), invalid)
        self.assertEqual(LIB.sockeye_config_set(config, C["SOCKEYE_OPTION_AUTO_PONG"], 7), invalid)
        check(LIB.sockeye_config_set(config, C["SOCKEYE_OPTION_MAX_MESSAGE_SIZE"], 3))
        server = Handle.upgraded(C["SOCKEYE_ROLE_SERVER"], config)
        check(LIB.sockeye_config_free(config))
        client = Handle.upgraded(C["SOCKEYE_ROLE_CLIENT"])
        check(LIB.sockeye_conn_send_binary(client.ptr, b"four", 4))
        shuttle(client, server)
        [(kind, _, code, error)] = server.events()
        self.assertEqual((kind, code, error), (K_ERROR, 1009, C["SOCKEYE_ERROR_MESSAGE_TOO_LARGE"]))
        client.free()
        server.free()

    def test_status_descriptions(self):
        text = ctypes.c_char_p()
        check(LIB.sockeye_status_describe(C["SOCKEYE_STATUS_ERR_NOT_OPEN"], ctypes.byref(text)))
        self.assertIn(b"handshake", text.value)


if __name__ == "__main__":
    unittest.main()
