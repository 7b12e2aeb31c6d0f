# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""`jepa-ros demo` in a reduced mode: real nodes over DDS, results, GIF and an MCAP rosbag2."""

import json
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.slow


def _env(tag):
    return dict(os.environ, JEPA_DEMO_TEST_TAG=tag, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def _tagged_processes(tag):
    """Return pids of live processes started with our tag in their environment."""
    found = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if f'JEPA_DEMO_TEST_TAG={tag}'.encode() in (entry / 'environ').read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait_gone(tag, timeout=10.0):
    deadline = time.monotonic() + timeout
    while _tagged_processes(tag) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _tagged_processes(tag)


def test_demo_reduced_run_writes_results_and_a_rosbag(tmp_path):
    from rosbags.highlevel import AnyReader
    out = tmp_path / 'demo'
    tag = uuid.uuid4().hex
    proc = subprocess.run(
        [sys.executable, '-m', 'jepa_ros.cli', 'demo', '--out', str(out), '--episodes', '1',
         '--steps', '3'], env=_env(tag), capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not _wait_gone(tag), 'child node processes left running'
    res = json.loads((out / 'results.json').read_text())
    assert set(res['tasks']) == {'reach', 'push'}
    for task in ('reach', 'push'):
        s = res['tasks'][task]['planner']
        rec = s['records'][0]
        assert s['episodes'] == 1 and (rec['success'] or rec['steps'] == 3)
        assert len(rec['plan_ms']) == rec['steps'] and min(rec['plan_ms']) > 0
        assert rec['final_distance_m'] < 1.0
    assert res['plan_ms_p95'] > 0 and 'success_rate' in res
    assert (out / 'summary.png').is_file() and (out / 'episodes.gif').is_file()
    bag = out / 'rosbag'
    assert (bag / 'metadata.yaml').is_file() and list(bag.glob('*.mcap'))
    counts = {}
    with AnyReader([bag]) as reader:
        # offered QoS as rosbag2 stores it, so `ros2 bag play` republishes each topic as it was
        qos = {c.topic: c.ext.offered_qos_profiles for c in reader.connections}
        assert qos['/camera/image_raw'][0].reliability.name == 'BEST_EFFORT'
        assert qos['/ee_pose'][0].reliability.name == 'RELIABLE'
        assert qos['/planner_node/goal_image'][0].durability.name == 'TRANSIENT_LOCAL'
        for conn, _, raw in reader.messages():
            counts[conn.topic] = counts.get(conn.topic, 0) + 1
            if conn.topic == '/planner_node/imagined_path' and counts[conn.topic] == 1:
                msg = reader.deserialize(raw, conn.msgtype)
                assert len(msg.poses) >= 2 and msg.header.frame_id == 'panda_link0'
    for topic in ('/camera/image_raw', '/ee_pose', '/planner_node/imagined_path',
                  '/target_pose', '/gripper_command', '/goal_image', '/cube_pose'):
        assert counts.get(topic, 0) > 0, (topic, counts)
    assert 'success' in proc.stdout.lower() or 'fail' in proc.stdout
    assert 'RANDOM-WEIGHT' in proc.stdout or res['model']['trained']


def test_demo_ctrl_c_stops_every_child(tmp_path):
    tag = uuid.uuid4().hex
    proc = subprocess.Popen(
        [sys.executable, '-m', 'jepa_ros.cli', 'demo', '--out', str(tmp_path / 'demo'),
         '--episodes', '3'], env=_env(tag), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        seen = ''
        while 'nodes up' not in seen and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen += line
        assert 'nodes up' in seen, seen[-3000:]
        assert len(_tagged_processes(tag)) >= 3    # the demo and its two nodes
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        left = _wait_gone(tag)
        for pid in left:   # never leave nodes behind to disturb later ROS tests
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert not left, 'child node processes left running after Ctrl-C'
    assert (tmp_path / 'demo' / 'rosbag' / 'metadata.yaml').is_file()   # bag closed cleanly
