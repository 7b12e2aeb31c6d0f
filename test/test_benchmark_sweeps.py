# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The planner-settings sweep and the reach line-energy benchmark: their pure parts."""

import argparse
import importlib.util
import json

from jepa_ros.eval.cli import add_arguments, config_from_args
import pytest


def _load_script(project_root, name):
    spec = importlib.util.spec_from_file_location(name, project_root / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_basin_radius_ends_at_the_first_rise_seen_from_the_goal(project_root):
    basin_radius = _load_script(project_root, 'reach_line_energy').basin_radius
    dist = [0.2, 0.15, 0.1, 0.05, 0.0]
    assert basin_radius(dist, [1.0, 0.8, 0.5, 0.2, 0.0]) == 0.2        # falls all the way
    assert basin_radius(dist, [1.0, 1.2, 0.5, 0.2, 0.0]) == 0.15       # a ridge at 15 cm
    assert basin_radius(dist, [1.0, 0.8, 0.5, 0.6, 0.0]) == 0.05       # a ridge near the goal
    assert basin_radius(dist, [1.0, 0.8, 0.5, 0.2, 0.3]) == 0.0        # the goal is no minimum


def test_every_sweep_setting_is_a_valid_eval_command_line(project_root):
    sweep = _load_script(project_root, 'planner_sweep')
    seen = set()
    for name, args in sweep.SETTINGS.items():
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        config_from_args(parser.parse_args(args))   # raises on a bad option or value
        key = tuple(args)
        assert key not in seen, f'{name} repeats another setting'
        seen.add(key)
        if name == 'base':
            assert args == []


def test_sweep_table_groups_tuning_and_held_out_seeds(project_root, tmp_path):
    sweep = _load_script(project_root, 'planner_sweep')
    for setting, task, seed, k in (('base', 'push', 300, 12), ('base', 'push', 400, 9),
                                   ('base', 'push', 7000, 11), ('enone', 'push', 300, 14)):
        folder = tmp_path / setting / f'{task}_{seed}'
        folder.mkdir(parents=True)
        planner = {'horizon': 3, 'seed': seed,
                   'energy_weighting': 'none' if setting == 'enone' else 'changed'}
        (folder / 'results.json').write_text(json.dumps({
            'tasks': {task: {'planner': {'episodes': 20, 'successes': k,
                                         'final_distance_m_mean': 0.05, 'plan_ms_mean': 40.0}}},
            'config': {'planner': planner, 'eval': {'checkpoint': 'default', 'dtype': 'int8',
                                                    'variation': 'none'}}}))
    totals = sweep.totals(sweep.read_runs(tmp_path))
    assert totals['base']['push']['tuning'][:2] == [21, 40]
    assert totals['base']['push']['held_out'] == [11, 20, [7000]]
    assert totals['enone']['push'] == {'tuning': [14, 20, [300]]}
    out = tmp_path / 'sweep.json'
    sweep.main(['table', '--out', str(tmp_path), '--json', str(out)])
    data = json.loads(out.read_text())
    assert data['base_planner']['energy_weighting'] == 'changed'
    diffs = {(r['setting'], r['seed']): r['planner_vs_base'] for r in data['runs']}
    assert diffs[('enone', 300)] == {'energy_weighting': 'none'}
    assert data['reference_setting'] == 'base'
    assert all(r['dtype'] == 'int8' and r['checkpoint'] == 'default' for r in data['runs'])
    with pytest.raises(SystemExit):
        sweep.main(['run', '--task', 'push', '--seeds', '1', '--settings', 'nope',
                    '--out', str(tmp_path)])
