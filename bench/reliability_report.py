"""Run the reliability suite's scenarios at larger counts and print one table.

Every `scenario_*(world, trials)` function of tests/reliability/test_*.py runs against one
world (two `warroom serve` replicas, embedded Postgres and Redis, the Slack emulator, a fake
cluster), in module order, so the secrets check (test_zz_*) reads the logs of everything.

    python bench/reliability_report.py               # the report's counts (several minutes)
    python bench/reliability_report.py --scale 0.2  # a fifth of them
    python bench/reliability_report.py -k duplicates # only scenarios whose name matches
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.tally import Tally  # noqa: E402
from tests.reliability.world import World, open_world  # noqa: E402

# Trials per scenario in the report (CI runs smaller counts); unnamed ones get DEFAULT.
REPORT_TRIALS: dict[str, int] = {
    "scenario_declare_retried": 200,  # CI: 50 each
    "scenario_declare_both_replicas": 200,
    "scenario_ack_double_click": 200,
    "scenario_rollback_confirm_twice": 100,
    "scenario_rollback_storm": 30,  # 20 presses each; CI: 10
    "scenario_hostile_commands": 5000,  # CI: 1,000
    "scenario_malformed_payloads": 246,  # 6 rounds of the 41 shapes; CI: 2
    "scenario_unsigned_and_replayed": 600,  # CI: 150
    "scenario_outsider_refused": 3,  # 18 attempts a round
    "scenario_replayed_confirm": 3,  # 7 attempts a round
    "scenario_kube_faults": 3,  # 5 faults a round; each waits out a 10 s API timeout once
    "scenario_postgres_down": 40,  # CI: 12
    "scenario_postgres_mid_declare": 9,  # CI: 3
    "scenario_redis_locks": 30,  # CI: 8
    "scenario_redis_reminders": 6,  # CI: 3
    "scenario_slack_faults": 45,  # every method with every fault; CI: 15
    "scenario_rollout_follow_resumed": 3,  # each trial starts and stops a replica
    "scenario_sigterm_drains_declare": 6,
    "scenario_sigterm_abandons_declare_step": 12,  # every step twice
    "scenario_sigterm_under_load": 30,
    "scenario_healthz_draining": 3,
    "scenario_secrets_in_logs": 50,
}
DEFAULT_TRIALS = 20

Scenario = Callable[[World, int], Tally]


def scenarios() -> list[tuple[str, str, Scenario]]:
    found = []
    for path in sorted((ROOT / "tests" / "reliability").glob("test_*.py")):
        module = importlib.import_module(f"tests.reliability.{path.stem}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("scenario_") and fn.__module__ == module.__name__:
                found.append((path.stem, name, fn))
    return found


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every trial count")
    parser.add_argument("-k", dest="match", default="", help="only scenarios matching this")
    args = parser.parse_args()

    chosen = [s for s in scenarios() if args.match in f"{s[0]}.{s[1]}"]
    if not chosen:
        print(f"no scenario matches {args.match!r}")
        return 2
    import logging

    from bot import logging_setup

    logging_setup.configure("ERROR")  # the in-process app's lines would bury the table
    logging.getLogger().setLevel(logging.CRITICAL)
    rows: list[tuple[Tally, float]] = []
    print(f"starting the world (2 replicas) for {len(chosen)} scenarios…", flush=True)
    with open_world() as world:
        for module, name, fn in chosen:
            trials = max(1, math.ceil(REPORT_TRIALS.get(name, DEFAULT_TRIALS) * args.scale))
            world.reset()
            started = time.monotonic()
            try:
                tally = fn(world, trials)
            except Exception as exc:  # a scenario that breaks is a row, not the end of the run
                tally = Tally(name.removeprefix("scenario_"), trials=trials)
                tally.fail(f"scenario raised {type(exc).__name__}: {exc}")
            elapsed = time.monotonic() - started
            rows.append((tally, elapsed))
            state = "ok" if tally.clean else "FAILED"
            print(f"  {module}.{name}: {tally.trials} trials in {elapsed:.0f} s — {state}")
            for note in tally.notes[:5]:
                print(f"      {note}")

    header = ("scenario", "trials", "failures", "duplicates", "lost", "p99 ack ms", "wall s")
    table = [header] + [
        (
            t.scenario,
            str(t.trials),
            str(t.failures),
            str(t.duplicates),
            str(t.lost),
            fmt_ms(t.p99_ms),
            f"{elapsed:.0f}",
        )
        for t, elapsed in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    print()
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table[1:]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("| " + " | ".join(cells) + " |")
    clean = all(t.clean for t, _ in rows)
    print(f"\n{'all scenarios clean' if clean else 'SOME SCENARIOS FAILED'}")
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
