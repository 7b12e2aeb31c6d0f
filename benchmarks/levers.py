#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
r"""
World-model levers: train, evaluate and tabulate each configuration on held-out seeds.

Every row of the README's lever table is one entry of ``ROWS``: the commands that make its data
and model (skipped when their output exists, so a row resumes), then the same measurements for
all rows: action recovery on held-out play episodes (``eval_world_model.py``), and closed-loop
``jepa-ros eval`` on the held-out seed range (reach 20 episodes; push and pick-and-place 5 each
where the row asks). Tuning was done on seed 0; ``HELDOUT_SEED`` is only used here.

    python benchmarks/levers.py list                 # rows and their commands
    python benchmarks/levers.py run cpu_1view        # make and measure one row
    python benchmarks/levers.py table                # JSON + markdown + PNG of all measured rows

Sized for 2 CPU cores: training rows take 30-60 minutes each with one torch thread; the
evaluation of one row 3-8 minutes.
"""

import argparse
import dataclasses
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
RUNS = Path(os.environ.get('LEVERS_RUNS', 'runs/levers'))
PY = os.environ.get('PY', sys.executable)
HELDOUT_SEED = 1000
# The compact (end-to-end) rows: planner settings were chosen on seed 300; seed 7000 and up were
# never used before these rows' final measurement.
COMPACT_HELDOUT_SEED = 7000
WM = f'{PY} -m jepa_ros.training.train_wm'
REACH_EPISODES = 20
PUSH_PICK_EPISODES = 5
DATA_1V = 'runs/default/data'           # scripts/train_default.sh's play / heldout data
DATA_2V = f'{RUNS}/data2v'
# The JEPA-pretrained (video objective) encoder: the previous default model, now `h200_9000`.
ENCODER = 'jepa_ros/assets/models/h200_9000'
AC = f'{PY} -m jepa_ros.training.train_ac'
AC_COMMON = '--steps 3000 --snapshot-every 1000 --eval-every 500 --log-every 100 --threads 1'
# Planner energy of every row unless the row says otherwise: the 'changed' token weighting won
# the energy comparison on the reference model (energy rows below), so models are compared with it.
ENERGY = '--energy-weighting changed --support-std 0'
RECOVERY = '--energy-weighting changed'      # the same energy for action recovery

# Shared data: (marker folder, commands).
DATA = {
    '1v': (f'{DATA_1V}/heldout', [
        f'{PY} -m jepa_ros.data.collect --out {DATA_1V}/play --episodes 400 --seed 0 --no-append',
        f'{PY} -m jepa_ros.data.collect --out {DATA_1V}/heldout --episodes 40 --seed 1 '
        '--no-append']),
    '2v': (f'{DATA_2V}/heldout', [
        f'{PY} -m jepa_ros.data.collect --out {DATA_2V}/play --episodes 400 --seed 0 '
        '--extra-cameras side --no-append',
        f'{PY} -m jepa_ros.data.collect --out {DATA_2V}/heldout --episodes 40 --seed 1 '
        '--extra-cameras side --no-append']),
    'var2v': (f'{RUNS}/datavar2v/heldout', [
        f'{PY} -m jepa_ros.data.collect --out {RUNS}/datavar2v/play --episodes 400 --seed 0 '
        '--extra-cameras side --variation train --no-append',
        f'{PY} -m jepa_ros.data.collect --out {RUNS}/datavar2v/heldout --episodes 40 --seed 1 '
        '--extra-cameras side --variation train --no-append']),
    'c2v': (f'{RUNS}/datacontact2v/heldout', [
        f'{PY} -m jepa_ros.data.collect --out {RUNS}/datacontact2v/play --episodes 400 --seed 0 '
        '--extra-cameras side --contact-prob 0.5 --no-append',
        f'{PY} -m jepa_ros.data.collect --out {RUNS}/datacontact2v/heldout --episodes 40 '
        '--seed 1 --extra-cameras side --contact-prob 0.5 --no-append']),
    'var': (f'{RUNS}/datavar/heldout_unseen', [
        f'{PY} -m jepa_ros.data.collect --out {RUNS}/datavar/play --episodes 400 --seed 0 '
        '--variation train --no-append',
        f'{PY} -m jepa_ros.data.collect --out {RUNS}/datavar/heldout_unseen --episodes 40 '
        '--seed 1 --variation unseen --no-append']),
}


@dataclasses.dataclass
class Row:
    """One lever setting: how its model is made and how it is measured."""

    name: str
    lever: str
    setting: str
    model: str
    data: str = '1v'                       # key of DATA (play + held-out episodes)
    train: List[str] = dataclasses.field(default_factory=list)
    eval_args: str = ENERGY                # extra `jepa-ros eval` / planner options
    push_pick: bool = False                # also push and pick-and-place
    push_pick_episodes: int = PUSH_PICK_EPISODES   # episodes of each of them
    recovery_data: Optional[str] = None    # held-out episodes for action recovery
    recovery_args: Optional[str] = RECOVERY  # extra eval_world_model options; None: not measured
    reach: bool = True                     # closed-loop reach (else only action recovery)
    note: str = ''
    seed: int = HELDOUT_SEED               # first seed of the closed-loop episodes
    reach_episodes: int = REACH_EPISODES

    def held_out(self) -> str:
        """Return the held-out episode folder for action recovery."""
        return self.recovery_data or f'{DATA[self.data][0]}'


def _ac(out, data, extra=''):
    return f'{AC} --data {data}/play --out {out} --encoder {ENCODER} {AC_COMMON} {extra}'.strip()


def _rows() -> Dict[str, Row]:
    r1, r2 = f'{RUNS}/ac_1view', f'{RUNS}/ac_2view'
    rows = [
        Row('reference_gpu', 'energy',
            'official plain L1, H=1; reference model = JEPA encoder + 9000 AC steps on an H200 '
            '(old default, `h200_9000`)', ENCODER,
            train=[f'DEVICE=cuda ENCODER=jepa AC_STEPS=9000 AC_STOP=0 scripts/train_default.sh '
                   f'{RUNS}/reference_gpu  # then copy the model to {ENCODER}'],
            push_pick=True, note='needs a GPU (2.5 h on 2 CPU cores)',
            eval_args='--energy-weighting none --support-std 0', recovery_args=''),
        Row('cpu_1view', 'training length', 'JEPA encoder, 1 view, CPU 3000 steps', f'{r1}/model',
            train=[_ac(r1, DATA_1V)], push_pick=True),
        Row('cpu_2view', 'views',
            'JEPA encoder, 2 views (front + side), batch 16, 2000 of 3000 steps',
            f'{r2}/snapshots/step_002000', data='2v',
            train=[_ac(r2, DATA_2V, '--batch-size 16 --stop-at 2000')]),
    ]
    rows.append(Row('len_1view_2000', 'views',
                    'JEPA encoder, 1 view (front), batch 32, 2000 of 3000 steps',
                    f'{r1}/snapshots/step_002000', train=[_ac(r1, DATA_1V)]))
    for name, spec, setting in (('randenc', 'preset:tiny', 'random-init encoder'),
                                ('imageenc', f'{RUNS}/pretrain_image/model',
                                 'single-frame JEPA encoder')):
        out = f'{RUNS}/ac_{name}'
        train = []
        if name == 'imageenc':
            train.append(f'{PY} -m jepa_ros.training.pretrain --data {DATA_1V}/play --out '
                         f'{RUNS}/pretrain_image --objective image --mask-future-prob 0 '
                         '--steps 1000 --threads 1')
        # (these ran with a 4000-step schedule, stopped at 1000)
        common = AC_COMMON.replace('--steps 3000', '--steps 4000')
        train.append(f'{AC} --data {DATA_1V}/play --out {out} --encoder {spec} {common} '
                     '--stop-at 1000')
        rows.append(Row(f'enc_{name}', 'encoder', f'{setting}, 1000 of 4000 steps',
                        f'{out}/snapshots/step_001000', train=train,
                        push_pick=name == 'randenc'))
    rr = f'{RUNS}/ac_rand3k'
    rows.append(Row('len_rand_2000', 'training length',
                    'random-init encoder, 2000 steps (resumed at 1000 with a 3000-step schedule)',
                    f'{rr}/snapshots/step_002000',
                    train=[next(r for r in rows if r.name == 'enc_randenc').train[-1], f'mkdir -p {rr} && cp {RUNS}/ac_randenc/checkpoint.pt '
                           f'{rr}/ && {AC} --data {DATA_1V}/play --out {rr} --encoder preset:tiny '
                           f'{AC_COMMON} --stop-at 2000'], push_pick=True))
    r3 = f'{RUNS}/ac_rand3k_end'
    rows.append(Row('len_rand_3000', 'training length',
                    'random-init encoder, 3000 steps (the 2000-step run continued to the end of '
                    'its 3000-step schedule)',
                    f'{r3}/snapshots/step_003000',
                    train=rows[-1].train + [f'mkdir -p {r3} && cp {rr}/checkpoint.pt {r3}/ && '
                                            f'{AC} --data {DATA_1V}/play --out {r3} --encoder '
                                            f'preset:tiny {AC_COMMON}'],
                    push_pick=True))
    rows.append(Row('len_rand_3000_shipped', 'training length',
                    'random-init encoder, 3000 steps, with the shipped planner settings (trust '
                    'region 2.5 std); push and pick-and-place 15 episodes each',
                    f'{r3}/snapshots/step_003000', train=list(rows[-1].train),
                    eval_args='--energy-weighting changed --support-std 2.5', push_pick=True,
                    push_pick_episodes=15, recovery_args=None))
    rows.append(Row('enc_video', 'encoder',
                    'video JEPA encoder (old default), 1000 of 3000 steps (750 under a 4000 '
                    'schedule)',
                    f'{r1}/snapshots/step_001000', train=[_ac(r1, DATA_1V)]))
    ref = ENCODER
    for name, setting, args, rec in (
            ('energy_changed', 'changed-token weighting (floor 0.2), H=1', '--energy-weighting '
             'changed --support-std 0', RECOVERY),
            ('support_changed', 'changed weighting + training-support trust region '
             '(mean +- 2.5 std), H=1', '--energy-weighting changed --support-std 2.5', None),
            ('energy_h2_last', 'changed weighting, last step, H=2 (control for the next row)',
             f'{ENERGY} --horizon 2', None),
            ('energy_h2_all', 'changed weighting, averaged over both steps, H=2',
             f'{ENERGY} --horizon 2 --energy-horizon all', None)):
        rows.append(Row(name, 'energy', f'{setting}; reference model', ref, eval_args=args,
                        train=list(rows[0].train), recovery_args=rec))
    rows.append(Row('default_shipped', 'energy',
                    '`vjepa2ac_rand2000` (the default until issue 12: random-init encoder, 2000 '
                    'steps) with the shipped planner settings: changed weighting + trust region '
                    '2.5 std, H=1; push and '
                    'pick-and-place 15 episodes each',
                    'jepa_ros/assets/models/vjepa2ac_rand2000',
                    train=['FAMILY=vjepa2_ac scripts/train_default.sh runs/default  # then copy '
                           'runs/default/ac/snapshots/step_002000 to '
                           'jepa_ros/assets/models/vjepa2ac_rand2000'],
                    eval_args='--energy-weighting changed --support-std 2.5', push_pick=True,
                    push_pick_episodes=15))
    rows.append(Row('default_h2', 'energy',
                    '`vjepa2ac_rand2000` with the shipped planner settings at horizon 2 (last-step '
                    'energy); push and pick-and-place 15 episodes each',
                    'jepa_ros/assets/models/vjepa2ac_rand2000', train=list(rows[-1].train),
                    eval_args='--energy-weighting changed --support-std 2.5 --horizon 2',
                    push_pick=True, push_pick_episodes=15, recovery_args=None))
    rv = f'{RUNS}/ac_variety'
    unseen = f'{RUNS}/datavar/heldout_unseen'
    rows.append(Row('variety_none_unseen', 'scene variety',
                    'nominal play data, tested on unseen colours/lighting, 1000 of 3000 steps',
                    f'{r1}/snapshots/step_001000', data='var', train=[_ac(r1, DATA_1V)],
                    eval_args=f'{ENERGY} --variation unseen', recovery_data=unseen, reach=False))
    rows.append(Row('variety_train_unseen', 'scene variety',
                    'randomised play data, tested on unseen colours/lighting, 1000 of 3000 steps',
                    f'{rv}/snapshots/step_001000', data='var',
                    train=[_ac(rv, f'{RUNS}/datavar', '--stop-at 1000')],
                    eval_args=f'{ENERGY} --variation unseen', recovery_data=unseen, reach=False))
    rs = f'{RUNS}/ac_side'
    # the random-init recipe, as `enc_randenc` (front camera) with the same 4000-step schedule
    rows.append(Row('camera_side', 'camera placement',
                    'side camera only (looks along y: 5 cm in y moves 0.3 px), random-init '
                    'encoder, 1000 of 4000 steps (compare `enc_randenc`: front camera)',
                    f'{rs}/snapshots/step_001000', data='2v',
                    train=[f'{AC} --data {DATA_2V}/play --out {rs} --encoder preset:tiny '
                           f"{AC_COMMON.replace('--steps 3000', '--steps 4000')} --cameras side "
                           '--stop-at 1000'], push_pick=True, push_pick_episodes=15))
    rs2 = f'{RUNS}/ac_side2k'
    rows.append(Row('camera_side_2000', 'camera placement',
                    'side camera only, random-init encoder, 2000 steps in the default\'s two stages '
                    '(compare `len_rand_2000` / `default_shipped`: front camera)',
                    f'{rs2}/snapshots/step_002000', data='2v',
                    train=rows[-1].train + [f'mkdir -p {rs2} && cp {rs}/checkpoint.pt {rs2}/ && '
                                            f'{AC} --data {DATA_2V}/play --out {rs2} --encoder '
                                            f'preset:tiny {AC_COMMON} --cameras side '
                                            '--stop-at 2000'],
                    push_pick=True, push_pick_episodes=15))
    rows.extend(_compact_rows())
    return {r.name: r for r in rows}


def _wm(data, out, common, extra):
    """Return the train-wm command; options in ``extra`` replace those in ``common``."""
    opts = dict(zip(common.split()[::2], common.split()[1::2]))
    opts.update(zip(extra.split()[::2], extra.split()[1::2]))
    return f'{WM} --data {data} --out {out} ' + ' '.join(f'{k} {v}' for k, v in opts.items())


def _compact_rows() -> List[Row]:
    """End-to-end JEPA (compact family) rows: held-out seed 7000, 20 episodes per task."""
    common = ('--steps 3000 --snapshot-every 1000 --log-every 50 --eval-every 250 --threads 2')
    out = []
    for name, setting, data, extra in (
            ('e2e_2view', 'end-to-end JEPA + SIGReg, front + side, 1 latent (CLS) per view, '
             '3000 steps (the shipped `default`)', '2v', ''),
            ('e2e_2view_4tok', 'as e2e_2view with 4 pooled latents per view', '2v',
             '--latent-tokens 4'),
            ('e2e_front', 'as e2e_2view with the front camera only', '2v', '--cameras front'),
            ('e2e_2view_contact', 'contact play (--contact-prob 0.5: half the waypoints start '
             'a push-through or a grasp-and-lift), otherwise as e2e_2view but 2000 steps on one '
             'thread (it ran beside e2e_2view)', 'c2v', '--steps 2000 --threads 1')):
        run = f'{RUNS}/{name}'
        out.append(Row(name, 'end-to-end', setting, f'{run}/model', data=data,
                       train=[_wm(f'{DATA[data][0].rsplit("/", 1)[0]}/play', run,
                                  common, extra)],
                       eval_args='', push_pick=True, push_pick_episodes=20,
                       recovery_args=None, seed=COMPACT_HELDOUT_SEED))
    main = out[0]
    # Pick-and-place's grasp sub-goal left on its 20-step budget instead of the grasp check
    # (the gripper's fingers holding the cube, control/grasp.py): how the row above measured
    # before the check existed. Push and reach plan one goal image: unchanged.
    out.append(Row('e2e_2view_no_grasp_check', 'end-to-end',
                   'as e2e_2view, pick-and-place without the grasp check (`--no-grasp-check`: '
                   'the grasp sub-goal is left after its step budget, held or not)', main.model,
                   data='2v', train=list(main.train), eval_args='--no-grasp-check',
                   reach=False, push_pick=True, push_pick_episodes=20, recovery_args=None,
                   seed=COMPACT_HELDOUT_SEED))
    # Scene variety, like with like: both models after 1000 steps of a 3000-step schedule,
    # on the held-out appearance family; reach, 20 episodes.
    unseen = {'eval_args': '--variation unseen', 'push_pick': False, 'recovery_args': None,
              'seed': COMPACT_HELDOUT_SEED}
    out.append(Row('e2e_2view_unseen', 'end-to-end',
                   'e2e_2view (3000 steps, nominal play data) tested on unseen colours/lighting',
                   main.model, data='2v', train=list(main.train),
                   **dict(unseen, push_pick=True, push_pick_episodes=20)))
    out.append(Row('e2e_2view_1000_unseen', 'end-to-end',
                   'e2e_2view after 1000 steps (nominal play data), unseen colours/lighting',
                   f'{RUNS}/e2e_2view/snapshots/step_001000', data='2v',
                   train=list(main.train), **unseen))
    var = f'{RUNS}/e2e_2view_var'
    out.append(Row('e2e_2view_var_unseen', 'end-to-end',
                   'randomised play data (--variation train), 1000 of 3000 steps, unseen '
                   'colours/lighting', f'{var}/snapshots/step_001000',
                   data='var2v', train=[_wm(f'{RUNS}/datavar2v/play', var, common,
                                            '--stop-at 1000')], **unseen))
    # Appearance augmentation + invariance (train-wm --augment appearance --invariance-weight
    # 1) on the nominal play data, like with like with e2e_2view_1000_unseen: 1000 steps of a
    # 3000-step schedule, reach on the nominal and on the held-out appearance.
    aug = f'{RUNS}/e2e_2view_aug_inv'
    aug_train = [_wm(f'{RUNS}/data2v/play', aug, common,
                     '--augment appearance --invariance-weight 1 --stop-at 1000')]
    for suffix, args in (('', ''), ('_unseen', '--variation unseen')):
        out.append(Row(f'e2e_2view_aug_inv_1000{suffix}', 'end-to-end',
                       'nominal play data, each clip under a random train-range appearance + '
                       'invariance between two appearances (weight 1), 1000 of 3000 steps'
                       + (', unseen colours/lighting' if suffix else ', nominal scene'),
                       f'{aug}/snapshots/step_001000', data='2v', train=list(aug_train),
                       eval_args=args, push_pick=False, recovery_args=None,
                       seed=COMPACT_HELDOUT_SEED))
    # ... and the same run to the end of its schedule, like with like with e2e_2view.
    full = [_wm(f'{RUNS}/data2v/play', aug, common, '--augment appearance '
                '--invariance-weight 1')]
    for suffix, args in (('', ''), ('_unseen', '--variation unseen')):
        out.append(Row(f'e2e_2view_aug_inv{suffix}', 'end-to-end',
                       'as e2e_2view_aug_inv_1000, 3000 steps (the 1000-step run resumed)'
                       + (', unseen colours/lighting' if suffix else ', nominal scene'),
                       f'{aug}/model', data='2v', train=aug_train + full, eval_args=args,
                       push_pick=True, push_pick_episodes=20, recovery_args=None,
                       seed=COMPACT_HELDOUT_SEED))
    # Fine-tunes of the shipped 3000-step model (train-wm --init-from): 1000 more steps at a
    # lower peak lr, with one change each. Their eval runs on the int8 default.
    base = main.train
    tune = ('--init-from {src} --steps 1000 --lr 2e-4 --warmup-steps 50 --snapshot-every 500 '
            '--log-every 50 --eval-every 250 --threads 2')
    for name, setting, extra in (
            ('e2e_2view_ft_aug05', 'e2e_2view fine-tuned 1000 steps with half of each batch '
             'under a random train-range appearance + invariance (weight 1)',
             '--augment appearance --augment-fraction 0.5 --invariance-weight 1'),
            ('e2e_2view_ft_ro4', 'e2e_2view fine-tuned 1000 steps with a 4-step rollout loss '
             '(2 before)', '--rollout-steps 4')):
        run = f'{RUNS}/{name}'
        train = base + [f'{WM} --data {RUNS}/data2v/play --out {run} '
                        + tune.format(src=main.model) + ' ' + extra]
        for suffix, args in (('', ''), ('_unseen', '--variation unseen')):
            out.append(Row(f'{name}{suffix}', 'end-to-end', setting
                           + (', unseen colours/lighting' if suffix else ', nominal scene'),
                           f'{run}/model', data='2v', train=train, eval_args=args,
                           push_pick=True, push_pick_episodes=20, recovery_args=None,
                           seed=COMPACT_HELDOUT_SEED))
    # The shipped default: the appearance fine-tune plus its state probe (jepa-ros fit-probe,
    # on the play data and 200 episodes of randomised-scene play), which makes the folder
    # recommend goal_state_weight 10 to the planner. A copy of the fine-tune gets the probe,
    # so the fine-tune's own rows stay without it.
    aug = f'{RUNS}/e2e_2view_ft_aug05'
    run = f'{RUNS}/e2e_2view_ft_aug05_probe'
    var = f'{RUNS}/data2v/play_var'
    train = [c for c in out if c.name == 'e2e_2view_ft_aug05'][0].train + [
        f'[ -f {var}/episode_000199.npz ] || {PY} -m jepa_ros.data.collect --out {var} '
        '--episodes 200 --steps 40 --seed 2 --variation train --extra-cameras side',
        f'rm -rf {run}/model.tmp && mkdir -p {run} && cp -r {aug}/model {run}/model.tmp',
        f'{PY} -m jepa_ros.training.fit_probe --model {run}/model.tmp '
        f'--data {RUNS}/data2v/play {var} --threads 2',
        f'mv {run}/model.tmp {run}/model']
    for suffix, args in (('', ''), ('_unseen', '--variation unseen')):
        out.append(Row(f'e2e_2view_ft_aug05_probe{suffix}', 'end-to-end',
                       'e2e_2view_ft_aug05 + a state probe (latents -> end-effector position) '
                       'fitted on nominal + randomised play, a goal-position term in the energy '
                       '(weight 10, dead zone 5 cm)'
                       + (', unseen colours/lighting' if suffix else ', nominal scene'),
                       f'{run}/model', data='2v', train=train, eval_args=args,
                       push_pick=True, push_pick_episodes=20, recovery_args=None,
                       seed=COMPACT_HELDOUT_SEED))
    return out


ROWS = _rows()


def sh(cmd: str, log: Path):
    """Run a shell command from the repository root, teeing output to ``log``."""
    print(f'$ {cmd}', flush=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_WAIT_POLICY='PASSIVE', MUJOCO_GL=os.environ.get('MUJOCO_GL', 'egl'))
    with open(log, 'a') as fh:
        fh.write(f'$ {cmd}\n')
        fh.flush()
        subprocess.run(cmd, shell=True, check=True, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                       env=env)


def eval_commands(row: Row) -> List[Tuple[Path, str]]:
    """Return (result file, command) of every measurement of a row."""
    out = RUNS / row.name
    cmds = []
    if row.recovery_args is not None:
        cmds.append((out / 'recovery.json',
                     f'{PY} benchmarks/eval_world_model.py --model {row.model} --data '
                     f'{row.held_out()} --threads 1 --out {out}/recovery.json '
                     f'{row.recovery_args}'.strip()))
    base = (f'{PY} -m jepa_ros.cli eval --checkpoint {row.model} --seed {row.seed} '
            f'--baselines none --videos 1 --quiet {row.eval_args}').strip()
    if row.reach:
        cmds.append((out / 'reach' / 'results.json',
                     f'{base} --task reach --episodes {row.reach_episodes} --out {out}/reach'))
    if row.push_pick:
        cmds.append((out / 'push_pick' / 'results.json',
                     f'{base} --task push,pick_place --episodes {row.push_pick_episodes} '
                     f'--out {out}/push_pick'))
    return cmds


def run_row(row: Row, wait: bool = False):
    """
    Make the row's data and model when missing, then every missing measurement.

    ``wait`` polls for the model (made by a training run started elsewhere) instead of training.
    """
    log = RUNS / row.name / 'log.txt'
    if wait:
        import time
        while not (ROOT / row.model / 'config.json').is_file():
            time.sleep(30)
        time.sleep(5)   # let the writer finish the weights
    marker, data_cmds = DATA[row.data]
    if not (ROOT / marker).is_dir():
        for c in data_cmds:
            sh(c, log)
    if not (ROOT / row.model).is_dir():
        for c in row.train:
            sh(c, log)
    if not (ROOT / row.model).is_dir():
        raise SystemExit(f'{row.name}: {row.model} was not produced; see {log}')
    for result, cmd in eval_commands(row):
        if not (ROOT / result).is_file():
            sh(cmd, log)


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


LEVER_ORDER = ('end-to-end', 'energy', 'encoder', 'training length', 'views',
               'camera placement', 'scene variety')


def collect() -> List[dict]:
    """Return one summary dict per row that has at least one measurement, grouped by lever."""
    out = []
    for row in sorted(ROWS.values(), key=lambda r: LEVER_ORDER.index(r.lever)):
        d = RUNS / row.name
        rec, reach, pp = (_load(d / 'recovery.json'), _load(d / 'reach' / 'results.json'),
                          _load(d / 'push_pick' / 'results.json'))
        if not (rec or reach or pp):
            continue
        item = {'row': row.name, 'lever': row.lever, 'setting': row.setting,
                'model': row.model, 'note': row.note,
                'commands': row.train + [c for _, c in eval_commands(row)]}
        if rec:
            ar = rec.get('action_recovery') or {}
            item['action_recovery_cm'] = ar.get('median_translation_error_cm')
            item['zero_action_cm'] = ar.get('zero_action_median_error_cm')
            item['latent_ratio_1'] = rec['latent_prediction'].get('1', {}).get('ratio')
        for res in (reach, pp):
            if not res:
                continue
            for task, methods in res['tasks'].items():
                s = methods['planner']
                item[task] = [s['successes'], s['episodes']]
                item[f'{task}_plan_ms'] = s['plan_ms_mean']
                item[f'{task}_final_cm'] = 100 * s['final_distance_m_mean']
        out.append(item)
    return out


def merge_measured(previous: List[dict], measured: List[dict]) -> List[dict]:
    """
    Return the rows of the JSON written before, updated with the rows measured here.

    Measurements live under ``runs/`` on the machine that made them; a row measured elsewhere
    keeps its recorded figures instead of vanishing from the table.
    """
    by_name = {it['row']: it for it in previous if it.get('row') in ROWS}
    by_name.update({it['row']: it for it in measured})
    order = {name: i for i, name in enumerate(ROWS)}
    return sorted(by_name.values(), key=lambda it: (LEVER_ORDER.index(ROWS[it['row']].lever),
                                                    order[it['row']]))


def markdown(items: List[dict]) -> str:
    """Return the README table."""
    def frac(v):
        return f'{v[0]}/{v[1]}' if v else '-'

    def num(v, fmt):
        return format(v, fmt) if isinstance(v, (int, float)) else '-'
    lines = ['| lever | setting | reach | push | pick & place | action recovery [cm] '
             '(zero action) | latent ratio (1 step) | plan ms | row |',
             '|---|---|---|---|---|---|---|---|---|']
    for it in items:
        lines.append(
            f'| {it["lever"]} | {it["setting"]} | {frac(it.get("reach"))} | '
            f'{frac(it.get("push"))} | {frac(it.get("pick_place"))} | '
            f'{num(it.get("action_recovery_cm"), ".2f")} ({num(it.get("zero_action_cm"), ".2f")})'
            f' | {num(it.get("latent_ratio_1"), ".2f")} | {num(it.get("reach_plan_ms"), ".0f")} '
            f'| `{it["row"]}` |')
    return '\n'.join(lines)


def plot(items: List[dict], path: Path):
    """Bar chart of reach success and action recovery per row."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = [it['row'] for it in items]
    reach = [100 * it['reach'][0] / it['reach'][1] if it.get('reach') else 0 for it in items]
    rec = [it.get('action_recovery_cm') or 0 for it in items]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(items) + 1.5))
    axes[0].barh(names, reach, color='tab:blue')
    axes[0].axvline(95, color='k', ls='--', lw=0.8)
    axes[0].set_xlim(0, 100)
    axes[0].set_xlabel(f'reach [%], seed {HELDOUT_SEED} (e2e: {COMPACT_HELDOUT_SEED}), '
                       f'{REACH_EPISODES} ep.; target 95')
    axes[0].invert_yaxis()
    axes[1].barh(names, rec, color='tab:orange')
    zero = [it.get('zero_action_cm') for it in items if it.get('zero_action_cm')]
    if zero:
        axes[1].axvline(float(sum(zero) / len(zero)), color='k', ls=':', lw=0.8,
                        label='zero action')
        axes[1].legend(fontsize=7)
    axes[1].set_xlabel('action recovery median error [cm] (lower is better)')
    axes[1].invert_yaxis()
    axes[1].set_yticklabels([])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


PRETRAIN_RUNS = {
    'video clips (default)': (f'{RUNS}/pretrain_video', f'{PY} -m jepa_ros.training.pretrain '
                              f'--data {DATA_1V}/play --out {RUNS}/pretrain_video --steps 1000'),
    'single frames': (f'{RUNS}/pretrain_image', f'{PY} -m jepa_ros.training.pretrain --data '
                      f'{DATA_1V}/play --out {RUNS}/pretrain_image --objective image '
                      '--mask-future-prob 0 --steps 1000'),
    'single frames, no variance hinge': (
        f'{RUNS}/pretrain_image_nohinge', f'{PY} -m jepa_ros.training.pretrain --data '
        f'{DATA_1V}/play --out {RUNS}/pretrain_image_nohinge --objective image '
        '--mask-future-prob 0 --var-weight 0 --steps 1000'),
}


def plot_collapse(path: Path) -> Optional[dict]:
    """Plot the image-dependent spread and effective rank of the target features per objective."""
    import csv
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves = {}
    for label, (folder, _) in PRETRAIN_RUNS.items():
        f = ROOT / folder / 'curves.csv'
        if f.is_file():
            rows = list(csv.DictReader(f.open()))
            curves[label] = {k: [float(r[k]) for r in rows if r.get(k)]
                             for k in ('step', 'image_spread', 'eff_rank')}
    if not curves:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    from jepa_ros.training.collapse_guard import CollapseGuard
    fraction = CollapseGuard().rank_fraction
    for label, c in curves.items():
        axes[0].plot(c['step'][:len(c['image_spread'])], c['image_spread'], label=label)
        line, = axes[1].plot(c['step'][:len(c['eff_rank'])], c['eff_rank'], label=label)
        axes[1].axhline(fraction * max(c['eff_rank']), color=line.get_color(), ls=':', lw=0.8)
    axes[1].plot([], [], color='k', ls=':', lw=0.8,
                 label=f'collapse guard ({fraction:g} x peak rank)')
    axes[0].axhline(0.02, color='k', ls=':', lw=0.8, label='collapse guard (0.02)')
    axes[0].set_ylabel('image-dependent spread of targets')
    axes[1].set_ylabel('effective rank of targets')
    for ax in axes:
        ax.set_xlabel('pretraining step')
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    fig.suptitle('JEPA pretraining objective: collapse diagnostics', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return {label: {'final_image_spread': c['image_spread'][-1],
                    'final_eff_rank': c['eff_rank'][-1],
                    'min_image_spread': min(c['image_spread']), 'steps': c['step'][-1]}
            for label, c in curves.items()}


AC_CURVES = {
    'JEPA encoder (H200, batch 32)': f'{RUNS}/reference_gpu/ac',
    'JEPA encoder, 1 view (CPU, batch 32)': f'{RUNS}/ac_1view',
    'JEPA encoder, 2 views (CPU, batch 16)': f'{RUNS}/ac_2view',
    'random-init encoder (CPU)': (f'{RUNS}/ac_rand3k', f'{RUNS}/ac_rand3k_end'),
    'JEPA encoder, randomised scenes (CPU)': f'{RUNS}/ac_variety',
}


def plot_learning_curves(path: Path) -> Optional[dict]:
    """Plot validation loss / copy-last-frame baseline against AC training steps per run."""
    import csv
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    out = {}
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for label, folders in AC_CURVES.items():
        rows = []   # a run continued in another folder: its folders in order, later steps only
        for folder in (folders,) if isinstance(folders, str) else folders:
            f = ROOT / folder / 'curves.csv'
            if f.is_file():
                rows += [r for r in csv.DictReader(f.open()) if r.get('val_ratio')
                         and (not rows or float(r['step']) > float(rows[-1]['step']))]
        if not rows:
            continue
        steps = [float(r['step']) for r in rows]
        ratio = [float(r['val_ratio']) for r in rows]
        ax.plot(steps, ratio, marker='.', label=label)
        out[label] = {'steps': steps, 'val_ratio': ratio}
    if not out:
        plt.close(fig)
        return None
    ax.axhline(1.0, color='k', ls=':', lw=0.8, label='copy last frame')
    ax.set_xscale('log')
    ax.set_xlabel('AC training step')
    ax.set_ylabel('val loss / copy-last-frame')
    ax.legend(fontsize=7)
    ax.set_title('predictor learning curves (held-out clips)', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return out


def main(argv=None):
    """Command line: list, run ROW..., table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    sub = parser.add_subparsers(dest='cmd', required=True)
    sub.add_parser('list', help='rows and their commands')
    p_run = sub.add_parser('run', help='make and measure rows')
    p_run.add_argument('rows', nargs='+', choices=sorted(ROWS))
    p_run.add_argument('--wait', action='store_true',
                       help='wait for each model to appear instead of training it')
    p_tab = sub.add_parser('table', help='write JSON, markdown and PNG of the measured rows')
    p_tab.add_argument('--json', default='benchmarks/results/levers.json')
    p_tab.add_argument('--png', default='docs/images/levers.png')
    args = parser.parse_args(argv)
    if args.cmd == 'list':
        for row in ROWS.values():
            print(f'{row.name}: {row.lever}: {row.setting}')
            for c in row.train + [c for _, c in eval_commands(row)]:
                print(f'    {c}')
        return 0
    if args.cmd == 'run':
        for name in args.rows:
            run_row(ROWS[name], wait=args.wait)
        return 0
    items = merge_measured(_load(Path(args.json)) or [], collect())
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(items, indent=1) + '\n')
    if items:
        plot(items, Path(args.png))
    curves = plot_learning_curves(Path(args.png).with_name('levers_learning_curves.png'))
    if curves:
        Path(args.json).with_name('levers_learning_curves.json').write_text(
            json.dumps(curves, indent=1) + '\n')
    collapse = plot_collapse(Path(args.png).with_name('collapse_spread.png'))
    if collapse:
        Path(args.json).with_name('levers_pretraining.json').write_text(
            json.dumps({'runs': collapse, 'commands': {k: v[1] for k, v in
                                                       PRETRAIN_RUNS.items()}}, indent=1) + '\n')
        print(json.dumps(collapse, indent=1))
    print(markdown(items))
    print(f'wrote {args.json} and {args.png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
