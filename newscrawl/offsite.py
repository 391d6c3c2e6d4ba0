"""Where a crawl may send requests: one rule for Scrapy's downloads and the browser's.

A crawl's seeds and ``allowed_domains`` define it:

- **onsite**: the host is an allowed domain or a subdomain of one (Scrapy's rule;
  no ``allowed_domains`` allows every host) *and* the port is 80, 443 or the port
  of a seed. Scrapy's OffsiteMiddleware compares hosts only, so a redirect to
  ``localhost:5432`` passed when ``localhost`` was allowed.
- **private addresses** (loopback, private networks, link-local, reserved,
  multicast, unspecified) are reached only at a seed's own ``host:port``: a crawl
  seeded with ``http://127.0.0.1:8008/`` may fetch that server and nothing else on
  the machine or its network. A host name counts by every address it resolves to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def host_port(url: str) -> tuple[str, int]:
    """``url``'s lower-case host and its port (the scheme's default when it names none)."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    return (parts.hostname or "").lower(), port


def is_private(address: IPAddress) -> bool:
    """Whether ``address`` belongs to this machine or a private network, not the Internet."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


@dataclass(frozen=True)
class Destinations:
    """A crawl's onsite rule and the seed origins allowed private addresses."""

    domains: frozenset[str]
    ports: frozenset[int]
    seeds: frozenset[tuple[str, int]]

    @classmethod
    def of(cls, seeds: Iterable[str], allowed_domains: Iterable[str]) -> Destinations:
        origins = {host_port(url) for url in seeds}
        return cls(
            domains=frozenset(d.lower().lstrip(".") for d in allowed_domains if d),
            ports=frozenset({80, 443} | {port for _, port in origins}),
            seeds=frozenset(origins),
        )

    @classmethod
    def of_spider(cls, spider: Any) -> Destinations:
        """A spider's rule: its seeds (``start_urls``, and the news spider's ``feeds`` and
        ``sitemaps``) and ``allowed_domains``."""
        seeds = [
            url
            for attribute in ("start_urls", "feeds", "sitemaps")
            for url in getattr(spider, attribute, None) or ()
        ]
        return cls.of(seeds, getattr(spider, "allowed_domains", None) or ())

    def in_domain(self, host: str) -> bool:
        """Whether ``host`` is an allowed domain or a subdomain of one (all, without any)."""
        host = host.lower()
        return not self.domains or any(
            host == domain or host.endswith(f".{domain}") for domain in self.domains
        )

    def onsite(self, host: str, port: int) -> bool:
        return self.in_domain(host) and port in self.ports

    def refusal(self, host: str, port: int, addresses: Iterable[IPAddress]) -> str | None:
        """Why ``host:port`` (resolving to ``addresses``) may not be contacted, or None."""
        if (host.lower(), port) in self.seeds:
            return None
        if port not in self.ports:
            return f"port {port} is not a seed's or a web port"
        private = [str(address) for address in addresses if is_private(address)]
        if private:
            return f"{host} is a private address ({private[0]})"
        return None

    async def resolve(self, host: str, port: int) -> tuple[list[IPAddress], str | None]:
        """``host``'s addresses and why they may not be contacted (None: they may).

        Raises OSError when the name does not resolve."""
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        return addresses, self.refusal(host, port, addresses)
