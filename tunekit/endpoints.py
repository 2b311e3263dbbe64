"""Which service URLs may carry a credential.

A key or token sent over plain http can be read by anyone on the path, so
http is accepted only for the loopback interface (local emulators, proxies).
Every remote provider checks its endpoints with :func:`check_endpoint`.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["REACH_TIMEOUT", "check_endpoint", "is_loopback", "unreachable"]

REACH_TIMEOUT = 3.0
"""Seconds a reachability check waits for a connection: long enough for a far region, short enough to ask first."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, *, field: str = "endpoint", secret: str = "credential") -> str | None:
    """Why ``url`` may not carry a ``secret``, or None when it may."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return f"{field} must be an http(s) URL with a host, got {url!r}"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return f"{field} {url!r} uses plain http to a non-loopback host; use https (the {secret} would travel in clear)"
    return None


def unreachable(url: str, *, field: str = "endpoint", timeout: float = REACH_TIMEOUT) -> str | None:
    """Why nothing answers at ``url`` (one TCP connection, bounded by ``timeout``), or None when something does.

    Only a connection is opened: no request, so no credential, is sent. Used
    before anything is paid for, so a wrong or dead URL is reported at once
    rather than after training, through every retry of an evaluation.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        return f"{field} {url!r} has no host"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__)
        return f"{field}: nothing answers at {url} ({why} within {timeout:g} s)"
