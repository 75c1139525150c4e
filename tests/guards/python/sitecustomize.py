"""Imported at startup by every Python process the tests start (conftest.py puts this folder
first on PYTHONPATH): like conftest's guard of the pytest process and loopback-only.cjs in
node, it refuses any connection that is not loopback. Unix sockets pass."""

import socket

_LOOPBACK = ("127.", "::1", "localhost", "::ffff:127.")
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _check(sock: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else str(address)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(_LOOPBACK):
        raise AssertionError(
            f"mlcc-ci tests: a subprocess tried to reach {host}: only 127.0.0.1 is allowed"
        )


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    return _connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
