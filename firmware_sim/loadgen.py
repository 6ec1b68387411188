"""Telemetry for load tests: real simulated walker frames, re-stamped cheaply per message.

Building every message from scratch (synthesis, rounding, JSON) costs more CPU than ingest spends
storing it, and on a shared two-core machine that would measure the simulator, not ingest. So a
load generator synthesises a minute of walking once, keeps each frame's sample arrays as encoded
JSON, and per message writes only the header and the frame times. The payloads are byte-for-byte
valid protocol messages (the tests check them against the schema).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np

from firmware_sim import protocol as p
from firmware_sim.device import SimDevice
from firmware_sim.world.signals import synthesize_bout

FRAMES_PER_MESSAGE = 5
FRAME_S = 1.0


class TelemetryLoad:
    """Walker uploads of ``FRAMES_PER_MESSAGE`` one-second frames at 50 Hz."""

    def __init__(self, seed: int = 0, walk_s: float = 60.0) -> None:
        device = SimDevice("W-load", "walker", np.random.default_rng(seed))
        bout = synthesize_bout(0.6, walk_s, seed=seed)
        self._bodies: list[bytes] = []
        for upload in device.telemetry(bout.signals):
            doc = json.loads(upload.publication.payload)
            for frame in doc["frames"]:
                if len(frame["acc_x"]) != 50:
                    continue  # the bout's last, partial frame
                del frame["t0"]
                body = json.dumps(frame, separators=(",", ":")).encode()
                self._bodies.append(body[1:])  # without the opening brace
        self.samples_per_frame = 50

    def message(self, device_id: str, boot: int, seq: int, sent_at: datetime) -> bytes:
        """A telemetry message whose last frame ends at ``sent_at``."""
        n = len(self._bodies)
        frames = []
        for i in range(FRAMES_PER_MESSAGE):
            t0 = sent_at - timedelta(seconds=FRAME_S * (FRAMES_PER_MESSAGE - i))
            body = self._bodies[(seq * FRAMES_PER_MESSAGE + i) % n]
            frames.append(b'{"t0":"' + p.format_timestamp(t0).encode() + b'",' + body)
        header = (
            f'{{"v":1,"type":"walker.telemetry","device_id":"{device_id}","boot":{boot},'
            f'"seq":{seq},"sent_at":"{p.format_timestamp(sent_at)}","frames":['
        )
        return header.encode() + b",".join(frames) + b"]}"
