# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
License headers: every source file names the license the package declares.

ament_copyright has no PyPI wheel; this check does its job for our one license: each Python and
shell file carries an SPDX identifier matching package.xml and a copyright line near the top.
"""

import re
import xml.etree.ElementTree as ET

from conftest import PROJECT_ROOT
import pytest

SOURCE_GLOBS = ('jepa_ros/**/*.py', 'test/**/*.py', 'launch/*.py', 'scripts/*', 'setup.py')


def _declared_license():
    return ET.parse(PROJECT_ROOT / 'package.xml').getroot().findtext('license').strip()


def _source_files():
    files = set()
    for pattern in SOURCE_GLOBS:
        files.update(p for p in PROJECT_ROOT.glob(pattern) if p.is_file())
    return sorted(files)


def header_problems(text, license_id):
    """Return what is wrong with a file's header (empty list when it is fine)."""
    head = '\n'.join(text.splitlines()[:6])
    problems = []
    if f'SPDX-License-Identifier: {license_id}' not in head:
        problems.append(f'no "SPDX-License-Identifier: {license_id}" in the first lines')
    if not re.search(r'Copyright \d{4}', head):
        problems.append('no "Copyright YYYY" line in the first lines')
    return problems


@pytest.mark.copyright
@pytest.mark.linter
def test_copyright():
    license_id = _declared_license()
    bad = {}
    for path in _source_files():
        if path.suffix in ('.py', '.sh', '') and path.stat().st_size:
            problems = header_problems(path.read_text(errors='replace'), license_id)
            if problems:
                bad[str(path.relative_to(PROJECT_ROOT))] = problems
    assert not bad, f'license header problems: {bad}'


def test_header_check_catches_a_missing_header():
    assert header_problems('"""No header."""\n', 'Apache-2.0')
    assert not header_problems(
        '# SPDX-License-Identifier: Apache-2.0\n# Copyright 2026 x\n', 'Apache-2.0')
