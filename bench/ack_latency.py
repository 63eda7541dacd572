"""Ack latency of `/incident declare` under load, against a bare Bolt app in the same run.

Both servers run as separate processes on this machine (uvicorn + Starlette + Bolt). The
client is a third process (bench/loadgen.py): pre-signed requests, keep-alive HTTP/1.1
connections, the clock running only from the first byte written to the last byte read —
what Slack's side of the socket sees. Rounds alternate between the two servers so both meet
the same machine noise. Prints p50/p99 for each and the ratio warroom / bare.

Why this differs from the earlier in-process client: that client (httpx, signing each
request inside the timed span) shared its process and GIL with the Slack emulator, which
answers warroom's post-ack Web API calls and nothing of the bare app's. So warroom's rounds
were timed by a client that was itself slowed by warroom's Slack traffic, and every figure
carried ~1 ms of client CPU that blurred the ratio: high at 10 concurrent, low at 1.

    python bench/ack_latency.py [--requests 600] [--concurrency 1,10,50] [--text help]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warroom_sandbox.slack_driver import SlackDriver  # noqa: E402
from warroom_sandbox.slack_driver_transport import SendOptions  # noqa: E402
from warroom_sandbox.slack_emulator import SlackEmulator  # noqa: E402
from warroom_sandbox.slack_emulator.server import start_emulator  # noqa: E402

from bench.processes import free_port, wait_up, yield_cpu  # noqa: E402
from bot.adapters import db  # noqa: E402
from bot.adapters.embedded.postgres import EmbeddedPostgres  # noqa: E402
from bot.adapters.embedded.redis import EmbeddedRedis  # noqa: E402

SECRET = "bench-secret"
# What is sent; `--text help` measures the ack path without any work after the ack.
TEXT = "declare SEV3 bench {tag} {i}"
EMULATOR_NICE = 10
TOKEN = "xoxb-bench"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))
    return ordered[k]


def _normal_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except OSError:  # not allowed to raise priority: the client stays niced too
        pass


def load(
    driver: SlackDriver, users: list[str], total: int, concurrency: int, tag: str
) -> list[float]:
    """Sign `total` declarations now, then let bench/loadgen.py send them."""
    requests = []
    for i in range(total):
        prepared = driver.prepare_command(
            TEXT.format(tag=tag, i=i), user_id=users[i % len(users)], channel_id="CBENCH"
        )
        headers = driver.headers_for(prepared.body, prepared.content_type, SendOptions())
        requests.append({"body": prepared.body.decode(), "headers": headers})
    url = urlsplit(prepared.url)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"path": url.path, "requests": requests}, fh)
    try:
        out = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "loadgen.py"),
                str(url.hostname),
                str(url.port),
                fh.name,
                str(concurrency),
            ],
            capture_output=True,
            preexec_fn=_normal_priority,
            text=True,
            check=False,
            timeout=600,
        )
    finally:
        os.unlink(fh.name)
    if out.returncode != 0:
        raise SystemExit(f"{tag}: load generator failed: {out.stderr.strip()[-300:]}")
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", default="1,10,50")
    parser.add_argument("--text", default=None, help="the command text; {tag} {i} filled in")
    parser.add_argument("--profile", help="write warroom's cProfile stats to this file")
    args = parser.parse_args()
    global TEXT
    TEXT = args.text or TEXT
    levels = [int(c) for c in args.concurrency.split(",")]

    data = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    pg, rds = EmbeddedPostgres(data), EmbeddedRedis(data)
    rds.start()
    db.upgrade(pg.url)
    emu = SlackEmulator(bot_token=TOKEN)
    users = [emu.add_user(f"user{i}") for i in range(50)]
    emu_server = start_emulator(emu)

    wr_port, bare_port = free_port(), free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emu_server.api_url,
        "DATABASE_URL": pg.url,
        "REDIS_URL": rds.url,
        "HOST": "127.0.0.1",
        "PORT": str(wr_port),
        "LOG_LEVEL": "WARNING",
    }
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    warroom = subprocess.Popen(
        [sys.executable, *profile, "-m", "bot.cli", "serve"],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    bare = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "bare_bolt_app.py"),
            str(bare_port),
            SECRET,
            emu_server.api_url,
        ],
        stderr=subprocess.PIPE,
    )
    try:
        wr_url, bare_url = f"http://127.0.0.1:{wr_port}", f"http://127.0.0.1:{bare_port}"
        wait_up(wr_url, warroom)
        wait_up(bare_url, bare)
        # The emulator answers in this process's thread; Slack runs on its own machines, so
        # here it yields the CPU to the servers under test and to the client (which resets
        # its own priority), instead of taking warroom's post-ack calls out of warroom's time.
        # Postgres and Redis likewise.
        os.nice(EMULATOR_NICE)
        yield_cpu(pg, rds, EMULATOR_NICE)
        wr_driver = SlackDriver(wr_url + "/slack/events", SECRET, emulator=emu)
        bare_driver = SlackDriver(bare_url + "/slack/events", SECRET, emulator=emu)
        # Warm both (Bolt's first request calls auth.test).
        load(wr_driver, users, 20, 5, "warm")
        load(bare_driver, users, 20, 5, "warm")
        time.sleep(2)  # let the warm-up declarations finish their Slack steps
        print(f"{'concurrency':>11} {'server':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for conc in levels:
            results: dict[str, list[float]] = {"bare": [], "warroom": []}
            # Interleave rounds so both see the same machine noise.
            rounds = 3
            for r in range(rounds):
                for name, driver in (("bare", bare_driver), ("warroom", wr_driver)):
                    results[name] += load(
                        driver, users, args.requests // rounds, conc, f"c{conc}r{r}"
                    )
                time.sleep(1)
            for name in ("bare", "warroom"):
                v = results[name]
                print(
                    f"{conc:>11} {name:>8} {statistics.median(v):>8.1f} "
                    f"{percentile(v, 99):>8.1f} {max(v):>8.1f}"
                )
            ratio50 = statistics.median(results["warroom"]) / statistics.median(results["bare"])
            ratio99 = percentile(results["warroom"], 99) / percentile(results["bare"], 99)
            print(f"{conc:>11} {'ratio':>8} {ratio50:>8.2f} {ratio99:>8.2f}")
    finally:
        for proc in (warroom, bare):
            proc.terminate()
        for proc in (warroom, bare):
            try:
                proc.wait(30)  # warroom drains its post-ack declarations first
            except subprocess.TimeoutExpired:
                proc.kill()
        emu_server.stop()
        rds.stop()
        pg.stop()


if __name__ == "__main__":
    main()
