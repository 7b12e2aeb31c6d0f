# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
``jepa-ros collect --env NAME``: play episodes from an adapted environment.

Each episode starts from the env's own task-free reset and follows its scripted play policy
(``--policy play``; smooth random actions for envs without one) or uniform random actions
(``--policy random``). Recorded: every view's frames, the proprioception, the actions as sent
(inside the env's box) and the env's action box in the metadata, so training and the planner
take the sizes from the data.
"""

import time

import numpy as np

POLICIES = ('play', 'random')


def collect_env_episode(env, steps: int, seed: int, policy: str = 'play'):
    """Return one Episode of ``steps`` frames from ``env`` (an EnvAdapter)."""
    from jepa_ros.data.episode import make_episode
    if policy not in POLICIES:
        raise ValueError(f'policy must be one of {POLICIES}, got {policy!r}')
    obs, _ = env.reset(seed=int(seed))
    act = env.play_policy(seed) if policy == 'play' else env.random_policy(seed)
    spec = env.spec
    views = [[f] for f in obs.frames]
    states, actions, successes = [obs.state], [], [obs.success]
    low, high = np.asarray(spec.action_low), np.asarray(spec.action_high)
    for _ in range(steps - 1):
        a = np.asarray(act(obs), np.float64).reshape(-1)
        if a.shape != low.shape or not np.isfinite(a).all():
            raise ValueError(f'{spec.name}: the {policy} policy returned {a.tolist()}, not '
                             f'{low.size} finite values')
        a = np.clip(a, low, high)
        obs = env.step(a)
        actions.append(a)
        states.append(obs.state)
        successes.append(obs.success)
        for v, f in zip(views, obs.frames):
            v.append(f)
    meta = {'source': f'jepa_ros.envs {policy}', 'env': spec.name, 'seed': int(seed),
            'policy': policy, 'action_space': spec.action_space(), 'views': list(spec.views),
            'camera': {'name': spec.views[0], 'width': spec.image_size,
                       'height': spec.image_size},
            'robot': {'name': spec.name, 'control_dt': spec.control_dt},
            'success_any': bool(any(successes))}
    return make_episode(np.stack(views[0]), np.stack(states).astype(np.float32),
                        timestamps=np.arange(steps) * spec.control_dt,
                        actions=np.stack(actions).astype(np.float32), metadata=meta,
                        extra_frames=[np.stack(v) for v in views[1:]])


def collect_env(name: str, out: str, episodes: int, steps: int, seed: int = 0,
                policy: str = 'play', image_size: int = 64, compress: bool = True,
                append: bool = True, progress: bool = True) -> dict:
    """Collect ``episodes`` episodes of env ``name`` into ``out``; return a summary dict."""
    from jepa_ros.data.episode import episode_path, next_episode_index, write_episode
    from jepa_ros.envs import make_env
    env = make_env(name, image_size=image_size, seed=seed)
    start = next_episode_index(out) if append else 0
    t0 = time.perf_counter()
    bar = range(episodes)
    if progress:
        from tqdm import tqdm
        bar = tqdm(bar, desc=f'collect {name}', unit='ep')
    try:
        for i in bar:
            ep = collect_env_episode(env, steps, seed=seed * 100003 + start + i, policy=policy)
            write_episode(episode_path(out, start + i), ep, compress=compress)
    finally:
        env.close()
    dt = time.perf_counter() - t0
    n = int(episodes * (steps - 1))
    return {'episodes': int(episodes), 'first_index': start, 'seconds': dt, 'transitions': n,
            'steps_per_s': n / max(dt, 1e-9), 'env': name, 'policy': policy,
            'action_dim': len(env.spec.action_low), 'state_dim': env.spec.state_dim,
            'out': out}
