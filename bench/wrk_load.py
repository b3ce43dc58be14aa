"""HTTP load from Debian's `wrk` with pre-built requests, and the bare ASGI app it is compared with.

`wrk` (C, one event loop per thread) costs a few microseconds of CPU per request, so on the
2-core machine the server gets nearly all the CPU; a Python client took a tenth of a millisecond
or more per request, a CPU the server then lacked. The requests (here: webhooks signed as LiveKit
signs them) are built beforehand and written to a file; the Lua script below hands them out in
turn, each wrk thread its own share, for a fixed time. A pool used up before the time is over
starts again from its first request (counted as `repeated`: the dashboard answers those as
duplicates, so size the pool for the rate expected).

`anchor` is the least an ASGI server can do with such a POST: read the body, answer 200 "ok".
Served by the same uvicorn with the same flags and loaded by the same wrk with the same requests,
it is what the dashboard's ingest is measured against.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from timing import Receive, Scope, Send


async def anchor(scope: Scope, receive: Receive, send: Send) -> None:
    """A raw ASGI app answering any HTTP request 200 "ok" once it has read the body."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


# Each thread reads the file (a count of bytes, a newline, that many bytes; repeated), keeps
# every n-th request from its own offset, and hands them out in turn. No `response` callback:
# wrk then skips building a Lua table of each answer's headers. `done` prints one JSON line.
LUA = r"""
local threads, pool = {}, {}
issued = 0
pooled = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  local count, at, n = tonumber(args[2]), 1, 0
  while at <= #data do
    local newline = string.find(data, "\n", at, true)
    local size = tonumber(string.sub(data, at, newline - 1))
    if n % count == id then
      table.insert(pool, string.sub(data, newline + 1, newline + size))
    end
    n = n + 1
    at = newline + 1 + size
  end
  pooled = #pool
end

function request()
  issued = issued + 1
  return pool[(issued - 1) % pooled + 1]
end

function done(summary, latency, requests)
  local repeated = 0
  for _, thread in ipairs(threads) do
    repeated = repeated + math.max(0, thread:get("issued") - thread:get("pooled"))
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50": %d, "p99": %d, "max": %d, "repeated": %d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(99),
    latency.max, repeated))
end
"""


def raw_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """An HTTP/1.1 POST as it goes on the wire (keep-alive)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def write_pool(path: Path, requests: Iterable[bytes]) -> int:
    """The requests written where the Lua script reads them; how many."""
    count = 0
    with path.open("wb") as out:
        for request in requests:
            out.write(b"%d\n" % len(request) + request)
            count += 1
    return count


@dataclass(frozen=True)
class Load:
    """What one wrk run did: requests answered, over how long, latency and the client's CPU."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]  # socket errors, and `status`: answers other than 2xx/3xx
    repeated: int  # requests sent again once the pool was used up
    cpu: float  # seconds of wrk's CPU

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def installed() -> str:
    """The path of wrk; exits with how to install it when it is missing."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is missing: run scripts/install-wrk (Debian's wrk package)")
    return found


def run(url: str, pool: Path, *, connections: int, seconds: float, threads: int = 1) -> Load:
    """`wrk` posting the pool's requests to `url` for `seconds` over `connections` keep-alive
    connections (the URL only names the server: the requests carry their own path)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    duration = f"{max(1, round(seconds))}s"  # whole seconds: wrk reads no fractions
    command = [installed(), "-t", str(threads), "-c", str(connections), "-d", duration]
    command += ["--timeout", "30s", "-s", script.name, url, "--", str(pool), str(threads)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        child = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    finally:
        os.unlink(script.name)
    # wrk's own CPU, user and system, from the kernel's accounting of the children reaped.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    output = child.stdout
    line = next((text for text in output.splitlines() if text.startswith("{")), None)
    if child.returncode or line is None:
        raise SystemExit(f"wrk failed ({child.returncode}):\n{output}")
    found = json.loads(line)
    errors = {name: found[name] for name in ("connect", "read", "write", "status", "timeout")}
    return Load(
        requests=found["requests"],
        seconds=found["us"] / 1e6,
        p50_ms=found["p50"] / 1000,
        p99_ms=found["p99"] / 1000,
        max_ms=found["max"] / 1000,
        errors={name: count for name, count in errors.items() if count},
        repeated=found["repeated"],
        cpu=cpu,
    )
