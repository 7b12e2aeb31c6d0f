# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Launch files, tested without launch_ros where it is not installable.

Every launch file must parse, define generate_launch_description(), start only executables that
setup.py declares (or known external ones such as rviz2), and name only config files that exist.
Where launch_ros is importable the description is also built for real.
"""

import ast
import importlib.util
import re

from conftest import PROJECT_ROOT
import pytest

LAUNCH_FILES = sorted((PROJECT_ROOT / 'launch').glob('*.launch.py'))
EXTERNAL_EXECUTABLES = {('rviz2', 'rviz2')}


def declared_executables():
    """Return the console_scripts names that setup.py installs."""
    tree = ast.parse((PROJECT_ROOT / 'setup.py').read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'NODES':
            return set(ast.literal_eval(node.value))
    raise AssertionError('setup.py has no NODES dict')


def node_calls(tree):
    """Yield (package, executable) of every Node(...) call with literal arguments."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', '') == 'Node':
            kw = {k.arg: k.value for k in node.keywords}
            pkg = kw.get('package')
            exe = kw.get('executable')
            assert isinstance(pkg, ast.Constant) and isinstance(exe, ast.Constant), \
                'Node(package=..., executable=...) must be literals so they can be checked'
            yield pkg.value, exe.value


def referenced_share_files(source):
    """Return the config file names that a launch file joins under the package share."""
    return set(re.findall(r"'config',\s*'([^']+)'", source))


def test_there_are_launch_files():
    names = {p.name for p in LAUNCH_FILES}
    assert {'sim_demo.launch.py', 'planner.launch.py'} <= names


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_is_consistent(path):
    source = path.read_text()
    tree = ast.parse(source)
    funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert 'generate_launch_description' in funcs
    executables = declared_executables()
    calls = list(node_calls(tree))
    assert calls, f'{path.name} starts no node'
    for package, executable in calls:
        if package == 'jepa_ros':
            assert executable in executables, \
                f'{path.name} starts {executable!r}, not declared in setup.py NODES'
        else:
            assert (package, executable) in EXTERNAL_EXECUTABLES, (package, executable)
    for name in referenced_share_files(source):
        assert (PROJECT_ROOT / 'config' / name).is_file(), \
            f'{path.name} names missing config/{name}'


def test_config_reference_check_sees_names():
    src = "PathJoinSubstitution([share, 'config', 'planner.yaml'])"
    assert referenced_share_files(src) == {'planner.yaml'}


@pytest.mark.skipif(importlib.util.find_spec('launch_ros') is None,
                    reason='launch_ros is not installable from PyPI; checked statically above')
@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_description_builds(path):
    spec = importlib.util.spec_from_file_location(path.stem.replace('.', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert description.entities
