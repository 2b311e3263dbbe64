"""Which service URLs may carry a credential.

A key or token sent over plain http can be read by anyone on the path, so
http is accepted only for the loopback interface (local emulators, proxies).
Every remote provider checks its endpoints with :func:`check_endpoint`.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["check_endpoint", "is_loopback"]


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
