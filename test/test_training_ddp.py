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


def _train(which, data, out):
    """Run one trainer for 3 steps; return (params digest, loss, world size)."""
    from jepa_ros.training import pretrain, train_ac, train_wm
    if which == 'pre':
        r = pretrain.train(pretrain.PretrainConfig(
            data=data, out=os.path.join(out, 'pre'), image_size=32, clip_len=4, batch_size=4,
            steps=3, log_every=1, checkpoint_every=3, warmup_steps=1, pred_dim=32, pred_depth=1,
            pred_heads=2, device='cpu', threads=1), log=lambda *_: None)
    elif which == 'ac':
        r = train_ac.train(train_ac.TrainACConfig(
            data=data, out=os.path.join(out, 'ac'), encoder=os.path.join(out, 'pre', 'model'),
            image_size=32, clip_len=3, batch_size=4, steps=3, log_every=1, eval_every=1,
            checkpoint_every=3, warmup_steps=1, pred_dim=32, pred_depth=1, val_fraction=0.0,
            device='cpu', threads=1), log=lambda *_: None)
    else:
        r = train_wm.train(train_wm.TrainWMConfig(
            data=data, out=os.path.join(out, 'wm'), image_size=32, enc_dim=32, enc_depth=1,
            enc_heads=2, latent_dim=16, pred_dim=32, pred_depth=1, pred_heads=2, batch_size=4,
            steps=3, log_every=1, eval_every=1, checkpoint_every=3, warmup_steps=1,
            sigreg_projections=16, val_fraction=0.0, device='cpu', threads=1),
            log=lambda *_: None)
    return r['params_digest'], r['loss'], r['world_size']


def _worker(rank, world, port, which, data, out, queue, done):
    """
    One rank of one trainer, in a fresh process, as torchrun starts it.

    Each trainer gets its own pair of processes: joining a new process group after destroying
    one in the same process is what hung here now and then (rank 1 inside the teardown of the
    AC trainer's group while rank 0 waited in the next one; upstream pytorch#74666), and it is
    not how anyone runs these trainers.
    """
    torch.set_num_threads(1)
    # a rank that hangs writes where it is; the parent puts that in its failure message
    stacks = open(os.path.join(out, f'stacks_{which}_rank{rank}.txt'), 'w')
    faulthandler.dump_traceback_later(100, file=stacks)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      TORCHELASTIC_USE_AGENT_STORE='True')
    try:
        queue.put((rank,) + _train(which, data, out))
    except BaseException as exc:  # report instead of hanging the parent
        queue.put((rank, 'error', repr(exc)))
        raise
    done.wait(60)   # stay until the parent has both results
    faulthandler.cancel_dump_traceback_later()


def _run_pair(ctx, which, data, out):
    """Run ``which`` on 2 ranks; return {rank: (rank, digest, loss, world)} and exit codes."""
    store = _agent_store()   # listening before the workers start: no port race
    queue, done = ctx.Queue(), ctx.Event()   # both ranks stay until both reported
    procs = [ctx.Process(target=_worker, args=(r, 2, store.port, which, str(data), str(out),
                                               queue, done)) for r in range(2)]
    for p in procs:
        p.start()
    results = {}
    try:
        while len(results) < 2:
            try:
                item = queue.get(timeout=120)
            except queue_mod.Empty:
                stacks = ''.join(f'\n--- {f.name}:\n' + f.read_text()
                                 for f in sorted(out.glob(f'stacks_{which}_rank*.txt'))
                                 if f.read_text())
                pytest.fail(f'{which}: no result within 120 s from ranks '
                            f'{sorted({0, 1} - set(results))} (exit codes '
                            f'{[p.exitcode for p in procs]}); got {results}{stacks}')
            results[item[0]] = item
            if item[1] == 'error':
                break  # the other rank may wait for this one forever; report the cause
    finally:
        done.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(r[1] != 'error' for r in results.values()), (which, results)
    return results, [p.exitcode for p in procs]


def test_two_process_ddp_replicas_stay_identical(tmp_path):
    data = tmp_path / 'eps'
    for i in range(6):
        write_episode(episode_path(data, i), synthetic_episode(i, steps=8, image_size=32))
    ctx = mp.get_context('spawn')
    runs = {which: _run_pair(ctx, which, data, tmp_path) for which in ('pre', 'ac', 'wm')}
    (p0, p1), (a0, a1), (w0, w1) = ((runs[k][0][0], runs[k][0][1]) for k in ('pre', 'ac', 'wm'))
    assert p0[3] == 2
    assert p0[1] == p1[1], 'pretraining replicas (model + EMA target) diverged'
    assert a0[1] == a1[1], 'AC predictor replicas diverged'
    # BatchNorm statistics included: DDP broadcasts rank 0's buffers every forward.
    assert w0[1] == w1[1], 'end-to-end world-model replicas diverged'
    # Logged losses are all-reduced, so both ranks report the same value.
    assert p0[2] == pytest.approx(p1[2]) and a0[2] == pytest.approx(a1[2])
    assert w0[2] == pytest.approx(w1[2])
    assert (tmp_path / 'ac' / 'model' / 'model.safetensors').is_file()
    assert all(code == 0 for _, codes in runs.values() for code in codes)
