# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
The environment adapter on a tiny gymnasium env written here, with 2-D and 5-D actions.

A point moves in the unit square (the first two action dims, 0.08 per step at most; further
dims tint the background), drawn as a bright square on a 64 px image; two evaluation tasks
with goal images in ``info``; success when the point is within 0.12 of the goal.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

gymnasium = pytest.importorskip('gymnasium', reason='the env adapter needs gymnasium')

GOALS = {1: (0.25, 0.25), 2: (0.75, 0.7)}


class PointEnv(gymnasium.Env):
    """A point in the unit square, seen from above."""

    metadata = {'render_fps': 10, 'render_modes': []}
    num_tasks = 2

    def __init__(self, action_dim=2, obs='dict', discrete=False):
        self.action_dim = action_dim
        self.obs_kind = obs
        if discrete:
            self.action_space = gymnasium.spaces.Discrete(4)
        else:
            self.action_space = gymnasium.spaces.Box(-1.0, 1.0, (action_dim,), np.float32)
        img = gymnasium.spaces.Box(0, 255, (64, 64, 3), np.uint8)
        self.observation_space = img if obs == 'array' else gymnasium.spaces.Dict(
            {'pixels': img, 'agent_pos': gymnasium.spaces.Box(0.0, 1.0, (2,), np.float32)})
        if obs == 'state':
            self.observation_space = gymnasium.spaces.Box(0.0, 1.0, (2,), np.float32)
        self.pos = np.zeros(2, np.float32)
        self.tint = np.zeros(max(0, action_dim - 2))
        self.goal = None

    def _image(self, pos):
        img = np.full((64, 64, 3), 30, np.uint8)
        if self.tint.size:
            img[..., 2] = np.uint8(30 + 40 * np.tanh(self.tint[0]))
        c = np.clip((pos * 56).astype(int) + 4, 4, 59)
        img[c[1] - 4:c[1] + 4, c[0] - 4:c[0] + 4] = 255
        return img

    def _obs(self):
        if self.obs_kind == 'state':
            return self.pos.astype(np.float32)
        img = self._image(self.pos)
        return img if self.obs_kind == 'array' else {'pixels': img,
                                                     'agent_pos': self.pos.astype(np.float32)}

    def _info(self):
        ok = self.goal is not None and float(np.linalg.norm(self.pos - self.goal)) < 0.12
        return {'success': ok}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(0.1, 0.9, 2).astype(np.float32)
        self.tint = np.zeros(max(0, self.action_dim - 2))
        self.goal = None
        info = {}
        if options and options.get('task_id'):
            self.goal = np.asarray(GOALS[int(options['task_id'])])
            self.pos = (np.array([0.5, 0.5]) + self.np_random.uniform(-0.05, 0.05, 2)).astype(
                np.float32)
            info['goal_image'] = self._image(self.goal)
        info.update(self._info())
        return self._obs(), info

    def step(self, action):
        a = np.asarray(action, np.float64)
        self.pos = np.clip(self.pos + 0.08 * a[:2], 0.0, 1.0).astype(np.float32)
        if self.tint.size:
            self.tint = self.tint + 0.1 * a[2:]
        info = self._info()
        return self._obs(), 0.0, False, False, info


def _register():
    for dim in (2, 5):
        env_id = f'JepaRosPoint{dim}D-v0'
        if env_id not in gymnasium.registry:
            gymnasium.register(env_id, entry_point=PointEnv, max_episode_steps=40,
                               kwargs={'action_dim': dim})


_register()


def test_spec_comes_from_the_env_for_any_action_size():
    from jepa_ros.envs import make_env
    for dim in (2, 5):
        env = make_env(f'gym:JepaRosPoint{dim}D-v0', image_size=32)
        s = env.spec
        assert s.action_dim == dim and s.action_low == (-1.0,) * dim
        assert s.state_dim == 2 and s.num_tasks == 2 and s.max_episode_steps == 40
        obs, goal = env.reset(seed=3, task_id=2)
        assert goal[0].shape == (32, 32, 3) and obs.frames[0].dtype == np.uint8
        assert obs.state.shape == (2,) and obs.success is False
        step = env.step(np.full(dim, 5.0))          # clipped to the box by the adapter
        assert np.all(np.abs(step.state - obs.state) <= 0.08 + 1e-6)
        env.close()


def test_bad_environments_say_what_to_change():
    from jepa_ros.envs import EnvSetupError, make_env
    from jepa_ros.envs.gym_env import GymImageEnv
    with pytest.raises(EnvSetupError, match='Discrete.*continuous'):
        GymImageEnv(PointEnv(discrete=True))
    with pytest.raises(EnvSetupError, match='no RGB image.*AddRenderObservation'):
        GymImageEnv(PointEnv(obs='state'))
    with pytest.raises(EnvSetupError, match='unknown environment.*ogbench:'):
        make_env('mujoco:Ant-v5')
    with pytest.raises(EnvSetupError, match='gymnasium cannot make it'):
        make_env('gym:NoSuchEnvAnywhere-v0')


def test_missing_ogbench_names_the_install(monkeypatch):
    from jepa_ros.envs import make_env
    monkeypatch.setitem(sys.modules, 'ogbench', None)
    with pytest.raises(ImportError, match=r'pip install ogbench==1\.2\.2'):
        make_env('ogbench:visual-cube-single-v0')


def test_box_space_samples_clips_and_holds_inside_the_box():
    import torch
    from jepa_ros.planning.action_space import BoxSpace
    from jepa_ros.planning.config import PlannerConfig
    space = BoxSpace(PlannerConfig(), [-1, -2, 0], [1, 2, 0.5])
    a = torch.tensor([[[5.0, -5.0, 0.25]]])
    assert space.clip(a).tolist() == [[[1.0, -2.0, 0.25]]]
    assert space.hold(2).tolist() == [[0.0, 0.0, 0.25]] * 2
    safe, notes = space.finalize(np.array([[3.0, 0.0, 0.1]]), np.zeros(0))
    assert safe.tolist() == [[1.0, 0.0, 0.1]] and notes
    with pytest.raises(ValueError, match='NaN'):
        space.finalize(np.array([[np.nan, 0.0, 0.1]]), np.zeros(0))
    with pytest.raises(ValueError, match='finite'):
        BoxSpace(PlannerConfig(), [-np.inf], [1])
    assert space.roll(torch.zeros(0), torch.zeros(4, 3, 3)).shape == (4, 3, 0)


@pytest.fixture(scope='module')
def point_data(tmp_path_factory):
    from jepa_ros.envs.collect import collect_env
    out = {}
    for dim in (2, 5):
        root = tmp_path_factory.mktemp(f'point{dim}')
        s = collect_env(f'gym:JepaRosPoint{dim}D-v0', str(root), episodes=6, steps=10,
                        image_size=32, progress=False)
        assert s['episodes'] == 6 and s['action_dim'] == dim
        out[dim] = root
    return out


def test_collected_episodes_keep_the_env_sizes_and_box(point_data):
    from jepa_ros.data import list_episodes
    from jepa_ros.data.episode import read_episode
    for dim, root in point_data.items():
        ep = read_episode(list_episodes(root)[0])
        assert ep.actions.shape == (9, dim) and ep.states.shape == (10, 2)
        assert ep.metadata['action_space']['low'] == [-1.0] * dim
        assert ep.metadata['env'] == f'gym:JepaRosPoint{dim}D-v0'
        assert np.all(np.abs(ep.actions) <= 1.0)


def _train(data, out, stride=1):
    from jepa_ros.training.train_wm import train, TrainWMConfig
    cfg = TrainWMConfig(data=str(data), out=str(out), image_size=32, enc_dim=32, enc_depth=1,
                        enc_heads=2, latent_dim=16, pred_dim=32, pred_depth=1, pred_heads=2,
                        history=2, rollout_steps=1, batch_size=8, steps=6, log_every=3,
                        eval_every=3, checkpoint_every=3, warmup_steps=1,
                        sigreg_projections=16, val_fraction=0.2, val_clips=8, device='cpu',
                        threads=1, frame_stride=stride)
    train(cfg, log=lambda *_: None)
    return out / 'model'


@pytest.mark.parametrize('dim', [2, 5])
def test_train_and_plan_any_action_size(point_data, tmp_path, dim):
    from jepa_ros.planning import make_planner
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    from jepa_ros.planning.config import PlannerConfig
    model = _train(point_data[dim], tmp_path)
    extra = json.loads((model / 'config.json').read_text())['extra']
    assert extra['action_space']['low'] == [-1.0] * dim
    wm = CompactWorldModel.from_checkpoint(str(model))
    assert wm.config.action_dim == dim and wm.config.state_dim == 0
    planner = make_planner(wm, PlannerConfig(horizon=2, samples=16, topk=4, iterations=2))
    img = np.zeros((32, 32, 3), np.uint8)
    plan = planner.plan(img, None, img + 255)
    assert plan.ok and plan.first_action.shape == (dim,)
    assert np.all(np.abs(plan.actions) <= 1.0) and plan.actions.shape == (2, dim)


def test_mixed_action_spaces_are_refused(point_data, tmp_path):
    import shutil
    from jepa_ros.data import list_episodes
    from jepa_ros.data.episode import EpisodeError
    mixed = tmp_path / 'mixed'
    mixed.mkdir()
    for i, p in enumerate(list_episodes(point_data[2])[:3] + list_episodes(point_data[5])[:3]):
        shutil.copy(p, mixed / f'episode_{i:06d}.npz')
    with pytest.raises(EpisodeError, match='mix action spaces'):
        _train(mixed, tmp_path / 'out')


def test_eval_on_the_env_tasks_writes_results(point_data, tmp_path):
    model = _train(point_data[2], tmp_path / 'wm')
    out = tmp_path / 'eval'
    code = ('import sys; sys.path.insert(0, %r); import test_envs_adapter; '
            'from jepa_ros.cli import main; sys.exit(main())' % str(__import__('pathlib').Path(
                __file__).parent))
    r = subprocess.run([sys.executable, '-c', code, 'eval', '--env', 'gym:JepaRosPoint2D-v0',
                        '--checkpoint', str(model), '--episodes', '2', '--steps', '3',
                        '--samples', '16', '--topk', '4', '--iterations', '1', '--out',
                        str(out), '--quiet', '--videos', '1'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((out / 'results.json').read_text())
    assert set(res['tasks']) == {'task1', 'task2'}
    assert res['tasks']['task1']['planner']['episodes'] == 2
    assert res['overall']['random']['episodes'] == 4
    assert (out / 'summary.png').stat().st_size > 0 and (out / 'episodes.gif').exists()
    # the arm's model on this env is refused with what to do
    r = subprocess.run([sys.executable, '-c', code, 'eval', '--env', 'gym:JepaRosPoint2D-v0',
                        '--checkpoint', 'default', '--episodes', '1', '--out', str(out),
                        '--quiet'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'train one on its episodes' in r.stderr


def test_strided_model_plans_in_the_summed_box_and_runs_repeated_actions(point_data, tmp_path):
    from jepa_ros.envs import make_env
    from jepa_ros.eval.env_cli import check_model_fits
    from jepa_ros.eval.env_eval import run_env_episode
    from jepa_ros.planning import make_planner
    from jepa_ros.planning.compact_world_model import CompactWorldModel
    from jepa_ros.planning.config import PlannerConfig
    model = _train(point_data[2], tmp_path, stride=2)
    wm = CompactWorldModel.from_checkpoint(str(model))
    assert wm.action_repeat == 2 and wm.action_space['high'] == [2.0, 2.0]
    env = make_env('gym:JepaRosPoint2D-v0', image_size=32)
    check_model_fits(wm, env.spec)
    planner = make_planner(wm, PlannerConfig(horizon=1, samples=16, topk=4, iterations=1))
    rec = run_env_episode(env, planner, 1, seed=0, steps=5, action_repeat=2)
    assert rec['steps'] == 5 and len(rec['plan_ms']) == 3   # plans at env steps 0, 2, 4


def test_train_ac_refuses_env_episodes_with_what_to_use(point_data, tmp_path):
    from jepa_ros.training.train_ac import train, TrainACConfig
    from jepa_ros.utils.config import ConfigError
    cfg = TrainACConfig(data=str(point_data[2]), out=str(tmp_path), image_size=32, steps=2,
                        device='cpu', encoder='preset:tiny')
    with pytest.raises(ConfigError, match='use jepa-ros train-wm'):
        train(cfg, log=lambda *_: None)
