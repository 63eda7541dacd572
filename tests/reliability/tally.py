"""What one scenario run found, in the shape `bench/reliability_report.py` prints.

Each test module exposes ``scenario_*(world, trials) -> Tally`` functions: the test runs them
at CI size and asserts on the tally; the report runs them at larger counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tally:
    scenario: str
    trials: int = 0
    failures: int = 0  # trials whose outcome was wrong (besides duplicates and losses)
    duplicates: int = 0  # effects that happened more than once
    lost: int = 0  # events or effects that should have happened and did not
    ack_ms: list[float] = field(default_factory=list)  # every ack latency under the fault
    notes: list[str] = field(default_factory=list)  # what went wrong, for the assertion

    def fail(self, note: str) -> None:
        self.failures += 1
        if len(self.notes) < 20:
            self.notes.append(note)

    @property
    def p99_ms(self) -> float | None:
        if not self.ack_ms:
            return None
        ordered = sorted(self.ack_ms)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    @property
    def clean(self) -> bool:
        return self.failures == 0 and self.duplicates == 0 and self.lost == 0

    def summary(self) -> str:
        return (
            f"{self.scenario}: {self.trials} trials, {self.failures} failures, "
            f"{self.duplicates} duplicates, {self.lost} lost; {self.notes[:5]}"
        )
