"""The shared frontier's data in Redis, changed only by atomic Lua scripts.

Keys of one crawl share the prefix ``newscrawl:{<crawl id>}:`` (the braces keep a
crawl's keys together, and the scripts build key names from it: one Redis server,
or a primary with replicas, not Redis Cluster):

- ``seen`` (set): fingerprints of every request ever queued: the crawl's dupefilter.
- ``req`` (hash id -> pickled request) and ``meta`` (id -> ``score|host``).
- ``q:<host>`` (sorted set id -> score): a host's queue, best priority first, then FIFO.
- ``hosts`` (sorted set host -> time it may next be served, ms): hosts with queued
  requests. Politeness for the whole crawl lives here: a host is served at most
  ``concurrency`` requests at once (``busy`` hash, ``held`` set of the ids holding a
  slot) and one request per ``delay`` (``next`` hash), whichever worker asks.
- ``leases`` (sorted set id -> expiry, ms): requests taken by a worker and not yet
  acknowledged. A worker renews the leases it holds; one that stops renewing (killed,
  lost) sees its requests go back to their host's queue when the lease expires.
- ``budget`` (hash host -> pages charged), ``queued`` (counter), ``stats`` (hash),
  ``workers`` (sorted set worker -> time it counts as alive until, ms),
  ``seeded`` (``done``, or ``pending:<worker>`` with an expiry while one seeds),
  ``robots:<host:port>`` (a robots.txt body, shared by the workers for a day).

Times come from the Redis server's clock (``TIME``), so workers' clocks may differ.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis

CRAWLS_KEY = "newscrawl:crawls"
ROBOTS_TTL = 86_400  # seconds a shared robots.txt is kept, as crawlers commonly cache it
CRAWL_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")

_COMMON = """
local P = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function split(meta)
  local sep = string.find(meta, '|', 1, true)
  return tonumber(string.sub(meta, 1, sep - 1)), string.sub(meta, sep + 1)
end
local function free_slot(id, host)
  if redis.call('SREM', P .. 'held', id) == 1 then
    redis.call('HINCRBY', P .. 'busy', host, -1)
    local ready = tonumber(redis.call('HGET', P .. 'next', host) or '0')
    if ready < now then ready = now end
    local score = redis.call('ZSCORE', P .. 'hosts', host)
    if score and tonumber(score) > ready then
      redis.call('ZADD', P .. 'hosts', 'XX', ready, host)
    end
  end
end
local function requeue(id)
  redis.call('ZREM', P .. 'leases', id)
  local meta = redis.call('HGET', P .. 'meta', id)
  if not meta then return 0 end
  local score, host = split(meta)
  free_slot(id, host)
  if redis.call('ZADD', P .. 'q:' .. host, score, id) == 1 then
    redis.call('ZADD', P .. 'hosts', 'NX', now, host)
    redis.call('INCR', P .. 'queued')
    redis.call('HINCRBY', P .. 'stats', 'requeued', 1)
  end
  return 1
end
"""

# ARGV: prefix, max pages per host (-1: none), then per request:
# fingerprint ('' = never filtered), host, priority, charge the budget ('1'/'0'), blob.
# Returns per request: 1 queued, 0 seen before, 2 its host's budget is spent.
_PUSH = (
    _COMMON
    + """
local maxp = tonumber(ARGV[2])
local out, n = {}, 0
for i = 3, #ARGV, 5 do
  local fp, host, prio, charge, blob = ARGV[i], ARGV[i+1], tonumber(ARGV[i+2]), ARGV[i+3], ARGV[i+4]
  local code = 1
  local budgeted = charge == '1' and maxp >= 0
  if budgeted and tonumber(redis.call('HGET', P .. 'budget', host) or '0') >= maxp then
    code = 2
  elseif fp ~= '' and redis.call('SADD', P .. 'seen', fp) == 0 then
    code = 0
  else
    if budgeted then redis.call('HINCRBY', P .. 'budget', host, 1) end
    local id = redis.call('INCR', P .. 'seq')
    local score = -prio * 4294967296 + id
    redis.call('HSET', P .. 'req', id, blob)
    redis.call('HSET', P .. 'meta', id, string.format('%d', score) .. '|' .. host)
    redis.call('ZADD', P .. 'q:' .. host, score, id)
    redis.call('ZADD', P .. 'hosts', 'NX', now, host)
    n = n + 1
  end
  out[#out + 1] = code
end
if n > 0 then
  redis.call('INCRBY', P .. 'queued', n)
  redis.call('HINCRBY', P .. 'stats', 'pushed', n)
end
return out
"""
)

# One round trip per exchange: acknowledge, free the slots of finished downloads, then lease.
# ARGV: prefix, most to take, lease ms, host delay ms, host concurrency, worker, alive ms,
# number of ids to acknowledge, those ids, then the ids whose downloads are over.
# Returns {{id, blob, id, blob...}, queued, leased}.
_POP = (
    _COMMON
    + """
local most, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
local delay, conc = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZADD', P .. 'workers', now + tonumber(ARGV[7]), ARGV[6])
local acks = tonumber(ARGV[8])
local acked = 0
for i = 9, 8 + acks do
  local id = ARGV[i]
  local meta = redis.call('HGET', P .. 'meta', id)
  if meta then
    local _, host = split(meta)
    free_slot(id, host)
    redis.call('HDEL', P .. 'req', id)
    redis.call('HDEL', P .. 'meta', id)
    acked = acked + 1
  end
  redis.call('ZREM', P .. 'leases', id)
end
if acked > 0 then redis.call('HINCRBY', P .. 'stats', 'acked', acked) end
for i = 9 + acks, #ARGV do
  local meta = redis.call('HGET', P .. 'meta', ARGV[i])
  if meta then
    local _, host = split(meta)
    free_slot(ARGV[i], host)
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', now, 'LIMIT', 0, 500)) do
  requeue(id)
end
local out, taken = {}, 0
if most > 0 then
  local hosts = redis.call('ZRANGEBYSCORE', P .. 'hosts', '-inf', now, 'LIMIT', 0, most * 4 + 16)
  for _, host in ipairs(hosts) do
    if taken >= most then break end
    local busy = tonumber(redis.call('HGET', P .. 'busy', host) or '0')
    local popped = 0
    while busy < conc and taken < most do
      local top = redis.call('ZPOPMIN', P .. 'q:' .. host)
      if #top == 0 then break end
      local id = top[1]
      redis.call('ZADD', P .. 'leases', now + lease, id)
      redis.call('SADD', P .. 'held', id)
      busy, popped, taken = busy + 1, popped + 1, taken + 1
      out[#out + 1] = id
      out[#out + 1] = redis.call('HGET', P .. 'req', id)
      if delay > 0 then break end
    end
    redis.call('HSET', P .. 'busy', host, busy)
    if redis.call('ZCARD', P .. 'q:' .. host) == 0 then
      redis.call('ZREM', P .. 'hosts', host)
    else
      local ready = now
      if popped > 0 and delay > 0 then
        ready = now + delay
        redis.call('HSET', P .. 'next', host, ready)
      end
      -- a host at its concurrency waits for a slot to be freed (free_slot) before more
      if busy >= conc then ready = now + 3600000 end
      redis.call('ZADD', P .. 'hosts', ready, host)
    end
  end
  if taken > 0 then
    redis.call('DECRBY', P .. 'queued', taken)
    redis.call('HINCRBY', P .. 'stats', 'leased', taken)
  end
end
return {out, tonumber(redis.call('GET', P .. 'queued') or '0'), redis.call('ZCARD', P .. 'leases')}
"""
)

# ARGV: prefix, ids... : give the requests back to their queues now (a worker closing).
_REQUEUE = (
    _COMMON
    + """
local n = 0
for i = 2, #ARGV do n = n + requeue(ARGV[i]) end
return n
"""
)

# ARGV: prefix, lease ms, worker, alive ms, ids... : extend the leases still held.
# Returns the ids whose lease was lost (expired and given back to the queue).
_RENEW = (
    _COMMON
    + """
redis.call('ZADD', P .. 'workers', now + tonumber(ARGV[4]), ARGV[3])
local lost = {}
for i = 5, #ARGV do
  if redis.call('ZADD', P .. 'leases', 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[i]) == 0
     and not redis.call('ZSCORE', P .. 'leases', ARGV[i]) then
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
"""
)


def crawl_prefix(crawl_id: str) -> str:
    return f"newscrawl:{{{crawl_id}}}:"


def check_crawl_id(crawl_id: str) -> str:
    """``crawl_id`` if usable in key names, else ValueError naming the rule."""
    if not CRAWL_ID_RE.match(crawl_id):
        raise ValueError(f"crawl_id {crawl_id!r}: use 1-200 letters, digits, '.', '_', ':' or '-'")
    return crawl_id


@dataclass
class Taken:
    """What one pop returned, and the frontier's size after it."""

    requests: list[tuple[int, bytes]] = field(default_factory=list)
    queued: int = 0
    leased: int = 0


class Frontier:
    """One crawl's frontier in Redis (see the module docstring for the keys)."""

    def __init__(self, redis: Redis, crawl_id: str) -> None:
        self.redis = redis
        self.crawl_id = check_crawl_id(crawl_id)
        self.prefix = crawl_prefix(crawl_id)
        self._push = redis.register_script(_PUSH)
        self._pop = redis.register_script(_POP)
        self._requeue = redis.register_script(_REQUEUE)
        self._renew = redis.register_script(_RENEW)
        self._listed = False

    @staticmethod
    def client(url: str, timeout: float = 10.0) -> Redis:
        """A client that fails fast (the caller pauses and retries) instead of hanging."""
        client: Redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return client

    def key(self, name: str) -> str:
        return self.prefix + name

    async def push(
        self, entries: list[tuple[bytes, str, int, bool, bytes]], max_pages: int | None
    ) -> list[int]:
        """Queue ``(fingerprint, host, priority, charge, blob)`` entries; a code for each."""
        args: list[Any] = [self.prefix, -1 if max_pages is None else max_pages]
        for fingerprint, host, priority, charge, blob in entries:
            args += [fingerprint, host, priority, "1" if charge else "0", blob]
        if not self._listed:  # in the list of crawls for ``frontier status``
            await cast("Awaitable[int]", self.redis.sadd(CRAWLS_KEY, self.crawl_id))
            self._listed = True
        return [int(code) for code in await self._push(args=args)]

    async def pop(
        self,
        most: int,
        *,
        lease: float,
        delay: float,
        concurrency: int,
        worker: str,
        alive: float,
        ack: list[int],
        release: list[int],
    ) -> Taken:
        """Acknowledge ``ack`` (done, items stored: forgotten), free the host slots of
        ``release`` (downloads over, leases kept), then lease up to ``most`` requests of
        hosts that may be served now: one round trip."""
        out, queued, leased = await self._pop(
            args=[
                self.prefix,
                most,
                int(lease * 1000),
                int(delay * 1000),
                concurrency,
                worker,
                int(alive * 1000),
                len(ack),
                *ack,
                *release,
            ]
        )
        pairs = [(int(out[i]), out[i + 1]) for i in range(0, len(out), 2)]
        return Taken(pairs, int(queued), int(leased))

    async def requeue(self, ids: list[int]) -> int:
        return int(await self._requeue(args=[self.prefix, *ids])) if ids else 0

    async def renew(self, ids: list[int], *, lease: float, worker: str, alive: float) -> list[int]:
        lost = await self._renew(
            args=[self.prefix, int(lease * 1000), worker, int(alive * 1000), *ids]
        )
        return [int(id_) for id_ in lost]

    async def leave(self, worker: str) -> None:
        await self.redis.zrem(self.key("workers"), worker)

    async def robots(self, netloc: str) -> bytes | None:
        """The robots.txt body a worker of this crawl fetched from ``netloc``, if any."""
        body: bytes | None = await self.redis.get(self.key("robots:") + netloc)
        return body

    async def keep_robots(self, netloc: str, body: bytes) -> None:
        """Share ``netloc``'s robots.txt with the crawl's other workers for a day."""
        await self.redis.set(self.key("robots:") + netloc, body, ex=ROBOTS_TTL)

    async def claim_seeding(self, worker: str, ttl: float) -> str:
        """``claimed`` (this worker seeds), ``done`` (seeded before) or ``busy``."""
        if await self.redis.set(
            self.key("seeded"), f"pending:{worker}", nx=True, px=int(ttl * 1000)
        ):
            return "claimed"
        value = await self.redis.get(self.key("seeded"))
        return "done" if value == b"done" else "busy"

    async def seeded(self) -> None:
        await self.redis.set(self.key("seeded"), "done")

    async def status(self, hosts: int = 20) -> dict[str, Any]:
        """Sizes for operators: queued, leased, seen, workers alive, largest host queues."""
        now_s, now_us = await self.redis.time()
        now = now_s * 1000 + now_us // 1000
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.key("queued"))
            pipe.zcard(self.key("leases"))
            pipe.scard(self.key("seen"))
            pipe.zrangebyscore(self.key("workers"), now, "+inf")
            pipe.zrange(self.key("hosts"), 0, -1)
            pipe.hgetall(self.key("stats"))
            pipe.get(self.key("seeded"))
            queued, leased, seen, workers, host_names, stats, seeded = await pipe.execute()
        async with self.redis.pipeline(transaction=False) as pipe:
            for host in host_names:
                pipe.zcard(self.key("q:") + host.decode())
            sizes = await pipe.execute()
        per_host = sorted(
            zip((host.decode() for host in host_names), sizes, strict=True),
            key=lambda pair: -pair[1],
        )
        return {
            "crawl_id": self.crawl_id,
            "seeded": (seeded or b"no").decode(),
            "queued": int(queued or 0),
            "leased": int(leased),
            "seen": int(seen),
            "workers_alive": sorted(worker.decode() for worker in workers),
            "hosts": dict(per_host[:hosts]),
            "stats": {key.decode(): int(value) for key, value in stats.items()},
        }

    async def clear(self) -> int:
        """Delete every key of this crawl; the number deleted."""
        deleted = 0
        async for key in self.redis.scan_iter(
            match=self.prefix.replace("{", "\\{").replace("}", "\\}") + "*", count=1000
        ):
            deleted += await self.redis.unlink(key)
        await cast("Awaitable[int]", self.redis.srem(CRAWLS_KEY, self.crawl_id))
        return deleted


async def crawl_ids(redis: Redis) -> list[str]:
    members = await cast("Awaitable[set[bytes]]", redis.smembers(CRAWLS_KEY))
    return sorted(member.decode() for member in members)
