# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Several camera views: predictor layout, episodes, collection, AC training, world model, eval."""

import dataclasses

from jepa_ros.data import episode_path, read_episode, write_episode
from jepa_ros.data.episode import EpisodeError, make_episode
from jepa_ros.data.synthetic import synthetic_episode
from jepa_ros.eval.models import LoadedModel
from jepa_ros.eval.runner import EvalConfig, resolve_cameras, run_eval
from jepa_ros.models import ACPredictor, encoder_preset, load_model, save_model, VJEPA2Encoder
from jepa_ros.models.config import predictor_preset
from jepa_ros.planning import PlannerConfig, VJEPA2WorldModel
from jepa_ros.sim import SimArm, SimConfig
from jepa_ros.training import train_ac
from jepa_ros.utils.config import ConfigError
import numpy as np
import pytest
import torch

torch.set_num_threads(1)


def _predictor(views, seed=0):
    torch.manual_seed(seed)
    cfg = predictor_preset('tiny', encoder_dim=128, img_size=32, num_views=views, depth=2)
    pred = ACPredictor(cfg).eval()
    return pred


def _two_view_world_model(size=64):
    torch.manual_seed(0)
    enc = VJEPA2Encoder(encoder_preset('tiny', img_size=size))
    pred = ACPredictor(predictor_preset('tiny', encoder_dim=128, img_size=size, num_views=2,
                                        depth=1))
    return VJEPA2WorldModel(enc, pred, image_size=size)


def _two_view_episodes(n):
    """Return n synthetic episodes with a second, mirrored view named 'side'."""
    out = []
    for i in range(n):
        ep = synthetic_episode(i, steps=8, image_size=32)
        out.append(make_episode(ep.frames, ep.states, metadata={'views': ['front', 'side']},
                                extra_frames=[np.ascontiguousarray(ep.frames[:, ::-1])]))
    return out


def _two_view_data(root, n=4):
    for i, ep in enumerate(_two_view_episodes(n)):
        write_episode(episode_path(root, i), ep)
    return root


def _tiny_ac(data, steps):
    return {'data': str(data), 'encoder': 'preset:tiny', 'image_size': 32, 'clip_len': 3,
            'batch_size': 4, 'steps': steps, 'log_every': 1, 'eval_every': 1,
            'checkpoint_every': 1, 'warmup_steps': 1, 'pred_dim': 32, 'pred_depth': 1,
            'val_fraction': 0.25, 'val_clips': 4, 'device': 'cpu', 'threads': 1}


def test_single_view_predictor_keeps_the_official_parameter_names():
    names = set(dict(_predictor(1).named_parameters()))
    assert not any('view' in n for n in names)
    assert 'view_embed' in dict(_predictor(2).named_parameters())


def test_two_view_predictor_is_causal_incremental_and_tells_views_apart():
    pred = _predictor(2)
    n = pred.config.tokens_per_frame
    assert n == 2 * pred.config.tokens_per_view == 32
    z, a, s = torch.randn(2, 3 * n, 128), torch.randn(2, 3, 7), torch.randn(2, 3, 7)
    with torch.no_grad():
        full = pred(z, a, s)
        cache = pred.prefill(z[:, :2 * n], a[:, :2], s[:, :2])
        last, _ = pred.step(z[:, 2 * n:], a[:, 2], s[:, 2], cache)
        assert torch.allclose(full[:, 2 * n:], last, atol=1e-5)
        later = z.clone()
        later[:, 2 * n:] += 1.0
        assert torch.equal(pred(later, a, s)[:, :2 * n], full[:, :2 * n])
        # Swapping the two views is not a symmetry: the view embedding tells them apart.
        swap = z.view(2, 3, 2, n // 2, 128).flip(2).reshape(2, 3 * n, 128)
        back = pred(swap, a, s).view(2, 3, 2, n // 2, 128).flip(2).reshape(2, 3 * n, 128)
        assert (back - full).abs().max() > 1e-3
    with pytest.raises(ValueError, match='2 view'):
        pred(torch.randn(1, 3 * n // 2 + 1, 128), a[:1], s[:1])


def test_multi_view_checkpoint_round_trip(tmp_path):
    pred = _predictor(2)
    enc = VJEPA2Encoder(encoder_preset('tiny', img_size=32))
    save_model(tmp_path / 'm', enc, pred, extra={'cameras': ['front', 'side']})
    _, loaded, extra = load_model(tmp_path / 'm')
    assert loaded.config.num_views == 2 and extra['cameras'] == ['front', 'side']
    assert torch.equal(loaded.view_embed, pred.view_embed)


def test_episode_extra_views_round_trip_and_validation(tmp_path):
    ep = synthetic_episode(0, steps=6, image_size=16)
    side = 255 - ep.frames
    two = make_episode(ep.frames, ep.states, metadata={'views': ['front', 'side']},
                       extra_frames=[side])
    path = write_episode(episode_path(tmp_path, 0), two)
    back = read_episode(path)
    assert back.num_views == 2 and np.array_equal(back.views()[1], side)
    assert read_episode(path, load_frames=False).extra_frames == []
    with pytest.raises(EpisodeError, match='view 1'):
        make_episode(ep.frames, ep.states, extra_frames=[side[:, :8]])


def test_collect_records_extra_cameras(tmp_path):
    from jepa_ros.data.collect import collect, CollectConfig
    collect(CollectConfig(out=str(tmp_path), episodes=1, steps=3, render_size=64, save_size=32,
                          extra_cameras=('side',)), progress=False)
    ep = read_episode(episode_path(tmp_path, 0))
    assert ep.num_views == 2 and ep.metadata['views'] == ['front', 'side']
    assert not np.array_equal(ep.frames, ep.extra_frames[0])   # a different viewpoint


def test_train_ac_uses_every_view_and_records_the_cameras(tmp_path):
    data = _two_view_data(tmp_path / 'data')
    base = _tiny_ac(data, steps=2)
    train_ac.train(train_ac.TrainACConfig(out=str(tmp_path / 'two'), **base),
                   log=lambda *_: None)
    _, pred, extra = load_model(tmp_path / 'two' / 'model')
    assert pred.config.num_views == 2 and extra['cameras'] == ['front', 'side']
    train_ac.train(train_ac.TrainACConfig(out=str(tmp_path / 'one'), views=1, **base),
                   log=lambda *_: None)
    assert load_model(tmp_path / 'one' / 'model')[1].config.num_views == 1
    with pytest.raises(ValueError, match='hold only 2'):
        train_ac.train(train_ac.TrainACConfig(out=str(tmp_path / 'three'), views=3, **base),
                       log=lambda *_: None)


def test_world_model_encodes_views_side_by_side():
    wm = _two_view_world_model(32)
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(2))
    z = wm.encode([a, b])
    assert wm.num_views == 2 and z.shape == (1, 32, 128)
    assert torch.allclose(z, wm.encode(np.stack([a, b])))
    assert torch.allclose(z[:, :16], wm.encode(np.stack([a, a]))[:, :16])
    batch = wm.encode(np.stack([np.stack([a, b]), np.stack([b, a])]))
    assert batch.shape == (2, 32, 128) and torch.allclose(batch[1, :16], z[0, 16:])
    with pytest.raises(ValueError, match='expects 2 camera views'):
        wm.encode([a])


def test_eval_runs_a_two_view_model_with_named_cameras():
    wm = _two_view_world_model(64)
    loaded = LoadedModel(wm, 64, 'two-view test', trained=False, checkpoint='',
                         cameras=('front', 'side'))
    cfg = EvalConfig(tasks=('reach',), episodes=1, steps=2, camera_size=64, baselines=(),
                     videos=1)
    plan_cfg = PlannerConfig(samples=8, topk=2, iterations=1, horizon=1)
    with SimArm(SimConfig(image_size=64)) as sim:
        res = run_eval(cfg, plan_cfg, loaded, sim, progress=False)
        assert res['model']['cameras'] == ['front', 'side']
        rec = res['_video'][0]
        assert rec['goals'][0].shape == (2, 64, 64, 3)
        assert rec['frames'][0].shape == (64, 128, 3)      # the views side by side
        with pytest.raises(ConfigError, match='expects 2 camera view'):
            resolve_cameras(dataclasses.replace(cfg, cameras=('front',)), loaded, sim)
        with pytest.raises(ConfigError, match='names none'):
            resolve_cameras(cfg, dataclasses.replace(loaded, cameras=()), sim)
        with pytest.raises(ConfigError, match='unknown camera'):
            resolve_cameras(dataclasses.replace(cfg, cameras=('front', 'top')), loaded, sim)


def test_train_ac_picks_views_by_camera_name(tmp_path):
    data = _two_view_data(tmp_path / 'data')
    base = _tiny_ac(data, steps=1)
    train_ac.train(train_ac.TrainACConfig(out=str(tmp_path / 's'), cameras=('side',), **base),
                   log=lambda *_: None)
    _, pred, extra = load_model(tmp_path / 's' / 'model')
    assert pred.config.num_views == 1 and extra['cameras'] == ['side']
    with pytest.raises(ValueError, match="camera 'top' is not recorded"):
        train_ac.train(train_ac.TrainACConfig(out=str(tmp_path / 't'), cameras=('top',), **base),
                       log=lambda *_: None)


def test_eval_of_a_single_view_model_sees_its_own_camera():
    from jepa_ros.eval.runner import run_episode
    from jepa_ros.eval.tasks import make_episodes

    class Spy:
        name = 'spy'

        def begin(self, spec, goals):
            self.goals, self.images = goals, []

        def act(self, obs):
            self.images.append(obs.image)
            return np.zeros(7)

    with SimArm(SimConfig(image_size=64)) as sim:
        spec = dataclasses.replace(make_episodes('reach', 1, 3, sim)[0], steps=1)
        from jepa_ros.eval.tasks import goal_images, reset_to_start
        spy = Spy()
        run_episode(sim, spec, spy, goal_images(sim, spec, 64, ('side',)), cameras=('side',))
        reset_to_start(sim, spec)
        assert np.array_equal(spy.images[0], sim.render(camera='side'))
        assert not np.array_equal(spy.images[0], sim.render(camera='front'))


def test_pretraining_reads_every_camera_view(tmp_path):
    from jepa_ros.data.dataset import ClipDataset, split_views
    from jepa_ros.training import pretrain
    data = _two_view_data(tmp_path / 'data', n=3)
    eps = _two_view_episodes(3)
    single = split_views(eps)
    assert len(single) == 6 and all(e.num_views == 1 for e in single)
    assert np.array_equal(single[1].frames, eps[0].extra_frames[0])
    assert len(ClipDataset(single, clip_len=4)) == 2 * len(ClipDataset(eps, clip_len=4))
    summary = pretrain.train(pretrain.PretrainConfig(
        data=str(data), out=str(tmp_path / 'pre'), image_size=32, batch_size=4, steps=2,
        log_every=1, checkpoint_every=2, device='cpu', threads=1, warmup_steps=1),
        log=lambda *_: None)
    assert summary['step'] == 2
