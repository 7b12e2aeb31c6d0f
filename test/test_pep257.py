# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""ament_pep257 over the package, as in the ``ros2 pkg create`` template."""

from ament_pep257.main import main
from conftest import PROJECT_ROOT
import pytest


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    rc = main(argv=[str(PROJECT_ROOT / 'jepa_ros'), str(PROJECT_ROOT / 'test')])
    assert rc == 0, 'Found code style errors / warnings'
