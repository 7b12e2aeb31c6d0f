# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The newest message of high-rate topics, taken when needed instead of by a callback per message.

``joint_states`` at 1 kHz and ``ee_pose`` at 100 Hz gave the executor 1100 callbacks a second.
Each was short, but each took the GIL from the planning thread (a compact model's plan is
thousands of small torch calls, each re-taking the GIL), and plans in the node ran ~1.5x
eval's. Here these subscriptions live on a helper node that no executor spins: DDS keeps the
newest sample (KEEP_LAST 1) in its own threads, and the planning loop or the watchdog takes it,
serialized, right before it reads the inputs. No Python runs per message.
"""

import time
from typing import Dict, Optional, Tuple

import rclpy


class LatestStateReader:
    """Subscriptions that no executor spins; ``take(kind)`` returns the newest raw message."""

    def __init__(self, node, topics: Dict[str, Tuple[type, str]], qos):
        """Subscribe to ``topics`` {kind: (msg type, name as ``node`` would resolve it)}."""
        # The names are resolved (namespace and remaps) by the main node; the helper node takes
        # no global arguments so a remap is not applied twice.
        self.node = rclpy.create_node(
            f'{node.get_name()}_state_reader', namespace=node.get_namespace(),
            context=node.context, use_global_arguments=False,
            start_parameter_services=False, enable_rosout=False)
        self.subs = {}
        for kind, (cls, topic) in topics.items():
            self.subs[kind] = self.node.create_subscription(
                cls, node.resolve_topic_name(topic), lambda _msg: None, qos, raw=True)

    def topic(self, kind: str) -> str:
        """Return the resolved topic of ``kind``."""
        return self.subs[kind].topic_name

    def take(self, kind: str) -> Optional[Tuple[bytes, float]]:
        """
        Return (serialized newest message, receipt time on ``time.monotonic``) or None.

        Everything older waiting in the reader is discarded; the receipt time comes from the
        middleware's receive stamp (system clock), moved onto the monotonic clock.
        """
        sub = self.subs[kind]
        latest = None
        with sub.handle:
            while True:
                got = sub.handle.take_message(sub.msg_type, sub.raw)
                if got is None:
                    break
                latest = got
        if latest is None:
            return None
        data, info = latest
        received = info.get('received_timestamp') if isinstance(info, dict) else None
        now_mono = time.monotonic()
        if not received:
            return data, now_mono
        age = max(0.0, time.time() - 1e-9 * float(received))
        return data, now_mono - age

    def destroy(self):
        """Destroy the helper node and its subscriptions."""
        if self.node is not None:
            self.node.destroy_node()
            self.node = None
