# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Topics read when needed instead of by a callback per message: states and camera frames.

``joint_states`` at 1 kHz and ``ee_pose`` at 100 Hz gave the executor 1100 callbacks a second,
and two 30 Hz cameras another 60. Each was short, but each woke rclpy's executor (a wait set
rebuilt in Python) and took the GIL from the planning thread (a compact model's plan is
thousands of small torch calls, each re-taking the GIL). Here these subscriptions live on a
helper node that no executor spins: DDS keeps the newest samples (KEEP_LAST) in its own threads,
and the planning loop or the watchdog takes them, serialized, right before it reads the inputs.
No Python runs per message, and a frame is decoded only when the loop is about to use it.
"""

import time
from typing import Dict, List, Optional, Tuple

import rclpy


class PolledTopics:
    """Subscriptions that no executor spins; ``take`` / ``take_recent`` return raw messages."""

    def __init__(self, node, topics: Dict[str, Tuple[type, str, object]]):
        """Subscribe to ``topics`` {kind: (msg type, name as ``node`` resolves it, QoS)}."""
        # The names are resolved (namespace and remaps) by the main node; the helper node takes
        # no global arguments so a remap is not applied twice.
        self.node = rclpy.create_node(
            f'{node.get_name()}_polled', namespace=node.get_namespace(),
            context=node.context, use_global_arguments=False,
            start_parameter_services=False, enable_rosout=False)
        self.subs = {}
        for kind, (cls, topic, qos) in topics.items():
            self.subs[kind] = self.node.create_subscription(
                cls, node.resolve_topic_name(topic), lambda _msg: None, qos, raw=True)

    def topic(self, kind: str) -> str:
        """Return the resolved topic of ``kind``."""
        return self.subs[kind].topic_name

    def take(self, kind: str) -> Optional[Tuple[bytes, float]]:
        """Return (serialized newest message, receipt time on ``time.monotonic``) or None."""
        got = self.take_recent(kind, 1)
        return got[-1] if got else None

    def take_recent(self, kind: str, n: int) -> List[Tuple[bytes, float]]:
        """
        Return up to ``n`` newest (serialized message, monotonic receipt time), oldest first.

        Everything older waiting in the reader is discarded; the receipt time comes from the
        middleware's receive stamp (system clock), moved onto the monotonic clock.
        """
        sub = self.subs[kind]
        taken = []
        with sub.handle:
            while True:
                got = sub.handle.take_message(sub.msg_type, sub.raw)
                if got is None:
                    break
                taken.append(got)
        if not taken:
            return []
        now_mono, now_wall = time.monotonic(), time.time()
        out = []
        for data, info in taken[-max(1, int(n)):]:
            received = info.get('received_timestamp') if isinstance(info, dict) else None
            age = max(0.0, now_wall - 1e-9 * float(received)) if received else 0.0
            out.append((data, now_mono - age))
        return out

    def destroy(self):
        """Destroy the helper node and its subscriptions."""
        if self.node is not None:
            self.node.destroy_node()
            self.node = None
