# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""One short closed-loop evaluation end to end with a tiny random model (64 px, few samples)."""

import argparse
import json

from jepa_ros.eval import cli
from jepa_ros.eval.models import (load_world_model_or_fallback, LoadedModel,
                                  random_world_model, save_random_model, untrained_like)
from jepa_ros.eval.report import save_episode_video, save_summary_png, write_results
from jepa_ros.eval.runner import EvalConfig, run_eval
from jepa_ros.planning import PlannerConfig
from jepa_ros.sim import SimArm, SimConfig
from jepa_ros.utils.config import ConfigError
import numpy as np
import pytest
import torch

torch.set_num_threads(1)
FAST = {'samples': 8, 'topk': 2, 'iterations': 1, 'horizon': 1}


@pytest.fixture(scope='module')
def tiny():
    wm = random_world_model('tiny', 64, seed=0)
    return LoadedModel(wm, 64, 'tiny random (test)', trained=False, checkpoint='')


def test_short_episode_end_to_end(tiny, tmp_path):
    cfg = EvalConfig(tasks=('reach', 'pick_place'), episodes=1, steps=2, camera_size=64,
                     baselines=('random', 'untrained'), videos=1)
    with SimArm(SimConfig(image_size=64)) as sim:
        res = run_eval(cfg, PlannerConfig(**FAST), tiny, sim, progress=False)
    assert res['methods'] == ['planner', 'random', 'untrained']
    for task in ('reach', 'pick_place'):
        for method in res['methods']:
            s = res['tasks'][task][method]
            assert s['episodes'] == 1 and 0.0 <= s['success_rate'] <= 1.0
            rec = s['records'][0]
            assert rec['steps'] == len(rec['distances_m']) - 1 <= 2
            assert all(np.isfinite(rec['distances_m']))
            if method == 'random':
                assert rec['plan_ms'] == []
            else:
                assert len(rec['plan_ms']) == rec['steps'] and min(rec['plan_ms']) > 0
    assert res['tasks']['pick_place']['planner']['records'][0]['goal_index'][0] == 0
    assert np.isfinite(res['plan_ms_mean']) and res['plan_ms_p95'] >= res['plan_ms_mean'] * 0.5
    # the untrained twin and the model under test plan differently on the same episode
    p = res['tasks']['reach']['planner']['records'][0]['distances_m']
    u = res['tasks']['reach']['untrained']['records'][0]['distances_m']
    assert p[0] == u[0]
    video = res['_video']
    assert len(video) == 2 and len(video[0]['frames']) == video[0]['steps'] + 1
    write_results(tmp_path / 'results.json', res)
    data = json.loads((tmp_path / 'results.json').read_text())
    assert '_video' not in data and 'success_rate' in data
    assert (save_summary_png(tmp_path / 's.png', res)).stat().st_size > 1000
    assert (save_episode_video(tmp_path / 'e.gif', video)).stat().st_size > 1000


def test_untrained_twin_has_the_same_shape_and_other_weights(tiny):
    twin = untrained_like(tiny.world_model, seed=3)
    assert twin.encoder.config == tiny.world_model.encoder.config
    assert twin.predictor.config == tiny.world_model.predictor.config
    assert twin.image_size == 64
    a = dict(tiny.world_model.predictor.named_parameters())
    b = dict(twin.predictor.named_parameters())
    assert a.keys() == b.keys()
    assert any(not torch.equal(a[k], b[k]) for k in a)


def _parse(*argv):
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    return p.parse_args(list(argv))


def test_cli_options_map_to_configs():
    cfg, pc = cli.config_from_args(_parse('--task', 'all', '--episodes', '3', '--seed', '4',
                                          '--baselines', 'none', '--samples', '16'))
    assert cfg.tasks == ('reach', 'push', 'pick_place') and cfg.baselines == ()
    # cpu profile < the shipped model's recommendation (horizon 3, L2) < the options given
    assert pc.samples == 16 and pc.seed == 4 and pc.topk == 8
    assert pc.horizon == 3 and pc.energy == 'l2'
    assert pc.workspace_max == SimConfig().workspace_high            # the sim's box
    _, pc = cli.config_from_args(_parse('--horizon', '2', '--energy', 'l1'))
    assert pc.horizon == 2 and pc.energy == 'l1'
    _, pc = cli.config_from_args(_parse('--checkpoint', 'vjepa2ac_rand2000'))
    assert pc.horizon == 1 and pc.energy == 'l1'                     # no recommendation
    with pytest.raises(ConfigError, match='unknown task'):
        cli.config_from_args(_parse('--task', 'stack'))
    with pytest.raises(ConfigError, match='unknown baseline'):
        cli.config_from_args(_parse('--baselines', 'magic'))


def test_missing_default_falls_back_to_a_labelled_random_model(tmp_path, monkeypatch):
    import jepa_ros.models.checkpoint as ckpt
    monkeypatch.setattr(ckpt, 'ASSETS_DIR', tmp_path / 'no_models')
    monkeypatch.chdir(tmp_path)
    warnings = []
    loaded = load_world_model_or_fallback('default', warn=warnings.append)
    assert not loaded.trained and 'random-weight' in loaded.description
    assert len(warnings) == 1 and 'RANDOM-WEIGHT' in warnings[0]
    with pytest.raises(ConfigError, match='no shipped model'):
        load_world_model_or_fallback('default', allow_fallback=False)


def test_cli_run_writes_the_artefacts(tmp_path, capsys):
    out = tmp_path / 'eval'
    model = save_random_model(tmp_path / 'rand', seed=1)
    args = _parse('--task', 'push', '--episodes', '1', '--steps', '1', '--out', str(out),
                  '--checkpoint', str(model),
                  '--camera-size', '64', '--samples', '8', '--topk', '2', '--iterations', '1',
                  '--quiet', '--videos', '1')
    assert cli.run(args) == 0
    data = json.loads((out / 'results.json').read_text())
    assert set(data['tasks']['push']) == {'planner', 'random', 'untrained'}
    assert data['config']['planner']['samples'] == 8
    assert data['config']['torch_threads'] == 1
    assert len(data['tasks']['push']['planner']['records'][0]['final_cube_m']) == 3
    assert (out / 'summary.png').is_file() and (out / 'episodes.gif').is_file()
    printed = capsys.readouterr().out
    assert 'push' in printed and 'RANDOM-WEIGHT' in printed
    assert cli.run(_parse('--checkpoint', str(tmp_path / 'missing'), '--out', str(out))) == 2
