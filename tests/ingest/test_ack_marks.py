"""Ack watermarks: advanced in memory where one worker has the run, by the database elsewhere."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from psycopg.rows import TupleRow

from ingest.ack_marks import Key, Mark, Watermarks
from ingest.acks import AckPublisher, advance, raise_marks, stored_marks


def keys(device: str, boot: int, seqs: range | list[int]) -> list[Key]:
    return [(device, boot, s) for s in seqs]


def test_an_unbroken_run_from_a_known_watermark_is_advanced_in_memory() -> None:
    marks = Watermarks()
    marks.learn({"W-1": (1, 10)})
    marks.add(keys("W-1", 1, [13, 11, 12]))  # any order within the round
    work = marks.take()
    assert work.local == {"W-1": (1, 13)} and work.shared == []
    marks.advanced(work.local)
    assert marks.marks["W-1"] == (1, 13)
    marks.add(keys("W-1", 1, [12, 13]))  # replays of covered keys: nothing to do
    assert marks.held() == 0


def test_a_gap_an_unknown_device_or_a_new_boot_goes_to_the_database() -> None:
    marks = Watermarks()
    marks.learn({"W-1": (1, 10), "W-3": (1, 5)})
    marks.add([*keys("W-1", 1, [11, 13]), *keys("W-2", 1, [1, 2]), *keys("W-3", 2, [1])])
    work = marks.take()
    assert work.local == {}
    assert sorted(work.shared) == sorted(
        [("W-1", 1, 11), ("W-1", 1, 13), ("W-2", 1, 1), ("W-2", 1, 2), ("W-3", 2, 1)]
    )
    # Until the database's watermark covers what was handed to it, the device's keys go there
    # too, even an unbroken continuation (the database holds the run's other keys) …
    marks.learn({"W-1": (1, 11)})
    marks.add(keys("W-1", 1, [12]))
    work = marks.take()
    assert work.local == {} and ("W-1", 1, 12) in work.shared
    # … and with nothing new, the highest shared key again, so the database looks once more.
    assert ("W-1", 1, 13) in marks.take().shared
    marks.learn({"W-1": (1, 13), "W-2": (1, 2), "W-3": (2, 1)})
    assert marks.waiting() == 0
    marks.add(keys("W-1", 1, [14]))
    assert marks.take().local == {"W-1": (1, 14)}


def test_a_failed_round_puts_its_keys_back() -> None:
    marks = Watermarks()
    marks.learn({"W-1": (1, 0)})
    marks.add(keys("W-1", 1, range(1, 6)))
    work = marks.take()
    assert marks.held() == 0
    marks.restore(work)
    assert marks.take().local == {"W-1": (1, 5)}


def test_a_watermark_is_never_lowered() -> None:
    marks = Watermarks()
    marks.learn({"W-1": (2, 3)})
    marks.learn({"W-1": (1, 99)})
    marks.advanced({"W-1": (2, 1)})
    assert marks.marks["W-1"] == (2, 3)


@pytest.mark.integration
def test_two_workers_interleaved_reach_the_same_watermark_as_one(
    conn: psycopg.Connection[TupleRow],
) -> None:
    """Two workers' rounds over the keys of a shared subscription (shuffled between them, a
    lost message, a second boot): every published watermark covers only committed keys, and
    at the end each device's is where the database alone puts it."""
    rng = random.Random(7)
    gap = timedelta(minutes=5)
    committed: dict[str, set[Mark]] = {}
    workers = [Watermarks(), Watermarks()]
    published: list[Key] = []
    local_rounds = 0
    devices = [f"W-{i}" for i in range(6)]
    lost = ("W-3", 1, 40)
    stream = [(d, 1, s) for s in range(1, 61) for d in devices if (d, 1, s) != lost]
    stream += [("W-5", 2, s) for s in range(1, 11)]  # W-5 rebooted
    rounds = [stream[i : i + 37] for i in range(0, len(stream), 37)] + [[]] * 3
    for part in rounds:
        shares: list[list[Key]] = [[], []]
        for key in part:  # the broker gives each message to one worker of the group
            committed.setdefault(key[0], set()).add(key[1:])
            shares[rng.randrange(2)].append(key)
        for worker, mine in zip(workers, shares, strict=True):
            worker.add(mine)
            unknown = worker.unknown()
            if unknown:
                worker.learn(stored_marks(conn, unknown))
            work = worker.take()
            local_rounds += len(work.local)
            raised = raise_marks(conn, work.local)
            worker.advanced(work.local)
            returned = advance(conn, work.shared, gap)
            worker.learn({d: (b, s) for d, b, s in returned})
            published += raised + returned
    assert local_rounds > 0  # both ways were taken
    for device, boot, seq in published:  # never beyond a key that is not committed
        assert all((boot, s) in committed[device] for s in range(1, seq + 1)), (device, seq)
    final = stored_marks(conn, devices)
    assert final["W-3"] == (1, 39)  # held at the lost message (stepped over after 5 minutes)
    assert final["W-5"] == (1, 60)  # the new boot waits as a gap, as documented
    assert all(final[d] == (1, 60) for d in devices if d not in ("W-3", "W-5"))


class _Client:
    """Stands in for paho's client: records what would be published."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> Any:
        assert qos == 1 and retain
        self.sent.append((topic, payload))
        return mqtt.MQTTMessageInfo(len(self.sent))


@pytest.mark.integration
def test_the_publisher_publishes_each_moved_watermark_once_a_round(
    conn: psycopg.Connection[TupleRow], schema: Any
) -> None:
    client = _Client()
    publisher = AckPublisher(client, schema.connect, interval_s=0.05)  # type: ignore[arg-type]
    publisher.start()
    try:
        for seq in range(1, 201):  # 200 commits of one device within a few rounds
            publisher.committed([("W-1", 1, seq)])
        publisher.committed([("W-2", 1, 1), ("W-2", 1, 3)])  # a gap: waits
    finally:
        publisher.stop()
    w1 = [p for t, p in client.sent if t == "stayactive/v1/W-1/ack"]
    assert 1 <= len(w1) <= 5 and b'"seq":200' in w1[-1]
    assert [p for t, p in client.sent if t == "stayactive/v1/W-2/ack"][-1].count(b'"seq":1,') == 1
    assert stored_marks(conn, ["W-1", "W-2"]) == {"W-1": (1, 200), "W-2": (1, 1)}
