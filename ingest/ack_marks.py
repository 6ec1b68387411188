"""Each device's acknowledgement watermark, advanced in memory from this worker's commits.

The watermark of a device is the highest ``(boot, seq)`` below which every message is committed
(protocol v1, "Delivery"). One worker usually commits a device's messages as one unbroken run:
then the batch it has just committed is all it needs to move the watermark, and the database is
asked nothing per key. The database (``advance_ack_watermarks``, migration 0013) is needed only
where this worker's keys do not continue the watermark: another worker of the shared subscription
committed the keys in between, or they never come (a gap the database steps over after a while).
:class:`Watermarks` sorts each round's keys into those two cases; :mod:`ingest.acks` does the
database work and the publishing.

A watermark held here is always one that the database has, or that the keys committed since
made true; so advancing from it over an unbroken run of committed keys is always right, whatever
the other workers did meanwhile. A watermark behind the database's (another worker advanced it)
only sends this worker's next keys to the database, which answers with its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Key = tuple[str, int, int]  # (device_id, boot, seq)
Mark = tuple[int, int]  # (boot, seq), compared as a pair: boot first


@dataclass
class Round:
    """One round's work: what this worker settles alone, and what the database must."""

    #: Devices whose watermark this worker's own keys advanced, with the new watermark.
    local: dict[str, Mark] = field(default_factory=dict)
    #: Keys for ``advance_ack_watermarks``: their device's run crosses keys not committed here.
    shared: list[Key] = field(default_factory=list)
    #: The committed keys the round was made of (what :meth:`Watermarks.restore` puts back).
    taken: dict[str, set[Mark]] = field(default_factory=dict)


class Watermarks:
    """The watermarks one worker knows, and its committed keys above them.

    Not thread-safe: one thread (the ack publisher's) owns it.
    """

    def __init__(self) -> None:
        self.marks: dict[str, Mark] = {}
        self._held: dict[str, set[Mark]] = {}
        # Devices of which this worker has handed keys to the database above the watermark it
        # knows: the highest such key. Until the watermark covers it, every key of the device
        # goes to the database, which holds the rest of the run.
        self._shared_to: dict[str, Mark] = {}

    def add(self, keys: Iterable[Key]) -> None:
        """Committed keys (accepted, duplicate or rejected for good)."""
        marks, held = self.marks, self._held
        for device, boot, seq in keys:
            mark = marks.get(device)
            if mark is not None and (boot, seq) <= mark:
                continue  # a replay of what is covered already
            got = held.get(device)
            if got is None:
                held[device] = {(boot, seq)}
            else:
                got.add((boot, seq))

    def unknown(self) -> list[str]:
        """Devices with keys waiting whose watermark this worker has not read yet."""
        return sorted(d for d in self._held if d not in self.marks)

    def learn(self, marks: dict[str, Mark]) -> None:
        """Watermarks read from, or returned by, the database (never lowered here)."""
        for device, mark in marks.items():
            known = self.marks.get(device)
            if known is None or mark > known:
                self.marks[device] = mark
            shared_to = self._shared_to.get(device)
            if shared_to is not None and self.marks[device] >= shared_to:
                del self._shared_to[device]  # the database's run has caught up: alone again

    def take(self, *, probe: bool = True) -> Round:
        """The round's work, taken out of this object (hand it back with :meth:`restore` if
        the database could not take it). ``probe`` adds, for each device waiting on the database
        with nothing new, its highest shared key again, so that the database looks at its run
        once more (a gap filled by another worker, or old enough to step over)."""
        work = Round(taken=self._held)
        for device, held in self._held.items():
            mark = self.marks.get(device)
            if mark is not None and device not in self._shared_to:
                top = _run_top(mark, held)
                if top is not None:
                    if top > mark:
                        work.local[device] = top
                    continue
            work.shared.extend((device, boot, seq) for boot, seq in sorted(held))
            highest = max(held)
            if highest > self._shared_to.get(device, (-1, -1)):
                self._shared_to[device] = highest
        if probe:
            for device, (boot, seq) in self._shared_to.items():
                if device not in self._held:
                    work.shared.append((device, boot, seq))
        self._held = {}
        return work

    def restore(self, work: Round) -> None:
        """Put back the keys of a round that did not reach the database (they come round
        again; the devices replay meanwhile if it lasts)."""
        for device, keys in work.taken.items():
            self.add((device, boot, seq) for boot, seq in keys)

    def held(self) -> int:
        """Committed keys waiting for the next round."""
        return sum(map(len, self._held.values()))

    def advanced(self, local: dict[str, Mark]) -> None:
        """The round's local watermarks are stored (or the database's were already higher)."""
        for device, mark in local.items():
            if mark > self.marks.get(device, (-1, -1)):
                self.marks[device] = mark

    def waiting(self) -> int:
        """Devices whose watermark waits on the database."""
        return len(self._shared_to)


def _run_top(mark: Mark, held: set[Mark]) -> Mark | None:
    """The top of the unbroken run ``mark``+1, +2, … when it takes in every key of ``held``
    that the watermark does not cover already; else None (a key beyond a gap)."""
    boot, seq = mark
    above = [key for key in held if key > mark]
    if not above:
        return mark  # nothing new
    top = seq + len(above)
    # Every key is in the mark's boot, distinct and above it: exactly seq+1 … top when the
    # highest is top, so no loop over the run.
    if all(b == boot for b, _ in above) and max(above)[1] == top:
        return boot, top
    return None
