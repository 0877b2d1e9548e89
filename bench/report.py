"""Tables and goals that the benchmark prints at the end of a run."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.client import Measurement

if TYPE_CHECKING:
    # Both modules need django.setup() before they can be imported.
    from bench.routing import Latencies
    from bench.sweep import SweepCase


@dataclass(frozen=True)
class Goal:
    name: str
    target: str
    measured: str
    met: bool

    def line(self) -> str:
        verdict = "met" if self.met else "MISSED"
        return f"{verdict:<6}  {self.name}: {self.measured} (goal {self.target})"


def ratio_goal(result: Measurement, baseline_rate: float, minimum: float) -> Goal:
    ratio = result.rate / baseline_rate if baseline_rate else 0.0
    return Goal(result.name, f">= {minimum}", f"ratio {ratio:.2f}", ratio >= minimum)


def http_table(
    results: Sequence[Measurement], baseline_rate: float, goals: dict[str, float]
) -> list[str]:
    """Return the lines of the table of HTTP measurements.

    The ratio column is each row's requests per second divided by
    ``baseline_rate``.
    """
    header = (
        f"{'name':<40} {'requests':>8} {'failed':>6} {'req/s':>8} {'ratio':>6} "
        f"{'p50 ms':>7} {'p95 ms':>7}  goal"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        ratio = result.rate / baseline_rate if baseline_rate else 0.0
        goal = ""
        if result.name in goals:
            minimum = goals[result.name]
            goal = f">= {minimum}: {'met' if ratio >= minimum else 'missed'}"
        lines.append(
            f"{result.name:<40} {result.completed:>8} {result.failures:>6} "
            f"{result.rate:>8.1f} {ratio:>6.2f} "
            f"{result.percentile(0.5) * 1000:>7.1f} "
            f"{result.percentile(0.95) * 1000:>7.1f}  {goal}".rstrip()
        )
    return lines


def latency_table(rows: Sequence["Latencies"], reference: "Latencies") -> list[str]:
    """Return the lines of a latency table with p50 and p99 ratios to ``reference``."""
    header = (
        f"{'name':<40} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'p50 ratio':>9} {'p99 ratio':>9}"
    )
    lines = [header, "-" * len(header)]
    ref50 = reference.percentile(0.5)
    ref99 = reference.percentile(0.99)
    for row in rows:
        p50 = row.percentile(0.5)
        p99 = row.percentile(0.99)
        lines.append(
            f"{row.name:<40} {len(row.seconds):>6} "
            f"{p50 * 1000:>8.1f} {p99 * 1000:>8.1f} "
            f"{p50 / ref50 if ref50 else 0.0:>9.2f} "
            f"{p99 / ref99 if ref99 else 0.0:>9.2f}"
        )
    return lines


def sweep_table(cases: Sequence["SweepCase"]) -> list[str]:
    """Return the lines of the sweep table, one row per case."""
    header = (
        f"{'case':<30} {'open':>9} {'overdue':>8} {'fill s':>7} {'sweep s':>8} "
        f"{'escalated':>9} {'ms/esc':>7} {'queries':>8} {'q/esc':>7}"
    )
    lines = [header, "-" * len(header)]
    for case in cases:
        queries = "" if case.queries is None else str(case.queries)
        if case.queries_capped:
            queries = ">=" + queries
        per = case.queries_per_escalated
        per_text = "" if per is None else f"{per:.4f}"
        lines.append(
            f"{case.name:<30} {case.open_tickets:>9} {case.overdue:>8} "
            f"{case.fill_seconds:>7.2f} {case.sweep_seconds:>8.2f} "
            f"{case.escalated:>9} {case.ms_per_escalated:>7.3f} "
            f"{queries:>8} {per_text:>7}".rstrip()
        )
    return lines
