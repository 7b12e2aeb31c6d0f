# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The trainers under DistributedDataParallel: 2 CPU processes (gloo) keep identical replicas."""

import faulthandler
import os
import queue as queue_mod

from jepa_ros.data import episode_path, write_episode
from jepa_ros.data.synthetic import synthetic_episode
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason='torch.distributed with gloo is not available')


def _agent_store():
    """
    Start a rendezvous store on a port the OS picks, as torchrun's agent does.

    Picking a free port and handing it to rank 0 races with every other process on the machine
    (CI saw rank 0 fail to bind and rank 1 wait forever); a store that already listens cannot.
    """
    return dist.TCPStore('127.0.0.1', 0, is_master=True, wait_for_workers=False)


def _worker(rank, world, ports, data, out, queue, done):
    torch.set_num_threads(1)
    # a rank that hangs writes where it is; the parent puts that in its failure message
    stacks = open(os.path.join(out, f'stacks_rank{rank}.txt'), 'w')
    faulthandler.dump_traceback_later(100, file=stacks)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR='127.0.0.1', TORCHELASTIC_USE_AGENT_STORE='True')
    from jepa_ros.training import pretrain, train_ac, train_wm
    try:
        os.environ['MASTER_PORT'] = str(ports[0])
        p = pretrain.train(pretrain.PretrainConfig(
            data=data, out=os.path.join(out, 'pre'), image_size=32, clip_len=4, batch_size=4,
            steps=3, log_every=1, checkpoint_every=3, warmup_steps=1, pred_dim=32, pred_depth=1,
            pred_heads=2, device='cpu', threads=1), log=lambda *_: None)
        os.environ['MASTER_PORT'] = str(ports[1])
        a = train_ac.train(train_ac.TrainACConfig(
            data=data, out=os.path.join(out, 'ac'), encoder=os.path.join(out, 'pre', 'model'),
            image_size=32, clip_len=3, batch_size=4, steps=3, log_every=1, eval_every=1,
            checkpoint_every=3, warmup_steps=1, pred_dim=32, pred_depth=1, val_fraction=0.0,
            device='cpu', threads=1), log=lambda *_: None)
        os.environ['MASTER_PORT'] = str(ports[2])
        w = train_wm.train(train_wm.TrainWMConfig(
            data=data, out=os.path.join(out, 'wm'), image_size=32, enc_dim=32, enc_depth=1,
            enc_heads=2, latent_dim=16, pred_dim=32, pred_depth=1, pred_heads=2, batch_size=4,
            steps=3, log_every=1, eval_every=1, checkpoint_every=3, warmup_steps=1,
            sigreg_projections=16, val_fraction=0.0, device='cpu', threads=1),
            log=lambda *_: None)
        queue.put((rank, p['params_digest'], p['loss'], a['params_digest'], a['loss'],
                   p['world_size'], w['params_digest'], w['loss']))
    except BaseException as exc:  # report instead of hanging the parent
        queue.put((rank, 'error', repr(exc)))
        raise
    done.wait(60)   # stay until the parent has both results
    faulthandler.cancel_dump_traceback_later()


def test_two_process_ddp_replicas_stay_identical(tmp_path):
    data = tmp_path / 'eps'
    for i in range(6):
        write_episode(episode_path(data, i), synthetic_episode(i, steps=8, image_size=32))
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    stores = [_agent_store() for _ in range(3)]  # one per trainer: each starts a new group
    ports = tuple(st.port for st in stores)
    done = ctx.Event()    # both ranks stay until both reported: no peer exits mid-teardown
    procs = [ctx.Process(target=_worker,
                         args=(r, 2, ports, str(data), str(tmp_path), queue, done))
             for r in range(2)]
    for p in procs:
        p.start()
    results = {}
    try:
        while len(results) < 2:
            try:
                item = queue.get(timeout=120)
            except queue_mod.Empty:
                stacks = ''.join(f'\n--- rank {r}:\n' + f.read_text()
                                 for r, f in enumerate(sorted(tmp_path.glob('stacks_rank*.txt')))
                                 if f.read_text())
                pytest.fail(f'no result within 120 s from ranks {sorted({0, 1} - set(results))}'
                            f' (exit codes {[p.exitcode for p in procs]}); got {results}'
                            f'{stacks}')
            results[item[0]] = item
            if item[1] == 'error':
                break  # the other rank may wait for this one forever; report the cause
    finally:
        done.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(r[1] != 'error' for r in results.values()), results
    r0, r1 = results[0], results[1]
    assert r0[5] == 2
    assert r0[1] == r1[1], 'pretraining replicas (model + EMA target) diverged'
    assert r0[3] == r1[3], 'AC predictor replicas diverged'
    # BatchNorm statistics included: DDP broadcasts rank 0's buffers every forward.
    assert r0[6] == r1[6], 'end-to-end world-model replicas diverged'
    # Logged losses are all-reduced, so both ranks report the same value.
    assert r0[2] == pytest.approx(r1[2]) and r0[4] == pytest.approx(r1[4])
    assert r0[7] == pytest.approx(r1[7])
    assert (tmp_path / 'ac' / 'model' / 'model.safetensors').is_file()
    assert all(p.exitcode == 0 for p in procs)
