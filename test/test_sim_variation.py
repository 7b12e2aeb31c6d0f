# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Scene variation: nominal untouched, seeded draws, train/unseen disjoint, cube still reddest."""

from jepa_ros.eval.tasks import goal_images, make_episodes, place_scene, reset_to_start
from jepa_ros.eval.tasks import scene_seed
from jepa_ros.sim import SimArm, SimConfig
from jepa_ros.sim import variation as V
from jepa_ros.sim.geometry import quat_to_mat, rotation_error
from jepa_ros.utils.config import ConfigError
import numpy as np
import pytest

N_DRAWS = 400


@pytest.fixture(scope='module')
def sims():
    made = {r: SimArm(SimConfig(image_size=128, variation=r)) for r in V.VARIATION_REGIMES}
    yield made
    for s in made.values():
        s.close()


def _model_values(m):
    return [m.mat_rgba.copy(), m.geom_rgba.copy(), m.light_diffuse.copy(), m.light_pos.copy(),
            m.light_dir.copy(), m.cam_pos.copy(), m.cam_quat.copy(),
            m.vis.headlight.ambient.copy(), m.vis.headlight.diffuse.copy()]


def _draws(regime, n=N_DRAWS, n_lights=2, n_cameras=2):
    rng = np.random.default_rng(123)
    return [V.draw_variation(regime, rng, n_lights, n_cameras) for _ in range(n)]


def test_bad_variation_is_a_config_error():
    with pytest.raises(ConfigError, match="none, train, unseen; got 'bright'"):
        SimConfig(variation='bright').validate()
    with pytest.raises(ConfigError):
        SimArm(SimConfig(variation=''))


def test_none_renders_are_byte_identical_to_the_nominal_scene(sims):
    with SimArm(SimConfig(image_size=128)) as plain:    # default config: nominal scene
        for seed in (0, 3):
            plain.reset(seed=seed, render=False)
            sims['none'].reset(seed=seed, render=False)
            assert sims['none'].variation is None
            for cam in ('front', 'side'):
                assert np.array_equal(plain.render(camera=cam), sims['none'].render(camera=cam))
        for a, b in zip(_model_values(plain.model), _model_values(sims['none'].model)):
            assert np.array_equal(a, b)


def test_same_seed_same_scene_and_other_seeds_differ(sims):
    sim = sims['train']
    with SimArm(SimConfig(image_size=128, variation='train')) as other:
        a = sim.reset(seed=5)
        b = other.reset(seed=5)
        assert sim.variation == other.variation and sim.variation.regime == 'train'
        assert np.array_equal(a.image, b.image)
    c = sim.reset(seed=6)
    assert sim.variation != other.variation
    assert np.abs(a.image.astype(int) - c.image).mean() > 2.0
    # The appearance has a stream of its own: a seed puts the cube where 'none' puts it.
    for seed in (5, 6):
        want = sims['none'].reset(seed=seed, render=False).cube_pos
        assert np.allclose(sim.reset(seed=seed, render=False).cube_pos, want)


def test_seedless_resets_draw_new_appearances_and_keep_variation_keeps_one(sims):
    sim = sims['unseen']
    sim.reset(render=False)
    first = sim.variation
    sim.reset(render=False)
    second = sim.variation
    assert second != first
    sim.reset(seed=9, render=False, keep_variation=True)
    assert sim.variation is second
    sim.reset(seed=9, render=False)
    assert sim.variation != second


def test_train_and_unseen_ranges_are_disjoint_by_construction():
    for train, unseen in (('TRAIN_SURFACE_HUES', 'UNSEEN_SURFACE_HUES'),
                          ('TRAIN_CUBE_HUES', 'UNSEEN_CUBE_HUES'),
                          ('TRAIN_LIGHT_SCALE', 'UNSEEN_LIGHT_SCALE')):
        for lo, hi in getattr(V, train):
            for ulo, uhi in getattr(V, unseen):
                assert hi < ulo or uhi < lo, (train, unseen)
    # No surface comes near the cube's red, in either regime.
    for lo, hi in V.TRAIN_SURFACE_HUES + V.UNSEEN_SURFACE_HUES:
        assert 20.0 <= lo < hi <= 340.0


def test_drawn_parameters_stay_in_their_regime():
    train, unseen = _draws('train'), _draws('unseen')
    for regime, draws in (('train', train), ('unseen', unseen)):
        r = V.REGIME_RANGES[regime]
        other = V.REGIME_RANGES['unseen' if regime == 'train' else 'train']
        for v in draws:
            for rgb in (v.table_rgb, v.floor_rgb):
                h = V.hue_deg(rgb) % 360.0
                assert V.in_ranges(h, r['surface_hues']), (regime, h)
                assert not V.in_ranges(h, other['surface_hues'])
            hc = V.hue_deg(v.cube_rgb)
            assert V.in_ranges(hc, r['cube_hues']) and not V.in_ranges(hc, other['cube_hues'])
            assert V.in_ranges(v.light_scale, r['light_scale'])
            assert not V.in_ranges(v.light_scale, other['light_scale'])
    # Both bands of every regime get used, and the draws really vary.
    scales = np.array([v.light_scale for v in unseen])
    assert (scales < 1).any() and (scales > 1).any()
    hues = np.array([V.hue_deg(v.table_rgb) % 360.0 for v in train])
    assert (hues < 100).any() and (hues > 100).any()
    assert len({v.cube_rgb for v in train}) == N_DRAWS


def test_none_draws_nothing():
    rng = np.random.default_rng(0)
    assert V.draw_variation('none', rng, 2, 2) is None
    assert rng.random() == np.random.default_rng(0).random()
    with pytest.raises(ValueError, match='unknown variation regime'):
        V.draw_variation('nope', rng, 2, 2)


def test_restore_returns_the_model_to_nominal(sims):
    sim = sims['train']
    with SimArm(SimConfig(image_size=128)) as plain:
        nominal = _model_values(plain.model)
        plain.reset(seed=2, render=False)
        want = plain.render()
    sim.reset(seed=2, render=False)
    changed = _model_values(sim.model)
    assert all(not np.array_equal(a, b) for a, b in zip(changed[2:], nominal[2:]))
    V.restore_nominal(sim.model, sim._scene_targets)
    for a, b in zip(_model_values(sim.model), nominal):
        assert np.array_equal(a, b)
    sim.reset(seed=2, render=False)
    sim.set_variation(None)
    assert sim.variation is None and np.array_equal(sim.render(), want)


def test_camera_jitter_stays_within_its_bound(sims):
    sim = sims['unseen']
    targets = sim._scene_targets
    nominal = {c: (targets.cam_pos[i], quat_to_mat(targets.cam_quat[i]))
               for c, i in sim.parts.cameras.items()}
    moved = 0.0
    for v in _draws('unseen', n=200, n_lights=sim.model.nlight, n_cameras=sim.model.ncam):
        sim.set_variation(v)
        for c, i in sim.parts.cameras.items():
            dp = np.linalg.norm(sim.model.cam_pos[i] - nominal[c][0])
            da = np.linalg.norm(rotation_error(quat_to_mat(sim.model.cam_quat[i]), nominal[c][1]))
            assert dp <= V.CAMERA_POS_JITTER + 1e-9 and da <= V.CAMERA_ROT_JITTER + 1e-9
            moved = max(moved, dp)
    assert moved > 0.5 * V.CAMERA_POS_JITTER
    # The pose the sim reports follows the jitter.
    sim.set_variation(None)
    pos0, mat0 = sim.camera_pose('front')
    sim.reset(seed=4, render=False)
    pos1, mat1 = sim.camera_pose('front')
    assert 0 < np.linalg.norm(pos1 - pos0) <= V.CAMERA_POS_JITTER + 1e-9
    assert 0 < np.linalg.norm(rotation_error(mat1, mat0)) <= V.CAMERA_ROT_JITTER + 1e-9


def _project(sim, point, camera, size):
    fx, fy, cx, cy = sim.camera_intrinsics(camera, size)
    cam_pos, cam_mat = sim.camera_pose(camera)
    p = cam_mat.T @ (np.asarray(point) - cam_pos)  # MuJoCo camera: x right, y up, looks -z
    return np.array([cx + fx * p[0] / -p[2], cy - fy * p[1] / -p[2]])


def _redness(img):
    img = img.astype(int)
    return img[..., 0] - np.maximum(img[..., 1], img[..., 2])


@pytest.mark.parametrize('regime', ['train', 'unseen'])
def test_the_cube_is_the_reddest_object_where_the_camera_model_says(sims, regime):
    sim = sims[regime]
    size = 128
    rows, cols = np.mgrid[:size, :size]
    for seed in range(8):
        obs = sim.reset(seed=seed, cube_pos=(0.5 + 0.02 * (seed % 3), 0.1 - 0.03 * seed),
                        render=False)
        for camera in ('front', 'side'):
            red = _redness(sim.render(size=size, camera=camera))
            u, v = np.round(_project(sim, obs.cube_pos, camera, size)).astype(int)
            at_cube = red[v - 1:v + 2, u - 1:u + 2].mean()
            far = (rows - v) ** 2 + (cols - u) ** 2 > 10 ** 2
            assert at_cube > 35, (seed, camera, at_cube)   # dim unseen light: ~60
            assert at_cube > 1.5 * max(red[far].max(), 1), (seed, camera, at_cube, red[far].max())


@pytest.mark.parametrize('regime', ['train', 'unseen'])
def test_extrinsics_follow_the_jitter(sims, regime):
    """The red blob sits where the jittered camera pose projects the cube (as for 'none')."""
    sim = sims[regime]
    for seed in range(6):
        obs = sim.reset(seed=seed, cube_pos=(0.5, 0.05), render=False)
        for camera in ('front', 'side'):
            red = _redness(sim.render(256, camera))
            rows, cols = np.nonzero(red > 0.3 * red.max())
            uv = _project(sim, obs.cube_pos, camera, 256)
            # ~1 px off; projecting with the nominal pose instead is 2-6 px off at 256 px.
            assert np.linalg.norm(uv - (cols.mean(), rows.mean())) < 1.5, (seed, camera)


def test_goal_images_and_start_share_the_episode_variation(sims):
    sim = sims['train']
    spec = make_episodes('reach', 1, seed=7, sim=sim)[0]
    goals = goal_images(sim, spec, size=64)
    v_goal = sim.variation
    reset_to_start(sim, spec, render=False)
    assert sim.variation == v_goal
    sim.reset(seed=scene_seed(spec), render=False)
    assert sim.variation == v_goal      # drawn from the episode's own seed
    place_scene(sim, scene_seed(spec), spec.goal_ee[0], spec.goal_cube[0], spec.cube_yaw,
                spec.goal_gripper[0])
    assert np.array_equal(sim.render(size=64), goals[0])
    sim.set_variation(None)
    assert not np.array_equal(sim.render(size=64), goals[0])
    # every episode of a run gets its own appearance
    other = make_episodes('reach', 2, seed=7, sim=sim)[1]
    goal_images(sim, other, size=64)
    assert sim.variation != v_goal


def test_variation_grid_png(tmp_path):
    path = tmp_path / 'grid.png'
    grid = V.save_variation_grid(path, regime_samples=2, size=64)
    assert path.is_file() and grid.shape[0] == 2 * 66 + 2 and grid.shape[2] == 3
