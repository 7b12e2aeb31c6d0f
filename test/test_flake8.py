# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""ament_flake8 over the package, as in the ``ros2 pkg create`` template."""

from ament_flake8.main import main_with_errors
from conftest import PROJECT_ROOT
import pytest


@pytest.mark.flake8
@pytest.mark.linter
def test_flake8():
    paths = [str(PROJECT_ROOT / p) for p in ('jepa_ros', 'test', 'launch', 'scripts', 'setup.py')
             if (PROJECT_ROOT / p).exists()]
    rc, errors = main_with_errors(argv=paths)
    assert rc == 0, 'Found %d code style errors / warnings:\n' % len(errors) + '\n'.join(errors)
