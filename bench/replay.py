"""Replay throughput: recorded citizen messages through intake, routing and replies.

Import this module only after django.setup().
"""

from dataclasses import dataclass
from pathlib import Path

from incidents.replay import replay


@dataclass
class ReplayResult:
    path: Path
    read: int
    created: int
    routed: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.created / self.seconds if self.seconds else 0.0


def run_replay(path: Path, *, limit: int | None, seed: int) -> ReplayResult:
    """Replay the messages of ``path`` in this process and time it.

    Routing runs in-process, right after each ticket is submitted, and 60 %
    of the messages that carry an official reply are accepted and answered
    with it, as incidents.replay.replay does by default.
    """
    report = replay(path, limit=limit, seed=seed)
    return ReplayResult(
        path=path,
        read=report.read,
        created=report.created,
        routed=report.routed,
        seconds=report.seconds,
    )
