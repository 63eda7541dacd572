"""The client side of bench/ack_latency.py, in a process of its own.

Reads a JSON file of pre-signed requests, opens `--concurrency` keep-alive HTTP/1.1
connections and sends them as fast as the connections allow; prints each request's
latency in ms (first byte written → last byte of the answer read) as one JSON list.
Signing, JSON and HTTP-client machinery happen before the clock starts, so the figure is the
server's answer time plus the loopback, which is what Slack's side of the socket sees.

    python bench/loadgen.py HOST PORT REQUESTS_JSON CONCURRENCY
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


def encode(path: str, host: str, item: dict) -> bytes:
    body = item["body"].encode()
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in item["headers"].items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def run(host: str, port: int, raw: list[bytes], concurrency: int) -> list[float]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in raw:
        queue.put_nowait(request)
    latencies: list[float] = []
    failures: list[int] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                started = time.perf_counter()
                writer.write(request)
                status = await read_response(reader)
                latencies.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    failures.append(status)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failures:
        raise SystemExit(f"{len(failures)} answers were not 200: {sorted(set(failures))}")
    return latencies


def main() -> None:
    host, port, path_file, concurrency = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with open(path_file, encoding="utf-8") as fh:
        spec = json.load(fh)
    raw = [encode(spec["path"], f"{host}:{port}", item) for item in spec["requests"]]
    print(json.dumps(asyncio.run(run(host, port, raw, int(concurrency)))))


if __name__ == "__main__":
    main()
