# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
OGBench end to end, small: collect 2 play episodes, train a few steps, plan one step of a task.

Skips (naming the install) without the optional ogbench package; CI installs it.
"""

import json

import numpy as np
import pytest

pytest.importorskip('ogbench', reason='optional package ogbench (pip install ogbench==1.2.2)')

ENV = 'ogbench:visual-cube-single-v0'


def test_collect_train_and_plan_one_step(tmp_path):
    from jepa_ros.data import list_episodes
    from jepa_ros.data.episode import read_episode
    from jepa_ros.envs import make_env
    from jepa_ros.envs.collect import collect_env
    from jepa_ros.planning import make_planner
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    from jepa_ros.planning.config import PlannerConfig
    from jepa_ros.training.train_wm import train, TrainWMConfig
    data = tmp_path / 'play'
    s = collect_env(ENV, str(data), episodes=2, steps=8, seed=5, image_size=32,
                    progress=False)
    assert s['action_dim'] == 5 and s['state_dim'] == 19
    ep = read_episode(list_episodes(data)[0])
    assert ep.frames.shape == (8, 32, 32, 3) and ep.actions.shape == (7, 5)
    assert ep.metadata['action_space']['names'] == ['dx', 'dy', 'dz', 'dyaw', 'dgrip']
    cfg = TrainWMConfig(data=str(data), out=str(tmp_path / 'wm'), image_size=32, enc_dim=32,
                        enc_depth=1, enc_heads=2, latent_dim=16, pred_dim=32, pred_depth=1,
                        pred_heads=2, history=2, rollout_steps=1, batch_size=4, steps=3,
                        log_every=1, eval_every=3, checkpoint_every=3, warmup_steps=1,
                        sigreg_projections=16, val_fraction=0.0, device='cpu', threads=1)
    train(cfg, log=lambda *_: None)
    model = tmp_path / 'wm' / 'model'
    extra = json.loads((model / 'config.json').read_text())['extra']
    assert extra['env'] == ENV and len(extra['action_space']['low']) == 5
    wm = CompactWorldModel.from_checkpoint(str(model))
    planner = make_planner(wm, PlannerConfig(horizon=2, samples=16, topk=4, iterations=1))
    env = make_env(ENV, image_size=32)
    try:
        obs, goal = env.reset(seed=0, task_id=1)
        plan = planner.plan(obs.frames[0], None, goal[0])
        assert plan.ok and plan.first_action.shape == (5,)
        assert np.all(np.abs(plan.first_action) <= 1.0)
        step = env.step(plan.first_action)
        assert isinstance(step.success, bool)
        # stable-worldmodel's kind of episode: a goal 3 play steps ahead, 2 steps of budget
        from jepa_ros.eval.env_eval import run_env_eval
        res = run_env_eval(env, planner, [1], episodes=1, steps=2, goal_offset=3, videos=1,
                           progress=False)
        assert list(res['tasks']) == ['offset3'] and res['goal_offset'] == 3
        rec = res['tasks']['offset3']['planner']['records'][0]
        assert rec['steps'] <= 2 and rec['offset'] == 3 and 'actions' not in rec
        assert res['overall']['random']['moved']['episodes'] in (0, 1)
        assert res['_video'][0]['goal'].shape == (32, 32, 3)
    finally:
        env.close()


@pytest.mark.parametrize('name', ['visual-cube-double-v0', 'visual-scene-v0',
                                  'visual-puzzle-3x3-v0'])
def test_the_same_commands_work_on_the_other_manipulation_envs(tmp_path, name):
    from jepa_ros.cli import main
    from jepa_ros.data import list_episodes
    from jepa_ros.data.episode import read_episode
    from jepa_ros.envs import make_env
    out = tmp_path / 'play'
    assert main(['collect', '--env', f'ogbench:{name}', '--episodes', '1', '--steps', '4',
                 '--save-size', '32', '--out', str(out)]) == 0
    ep = read_episode(list_episodes(out)[0])
    assert ep.actions.shape == (3, 5) and ep.metadata['env'] == f'ogbench:{name}'
    env = make_env(f'ogbench:{name}', image_size=32)
    try:
        assert env.spec.num_tasks == 5
        obs, goal = env.reset(seed=1, task_id=5)
        assert goal[0].shape == (32, 32, 3) and not env.step(np.zeros(5)).success
    finally:
        env.close()
