# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
planner_node beside a fast robot: plan time against eval's, loop rate, hold after the last frame.

Usage: .venv/bin/python benchmarks/bench_planner_node.py [--out FILE] [--trials 50] [--pauses 50]

A fake robot in this process publishes a sim-rendered camera frame at 30 Hz, ee_pose at 100 Hz
and joint_states at 1 kHz (bursts of 10 every 10 ms, as a joint_state_broadcaster can); a busy
process spins beside it on the 2 cores. The node runs as ``planner_node --ros-args
--params-file config/planner.yaml`` (what planner.launch.py gives it) with the shipped model on
the CPU, so it plans with the cpu profile. Before that, the same model and settings plan the same
frames through eval's path (``MPCRuntime`` via ``PlannerPolicy``, one torch thread) in a process
of its own, with the same fake robot and busy process running: the like-for-like reference for
"node plan ms within 10 % of eval's". Then the camera pauses ``--pauses`` times: the delay from
its last frame to the node's hold is the watchdog figure.
"""

import argparse
import json
import os
from pathlib import Path
import subprocess
import sys
import time

os.environ.setdefault('MUJOCO_GL', 'egl')
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
ROOT = Path(__file__).resolve().parent.parent


def _frames(cameras=(), size=128):
    """Return (current views, goal views, state): one image, or a (V, H, W, 3) stack."""
    from jepa_ros.eval.tasks import render_views
    from jepa_ros.sim import SimArm, SimConfig
    with SimArm(SimConfig(image_size=size)) as sim:
        sim.reset(seed=0, render=False)
        start = sim.ee_pose()[0]
        obs = render_views(sim, cameras)
        state = sim.ee_state()
        sim.reset(seed=0, ee_pos=start + [0.05, 0.06, 0.0], render=False)
        goal = render_views(sim, cameras)
    return obs, goal, state


def eval_plan_ms(checkpoint, obs, goal, state, trials):
    """Plan ``trials`` times through eval's controller; return the plan times (ms)."""
    import numpy as np
    import torch
    from jepa_ros.control import MPCNodeConfig
    from jepa_ros.control.loading import load_world_model, model_image_size
    from jepa_ros.control.profiles import planner_settings
    from jepa_ros.eval.policies import fit_views
    from jepa_ros.planning import make_planner
    from jepa_ros.planning.config import PlannerConfig
    from jepa_ros.utils.config import from_dict
    torch.set_num_threads(1)
    cfg = MPCNodeConfig(checkpoint=checkpoint, device='cpu', image_timeout_s=60.0,
                        pose_timeout_s=60.0)
    wm, _ = load_world_model(cfg, 'cpu')
    pcfg = from_dict(PlannerConfig, planner_settings('auto', 'cpu', checkpoint))
    size = model_image_size(wm)
    from jepa_ros.eval.policies import PlannerPolicy
    policy = PlannerPolicy(make_planner(wm, pcfg), wm, size, control_dt=0.2, mpc_config=cfg)
    policy.runtime.set_goal(fit_views(goal, size), 'bench')
    obs_ns = type('Obs', (), {'image': obs, 'state': np.asarray(state)})
    policy.act(obs_ns)            # warm-up, as the node's warm-up plan
    policy.plans.clear()
    for _ in range(trials):
        policy.act(obs_ns)
    return [p.ms for p in policy.plans], pcfg


def main(argv=None):  # noqa: C901 - one measurement script, read top to bottom
    """Measure, print the figures and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--out', default='benchmarks/results/cpu_planner_node.json')
    parser.add_argument('--checkpoint', default='default')
    parser.add_argument('--trials', type=int, default=50, help='planned steps measured')
    parser.add_argument('--pauses', type=int, default=50, help='camera pauses for the watchdog')
    parser.add_argument('--busy', type=int, default=1, help='busy processes beside the node')
    parser.add_argument('--joint-burst', type=int, default=10,
                        help='joint_states per 10 ms tick (10: 1 kHz)')
    parser.add_argument('--eval-only', action='store_true',
                        help='(internal) print the eval-path plan times as JSON and exit')
    args = parser.parse_args(argv)
    import numpy as np

    from jepa_ros.control.image_sync import tile_views
    from jepa_ros.ros.launch_params import model_sim_views, sim_image_topic
    cameras = model_sim_views(args.checkpoint)     # a multi-view model: every sim camera it needs
    topics = [sim_image_topic(c) for c in cameras] or ['camera/image_raw']
    obs, goal, state = _frames(cameras)
    if args.eval_only:
        ms, pcfg = eval_plan_ms(args.checkpoint, obs, goal, state, args.trials)
        print(json.dumps({'ms': ms, 'planner': [pcfg.samples, pcfg.iterations, pcfg.horizon]}))
        return 0
    busy = [subprocess.Popen([sys.executable, '-c', 'while True: pass'])
            for _ in range(args.busy)]
    node = None
    try:
        import rclpy
        from geometry_msgs.msg import PoseStamped
        from jepa_ros.ros.image_conversion import numpy_to_image
        from jepa_ros.ros.qos import command_qos, sensor_qos, state_qos
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from sensor_msgs.msg import Image, JointState
        from std_msgs.msg import String

        log_path = Path('out') / 'bench_planner_node.log'   # (out/ is not tracked)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, RCUTILS_LOGGING_BUFFERED_STREAM='0', PYTHONUNBUFFERED='1')
        rclpy.init()
        client = Node('bench_fake_robot')
        ex = SingleThreadedExecutor()
        ex.add_node(client)
        arm = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1']
        image_pubs = [client.create_publisher(Image, t, sensor_qos()) for t in topics]
        pose_pub = client.create_publisher(PoseStamped, 'ee_pose', state_qos())
        joint_pub = client.create_publisher(JointState, 'joint_states', state_qos(100))
        goal_pub = client.create_publisher(Image, 'goal_image', command_qos(1))
        st = {'camera': True, 'tick': 0, 'joints': 0, 'last_image': None, 'diag': []}
        frames = [numpy_to_image(v, 'rgb8') for v in (obs if cameras else [obs])]
        from jepa_ros.sim.geometry import euler_to_mat, mat_to_quat
        quat = mat_to_quat(euler_to_mat(state[3:6]))

        def publish():
            stamp = client.get_clock().now().to_msg()
            for _ in range(args.joint_burst):
                js = JointState(name=arm, position=[0.0] * 7 + [0.04])
                js.header.stamp = stamp
                joint_pub.publish(js)
                st['joints'] += 1
            pose = PoseStamped()
            pose.header.stamp, pose.header.frame_id = stamp, 'panda_link0'
            p, o = pose.pose.position, pose.pose.orientation
            p.x, p.y, p.z = (float(v) for v in state[:3])
            o.w, o.x, o.y, o.z = (float(v) for v in quat)
            pose_pub.publish(pose)
            if st['camera'] and st['tick'] % 3 == 0:
                for pub, frame in zip(image_pubs, frames):   # one stamp: views in sync
                    frame.header.stamp = stamp
                    pub.publish(frame)
                st['last_image'] = time.monotonic()
            st['tick'] += 1

        client.create_timer(0.01, publish)
        client.create_subscription(String, '/planner_node/diagnostics',
                                   lambda m: st['diag'].append((time.monotonic(),
                                                                json.loads(m.data))),
                                   state_qos())

        def spin_until(pred, timeout):
            end = time.monotonic() + timeout
            while time.monotonic() < end and not pred():
                ex.spin_once(timeout_sec=0.005)
                if node is not None and node.poll() is not None:
                    raise SystemExit(f'planner_node exited: see {log_path}')
            return pred()

        # eval's path first, in its own process, beside the same fake robot and busy process
        ref = subprocess.Popen([sys.executable, __file__, '--eval-only', '--trials',
                                str(args.trials), '--checkpoint', args.checkpoint],
                               stdout=subprocess.PIPE, text=True, env=env)
        spin_until(lambda: ref.poll() is not None, 900)
        ref_out = json.loads(ref.stdout.read().strip().splitlines()[-1])
        ref_ms = ref_out['ms']
        print(f'eval path: plan {np.median(ref_ms):.1f} ms median over {len(ref_ms)} plans '
              f'({ref_out["planner"][0]} x {ref_out["planner"][1]}, horizon '
              f'{ref_out["planner"][2]}), beside the fake robot', flush=True)
        with open(log_path, 'w') as fh:   # now the node
            node = subprocess.Popen(
                [sys.executable, '-m', 'jepa_ros.ros.planner_node', '--ros-args',
                 '--params-file', str(ROOT / 'config' / 'planner.yaml'),
                 '-p', f'checkpoint:={args.checkpoint}', '-p', 'device:=cpu']
                + (['-p', f'image_topics:=[{", ".join(topics)}]'] if cameras else []),
                stdout=fh, stderr=subprocess.STDOUT, env=env)
        if not spin_until(lambda: 'loop running at' in log_path.read_text(), 180):
            raise SystemExit(f'planner_node did not start: see {log_path}')
        spin_until(lambda: goal_pub.get_subscription_count() > 0, 30)
        goal_pub.publish(numpy_to_image(tile_views(goal), 'rgb8'))
        t_joint0, j0 = time.monotonic(), st['joints']

        def planned():
            return [d for _, d in st['diag'] if not d.get('hold')]
        spin_until(lambda: len(planned()) >= args.trials + 3, 60 + args.trials * 3)
        joint_rate = (st['joints'] - j0) / (time.monotonic() - t_joint0)
        steps = planned()[3:args.trials + 3]   # after the first few (goal encoding)
        node_ms = [d['plan_ms'] for d in steps]
        rates = [d['rate_hz'] for d in steps if d.get('rate_hz') == d.get('rate_hz')]
        print(f'node: plan {np.median(node_ms):.1f} ms median, loop {np.median(rates):.2f} Hz, '
              f'joint_states {joint_rate:.0f} Hz', flush=True)

        delays = []
        for k in range(args.pauses):
            st['camera'] = False
            spin_until(lambda: False, 0.02)
            t_last, n0 = st['last_image'], len(st['diag'])

            def held():
                return any(d.get('hold') and 'camera frame' in d.get('reason', '')
                           and 'stale' in d.get('reason', '') for _, d in st['diag'][n0:])
            if spin_until(held, 10):
                t_hold = min(t for t, d in st['diag'][n0:] if d.get('hold')
                             and 'stale' in d.get('reason', '') and 'camera' in d['reason'])
                delays.append(t_hold - t_last)
            st['camera'] = True
            n1 = len(st['diag'])
            spin_until(lambda: any(not d.get('hold') for _, d in st['diag'][n1:]), 20)
        from jepa_ros.control import MPCNodeConfig
        defaults = MPCNodeConfig()        # config/planner.yaml carries the same values
        timeout, period = defaults.image_timeout_s, defaults.period_s
        result = {
            'checkpoint': args.checkpoint, 'busy_processes': args.busy, 'cpu_count': os.cpu_count(),
            'planner': dict(zip(('samples', 'iterations', 'horizon'), ref_out['planner']),
                            profile='cpu'),
            'eval_plan_ms_median': float(np.median(ref_ms)),
            'node_plan_ms_median': float(np.median(node_ms)),
            'node_vs_eval_plan_ms': float(np.median(node_ms) / np.median(ref_ms)),
            'node_plan_ms_p90': float(np.percentile(node_ms, 90)),
            'loop_hz_median': float(np.median(rates)) if rates else float('nan'),
            'joint_states_hz': joint_rate, 'trials': len(node_ms),
            'hold_after_last_frame_s': {
                'p50': float(np.percentile(delays, 50)), 'p99': float(np.percentile(delays, 99)),
                'max': float(np.max(delays)), 'count': len(delays), 'of_pauses': args.pauses,
                'target_p99': timeout + period + 0.1},
        }
        print(json.dumps(result, indent=1))
        Path(args.out).write_text(json.dumps(result, indent=2) + '\n')
        rclpy.try_shutdown()
    finally:
        for p in busy + ([node] if node is not None else []):
            if p.poll() is None:
                p.send_signal(2) if p is node else p.kill()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
    return 0


if __name__ == '__main__':
    sys.exit(main())
