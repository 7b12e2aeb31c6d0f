# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""Multi-camera observations: stamp matching, hold reasons, goal tiles and the view-count check."""

import json

from jepa_ros.control import MPCNodeConfig
from jepa_ros.control.image_sync import (camera_names, check_view_count, match_stamps,
                                         split_views, tile_views, ViewSync)
from jepa_ros.control.loading import model_cameras
from jepa_ros.control.watchdog import hold_reason_kind
from jepa_ros.utils.config import ConfigError, from_dict
import numpy as np
import pytest

TOPICS = ['camera/image_raw', 'camera_side/image_raw']
TIMEOUT = 0.5


def _img(value):
    return np.full((4, 4, 3), value, dtype=np.uint8)


def test_views_within_the_slop_make_an_observation():
    sync = ViewSync(TOPICS, slop_s=0.05)
    sync.add(0, 10.00, _img(1), receipt_t=100.00)
    sync.add(1, 10.03, _img(2), receipt_t=100.02)
    views, reason = sync.get(now=100.1, timeout_s=TIMEOUT)
    assert reason is None
    assert views.stamps == [10.00, 10.03] and views.receipt_t == 100.00  # the oldest view
    obs = views.stacked()
    assert obs.shape == (2, 4, 4, 3) and obs[0, 0, 0, 0] == 1 and obs[1, 0, 0, 0] == 2


def test_views_out_of_the_slop_hold():
    sync = ViewSync(TOPICS, slop_s=0.05)
    sync.add(0, 10.00, _img(1), receipt_t=100.00)
    sync.add(1, 10.20, _img(2), receipt_t=100.01)
    views, reason = sync.get(now=100.1, timeout_s=TIMEOUT)
    assert views is None
    assert 'out of sync' in reason and 'image_sync_slop 0.05' in reason
    assert 'camera/image_raw 10.000' in reason and 'camera_side/image_raw 10.200' in reason


def test_a_missing_topic_holds_and_is_named():
    sync = ViewSync(TOPICS, slop_s=0.05)
    views, reason = sync.get(now=1.0, timeout_s=TIMEOUT)
    assert views is None and reason == ('no camera frame received yet on camera/image_raw, '
                                        'camera_side/image_raw')
    sync.add(0, 10.0, _img(1), receipt_t=0.9)
    views, reason = sync.get(now=1.0, timeout_s=TIMEOUT)
    assert views is None and reason == 'no camera frame received yet on camera_side/image_raw'


def test_a_stale_topic_holds_and_is_named():
    sync = ViewSync(TOPICS, slop_s=0.05)
    sync.add(0, 10.0, _img(1), receipt_t=100.0)
    sync.add(1, 10.0, _img(2), receipt_t=100.0)
    assert sync.get(now=100.2, timeout_s=TIMEOUT)[1] is None
    sync.add(0, 11.0, _img(1), receipt_t=101.0)  # the side camera stopped
    views, reason = sync.get(now=101.1, timeout_s=TIMEOUT)
    assert views is None
    assert reason.startswith('camera frame on camera_side/image_raw is stale (1.10 s old')


def test_the_newest_complete_set_is_used_while_a_view_is_on_its_way():
    sync = ViewSync(TOPICS, slop_s=0.05)
    for k in range(3):  # both cameras at 10 Hz, same stamps
        sync.add(0, 10.0 + 0.1 * k, _img(k), receipt_t=100.0 + 0.1 * k)
        sync.add(1, 10.0 + 0.1 * k, _img(10 + k), receipt_t=100.0 + 0.1 * k + 0.01)
    sync.add(0, 10.3, _img(3), receipt_t=100.3)  # the side view of 10.3 is not there yet
    views, reason = sync.get(now=100.31, timeout_s=TIMEOUT)
    assert reason is None and views.stamps == pytest.approx([10.2, 10.2])
    assert views.stacked()[:, 0, 0, 0].tolist() == [2, 12]
    sync.add(1, 10.3, _img(13), receipt_t=100.32)
    views, _ = sync.get(now=100.33, timeout_s=TIMEOUT)
    assert views.stamps == pytest.approx([10.3, 10.3])


def test_an_old_matching_set_is_stale_when_newer_frames_never_match():
    sync = ViewSync(TOPICS, slop_s=0.01, queue=2)
    sync.add(0, 10.0, _img(0), receipt_t=100.0)
    sync.add(1, 10.0, _img(0), receipt_t=100.0)
    sync.add(0, 10.5, _img(1), receipt_t=100.5)
    sync.add(1, 10.52, _img(1), receipt_t=100.52)  # drifted apart beyond the slop
    views, reason = sync.get(now=100.6, timeout_s=TIMEOUT)
    assert views is None and reason.startswith('synchronised camera views are stale')


def test_clear_forgets_frames_and_bad_arguments_are_refused():
    sync = ViewSync(TOPICS, slop_s=0.0)
    sync.add(0, 1.0, _img(0), receipt_t=1.0)
    sync.add(1, 1.0, _img(0), receipt_t=1.0)
    assert sync.get(now=1.0, timeout_s=TIMEOUT)[1] is None  # slop 0: equal stamps only
    sync.clear()
    assert 'no camera frame' in sync.get(now=1.0, timeout_s=TIMEOUT)[1]
    with pytest.raises(ValueError):
        ViewSync([], 0.05)
    with pytest.raises(ValueError):
        ViewSync(TOPICS, float('nan'))


def test_goal_tiles_split_and_join():
    views = np.stack([_img(1), _img(2)])
    tiled = tile_views(views)
    assert tiled.shape == (4, 8, 3)
    back = split_views(tiled, 2)
    assert [v.shape for v in back] == [(4, 4, 3)] * 2
    np.testing.assert_array_equal(np.stack(back), views)
    assert tile_views(_img(3)).shape == (4, 4, 3) and len(split_views(_img(3), 1)) == 1
    with pytest.raises(ValueError, match='width 9 is not a multiple of 2'):
        split_views(np.zeros((4, 9, 3), np.uint8), 2)


def test_view_count_check_says_which_parameter_and_which_cameras():
    check_view_count(1, ['camera/image_raw'])
    check_view_count(2, TOPICS, ('front', 'side'))
    with pytest.raises(ConfigError) as info:
        check_view_count(2, ['camera/image_raw'], ('front', 'side'))
    text = str(info.value)
    assert 'takes 2 camera view(s) (front, side, in this order)' in text
    assert 'image_topics' in text and '1 image topic(s) (camera/image_raw)' in text
    with pytest.raises(ConfigError, match='set image_topics to one topic'):
        check_view_count(1, TOPICS)


def test_config_fields():
    cfg = from_dict(MPCNodeConfig, {'image_topics': TOPICS, 'image_sync_slop': 0.02})
    assert cfg.camera_topics == tuple(TOPICS)
    assert MPCNodeConfig().camera_topics == ('camera/image_raw',)
    assert from_dict(MPCNodeConfig, {'image_topics': ''}).image_topics == ()
    for bad, field in (({'image_sync_slop': -0.1}, 'image_sync_slop'),
                       ({'image_sync_slop': float('nan')}, 'image_sync_slop'),
                       ({'image_topics': ['a', 'a']}, 'image_topics')):
        with pytest.raises(ConfigError, match=field):
            from_dict(MPCNodeConfig, bad)


def test_model_cameras_come_from_the_checkpoint(tmp_path):
    (tmp_path / 'config.json').write_text(json.dumps({'extra': {'cameras': ['front', 'side']}}))
    assert model_cameras(MPCNodeConfig(checkpoint=str(tmp_path))) == ('front', 'side')
    assert model_cameras(MPCNodeConfig(checkpoint=str(tmp_path / 'missing'))) == ()
    assert model_cameras(MPCNodeConfig(checkpoint='x.pt')) == ()

    class WithNames:
        cameras = ['wrist']

    assert model_cameras(MPCNodeConfig(), WithNames()) == ('wrist',)


def test_hold_reasons_that_only_differ_in_numbers_are_one_kind_for_the_log():
    sync = ViewSync(TOPICS, slop_s=0.05)
    sync.add(0, 10.0, _img(1), receipt_t=100.0)
    sync.add(1, 10.0, _img(2), receipt_t=100.0)
    later = [sync.get(now=100.0 + dt, timeout_s=TIMEOUT)[1] for dt in (0.6, 0.8)]
    assert later[0] != later[1]
    assert hold_reason_kind(later[0]) == hold_reason_kind(later[1])
    assert hold_reason_kind('no goal') != hold_reason_kind(later[0])


def test_recorded_streams_pair_by_nearest_stamp_within_the_slop():
    main = [0.0, 0.1, 0.2, 0.3, 0.4]
    side = [0.32, 0.02, 0.19, 0.14, 0.29]          # unsorted: indices refer to this order
    top = [0.0, 0.1, 0.1, 0.2, 0.31]
    index, ok = match_stamps(main, [side, top], slop_s=0.03)
    assert ok.tolist() == [True, False, True, True, False]
    assert index[0].tolist() == [1, 0] and index[2].tolist() == [2, 3]
    assert index[3].tolist() == [4, 4]
    assert index[1].tolist() == [-1, -1] and index[4].tolist() == [-1, -1]
    # ties go to the later message, as in ViewSync
    assert match_stamps([1.0], [[0.75, 1.25], [1.0, 1.0]], slop_s=0.5)[0].tolist() == [[1, 1]]
    # a set's stamps must all agree within the slop, not just each with the main one
    _, ok = match_stamps([1.0], [[0.97], [1.03]], slop_s=0.04)
    assert not ok[0]
    _, ok = match_stamps([1.0], [[0.98], [1.02]], slop_s=0.04)
    assert ok[0]
    index, ok = match_stamps([1.0, 2.0], [[]], slop_s=1.0)
    assert not ok.any() and (index == -1).all()
    with pytest.raises(ValueError, match='slop_s'):
        match_stamps([1.0], [[1.0]], slop_s=-1)


def test_camera_names_come_from_the_topics_unless_given():
    assert camera_names(TOPICS) == ['camera', 'side']
    assert camera_names(['/robot/camera/image_raw', '/wrist/image_rect/compressed']) == \
        ['camera', 'wrist']
    assert camera_names(['/cam1/color/image_raw', '/cam2/color/image_raw']) == \
        ['cam1_color', 'cam2_color']
    assert camera_names(TOPICS, ['front', 'side']) == ['front', 'side']
    for names in (['front'], ['front', 'front'], ['front', '']):
        with pytest.raises(ConfigError, match='view_names'):
            camera_names(TOPICS, names)
    with pytest.raises(ConfigError, match='view_names'):
        camera_names(['/a/image_raw', '/a/image_raw/compressed'])
