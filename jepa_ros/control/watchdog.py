# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Hold reasons in logs: a hold whose ages tick up is one kind of hold (see MPCRuntime)."""

import re

_NUMBER = re.compile(r'\d+(\.\d+)?')


def hold_reason_kind(reason: str) -> str:
    """Return ``reason`` with its numbers masked: a hold whose ages tick up is one kind (logs)."""
    return _NUMBER.sub('#', reason)
