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
"node plan ms within 10 % of eval's". The two take turns (``--rounds`` rounds of ``--trials /
--rounds`` plans each; the node is paused with SIGSTOP while eval's path plans), so that the
load of the shared machine, which drifts by 10-20 % from minute to minute, weighs on both alike.
The reference plans once per control period, as the node and ``jepa-ros eval`` do (eval steps
the sim between plans): plans run back to back keep the model hot in the cache and measured
10-20 % faster than either. Then the camera pauses ``--pauses`` times: the delay from its last
frame to the node's hold is the watchdog figure. The node's threads' CPU use over its plans is
recorded too (``/proc``), to show what else runs in its process.
"""

import argparse
import json
import os
from pathlib import Path
import queue
import signal
import subprocess
import sys
import threading
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


def eval_server(checkpoint, obs, goal, state):
    """
    Load eval's controller, then plan on request: a line ``N`` on stdin -> N plans, one per period.

    Each request is answered with one JSON line {"ms": [...], "planner": [samples, iterations,
    horizon]}; an empty line or end of input ends the process.
    """
    import numpy as np
    import torch
    from jepa_ros.control import MPCNodeConfig
    from jepa_ros.control.loading import load_world_model, model_image_size
    from jepa_ros.control.profiles import planner_settings
    from jepa_ros.eval.policies import fit_views, PlannerPolicy
    from jepa_ros.planning import make_planner
    from jepa_ros.planning.config import PlannerConfig
    from jepa_ros.utils.config import from_dict
    torch.set_num_threads(1)
    cfg = MPCNodeConfig(checkpoint=checkpoint, device='cpu', image_timeout_s=60.0,
                        pose_timeout_s=60.0)
    wm, _ = load_world_model(cfg, 'cpu')
    pcfg = from_dict(PlannerConfig, planner_settings('auto', 'cpu', checkpoint))
    size = model_image_size(wm)
    policy = PlannerPolicy(make_planner(wm, pcfg), wm, size, control_dt=0.2, mpc_config=cfg)
    policy.runtime.set_goal(fit_views(goal, size), 'bench')
    obs_ns = type('Obs', (), {'image': obs, 'state': np.asarray(state)})
    policy.act(obs_ns)            # warm-up, as the node's warm-up plan
    print(json.dumps({'ready': True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        policy.plans.clear()
        for _ in range(int(line)):
            start = time.monotonic()
            policy.act(obs_ns)
            time.sleep(max(0.0, cfg.period_s - (time.monotonic() - start)))
        print(json.dumps({'ms': [p.ms for p in policy.plans],
                          'planner': [pcfg.samples, pcfg.iterations, pcfg.horizon]}), flush=True)
    return 0


def thread_cpu(pid):
    """Return {thread id: (name, CPU seconds so far)} of process ``pid`` (Linux /proc)."""
    out, tick = {}, os.sysconf('SC_CLK_TCK')
    for task in Path(f'/proc/{pid}/task').iterdir():
        try:
            name = (task / 'comm').read_text().strip()
            fields = (task / 'stat').read_text().rsplit(')', 1)[1].split()
            out[task.name] = (name, (int(fields[11]) + int(fields[12])) / tick)
        except (OSError, IndexError, ValueError):   # the thread ended meanwhile
            continue
    return out


def main(argv=None):  # noqa: C901 - one measurement script, read top to bottom
    """Measure, print the figures and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--out', default='benchmarks/results/cpu_planner_node.json')
    parser.add_argument('--checkpoint', default='default')
    parser.add_argument('--trials', type=int, default=50,
                        help='planned steps measured, for the node and for eval alike')
    parser.add_argument('--rounds', type=int, default=5,
                        help='turns the node and eval take (trials are split among them)')
    parser.add_argument('--pauses', type=int, default=50, help='camera pauses for the watchdog')
    parser.add_argument('--busy', type=int, default=1, help='busy processes beside the node')
    parser.add_argument('--joint-burst', type=int, default=10,
                        help='joint_states per 10 ms tick (10: 1 kHz)')
    parser.add_argument('--eval-server', action='store_true',
                        help='(internal) plan through eval\'s path on request (stdin)')
    args = parser.parse_args(argv)
    import numpy as np

    from jepa_ros.control.image_sync import tile_views
    from jepa_ros.ros.launch_params import model_sim_views, sim_image_topic
    cameras = model_sim_views(args.checkpoint)     # a multi-view model: every sim camera it needs
    topics = [sim_image_topic(c) for c in cameras] or ['camera/image_raw']
    obs, goal, state = _frames(cameras)
    if args.eval_server:
        return eval_server(args.checkpoint, obs, goal, state)
    busy = [subprocess.Popen([sys.executable, '-c', 'while True: pass'])
            for _ in range(args.busy)]
    node = ref = None
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

        # eval's path: its own process, beside the same fake robot and busy process
        ref = subprocess.Popen([sys.executable, __file__, '--eval-server', '--checkpoint',
                                args.checkpoint], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=env)
        replies = queue.Queue()   # its stdout, read in a thread: the fake robot never stops
        threading.Thread(target=lambda: [replies.put(line) for line in ref.stdout],
                         daemon=True).start()

        def ask_eval(request):
            ref.stdin.write(request)
            ref.stdin.flush()
            if not spin_until(lambda: not replies.empty(), 600):
                raise SystemExit('the eval-path process did not answer')
            return json.loads(replies.get())

        spin_until(lambda: not replies.empty() or ref.poll() is not None, 600)
        if replies.empty() or 'ready' not in json.loads(replies.get()):
            raise SystemExit('the eval-path process did not start')
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

        def planned(since=0.0, times=False):
            return [(t, d) if times else d for t, d in st['diag']
                    if t >= since and not d.get('hold')]
        spin_until(lambda: len(planned()) >= 3, 60)   # the first ones encode the goal
        per_round = max(1, args.trials // max(1, args.rounds))
        node_ms, ref_ms, rounds, rates, threads = [], [], [], [], {}
        joint_n, turns_s = 0, 0.0     # joint_states received, seconds of the node's turns
        for _ in range(args.rounds):
            # the node's turn: plans reported from 1 s after it resumed (none spans a pause)
            since = time.monotonic() + 1.0
            cpu0, j0 = thread_cpu(node.pid), st['joints']
            spin_until(lambda: len(planned(since)) >= per_round, 30 + 3 * per_round)
            cpu1 = thread_cpu(node.pid)
            timed = planned(since, times=True)[:per_round]
            steps = [d for _, d in timed]
            gaps = np.diff([t for t, _ in timed])   # loop rate from the commands' arrival
            took = time.monotonic() - since + 1.0
            joint_n, turns_s = joint_n + st['joints'] - j0, turns_s + took
            for tid, (name, cpu) in cpu1.items():
                prev = threads.get(tid, (name, 0.0))[1]
                threads[tid] = (name, prev + cpu - cpu0.get(tid, (name, cpu))[1])
            node.send_signal(signal.SIGSTOP)   # eval's turn, the node frozen
            try:
                out = ask_eval(f'{per_round}\n')
            finally:
                node.send_signal(signal.SIGCONT)
            node_ms += [d['plan_ms'] for d in steps]
            rates += list(1.0 / gaps[gaps > 0])
            ref_ms += out['ms']
            rounds.append([float(np.median([d['plan_ms'] for d in steps])),
                           float(np.median(out['ms']))])
            print(f'round {len(rounds)}: node {rounds[-1][0]:.1f} ms, eval path '
                  f'{rounds[-1][1]:.1f} ms (medians of {per_round} plans)', flush=True)
        ref.stdin.write('\n')
        ref.stdin.flush()
        threads = sorted(((n, round(100.0 * c / turns_s, 1)) for n, c in threads.values()
                          if c > 0.0005 * turns_s), key=lambda r: -r[1])
        joint_rate = joint_n / turns_s
        print(f'eval path: plan {np.median(ref_ms):.1f} ms median over {len(ref_ms)} plans '
              f'({out["planner"][0]} x {out["planner"][1]}, horizon {out["planner"][2]}), '
              f'beside the fake robot', flush=True)
        print(f'node: plan {np.median(node_ms):.1f} ms median, loop {np.median(rates):.2f} Hz, '
              f'joint_states {joint_rate:.0f} Hz; its threads (% of a core): {threads}',
              flush=True)

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
            'planner': dict(zip(('samples', 'iterations', 'horizon'), out['planner']),
                            profile='cpu'),
            'eval_plan_ms_median': float(np.median(ref_ms)),
            'eval_paced_s': defaults.period_s,
            'node_plan_ms_median': float(np.median(node_ms)),
            'node_vs_eval_plan_ms': float(np.median(node_ms) / np.median(ref_ms)),
            'rounds_node_eval_ms': rounds,
            'node_vs_eval_per_round': [round(a / b, 3) for a, b in rounds],
            'node_plan_ms_p90': float(np.percentile(node_ms, 90)),
            'loop_hz_median': float(np.median(rates)) if rates else float('nan'),
            'joint_states_hz': joint_rate, 'trials': len(node_ms),
            'node_threads_cpu_percent': threads,
            'hold_after_last_frame_s': {
                'p50': float(np.percentile(delays, 50)), 'p99': float(np.percentile(delays, 99)),
                'max': float(np.max(delays)), 'count': len(delays), 'of_pauses': args.pauses,
                'target_p99': timeout + period + 0.1} if delays else None,
        }
        print(json.dumps(result, indent=1))
        Path(args.out).write_text(json.dumps(result, indent=2) + '\n')
        rclpy.try_shutdown()
    finally:
        for p in busy + [q for q in (node, ref) if q is not None]:
            if p.poll() is None:
                if p is node:
                    p.send_signal(signal.SIGCONT)
                p.send_signal(2) if p is node else p.kill()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
    return 0


if __name__ == '__main__':
    sys.exit(main())
