#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
GPU check of the jepa_ros models: fixture parity in fp32, then giant-size throughput in bf16.

1. Parity: loads the official-layout fixture (``--fixture``, the vjepa2_tiny folder) with
   ``load_vjepa2`` on the device, with TF32 off, and compares ``enc_video``, ``enc_frame``, ``z``
   and ``pred_out`` (max abs diff < 1e-4), plus incremental rollouts against the full forward.
2. Throughput (random weights, autocast bf16, 256 px): the ViT-g encoder (1408 wide, 40 deep,
   22 heads) in frames/s, and the official V-JEPA 2-AC predictor (1024 wide, 24 deep, 16 heads)
   in rollouts/s, plus the incremental-vs-full speed-up at horizon 2 and 4 with 400 candidates.

Sized to finish in about 2 minutes on one H200; ``--budget-s`` skips what would not fit.
``--device cpu --quick`` runs the same code on the 'tiny' presets so it can be tested anywhere.
Writes JSON to ``--out`` (also after a failure, with the error recorded).
"""

import argparse
import json
import os
from pathlib import Path
import platform
import sys
import time
import traceback

from jepa_ros.models import ACPredictor, autocast, encoder_preset, load_vjepa2
from jepa_ros.models import predictor_preset, VJEPA2Encoder
import torch
import torch.nn.functional as F

# The cached and full-recompute rollouts are the CPU benchmark's, so both measure the same thing.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import rollout_full, rollout_incremental  # noqa: E402,I100


def sync(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def timed(fn, device, items, min_time, max_reps=20):
    """Return (items per second, seconds per call) after one warm-up call."""
    fn()
    sync(device)
    reps, start = 0, time.perf_counter()
    while True:
        fn()
        sync(device)
        reps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or reps >= max_reps:
            return items * reps / elapsed, elapsed / reps


def parity(fixture, device):
    """Compare the fixture's official outputs with ours on ``device`` in fp32."""
    fixture = Path(fixture)
    cfg = json.loads((fixture / 'config.json').read_text())
    enc, pred = load_vjepa2(fixture / 'checkpoint.pt', img_size=cfg['img_size'],
                            predictor_heads=cfg['predictor']['num_heads'], device=device)
    io = {k: v.to(device) if isinstance(v, torch.Tensor) else v
          for k, v in torch.load(fixture / 'io.pt', weights_only=True).items()}
    n = pred.tokens_per_frame
    with torch.no_grad():
        z = enc(io['ctx_frames'])
        outs = {
            'enc_video': enc(io['video']),
            'enc_frame': enc.encode_image(io['frame']),
            'z': F.layer_norm(z, (z.shape[-1],)),
            'pred_out': pred(io['z'], io['actions'], io['states']),
        }
        cache, steps = pred.empty_cache(1), []
        for t in range(io['actions'].shape[1]):
            o, cache = pred.step(io['z'][:, t * n:(t + 1) * n], io['actions'][:, t],
                                 io['states'][:, t], cache)
            steps.append(o)
    diffs = {k: float((v - io[k]).abs().max()) for k, v in outs.items()}
    diffs['pred_out_incremental'] = float((torch.cat(steps, 1) - io['pred_out']).abs().max())
    return {'max_abs_diff': diffs, 'tolerance': 1e-4,
            'passed': all(d < 1e-4 for d in diffs.values())}


def _rel(a, b):
    a, b = a.float(), b.float()
    return {'max_abs_diff': float((a - b).abs().max()),
            'rel_l2': float((a - b).norm() / b.norm().clamp_min(1e-12)),
            'finite': bool(torch.isfinite(a).all())}


def agreement_encoder(enc, px, device):
    """Compare the encoder in bf16 autocast with fp32 on two random images."""
    img = torch.randn(2, 3, px, px, device=device)
    with torch.no_grad():
        ref = enc.encode_image(img)
        with autocast(device, 'bf16'):
            low = enc.encode_image(img)
    return {'model': 'encoder_bf16_vs_fp32', **_rel(low, ref)}


def agreement_predictor(pred, z0, device):
    """Compare incremental with full rollouts (fp32 and bf16) on 8 random candidates."""
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(8, 3, 7, device=device, generator=g)
    s = torch.randn(8, 3, 7, device=device, generator=g)
    out = {'model': 'predictor_incremental_vs_full'}
    with torch.no_grad():
        out['fp32'] = _rel(rollout_incremental(pred, z0, a, s), rollout_full(pred, z0, a, s))
        with autocast(device, 'bf16'):
            low = rollout_incremental(pred, z0, a, s)
        out['bf16_vs_fp32'] = _rel(low, rollout_full(pred, z0, a, s))
    return out


def throughput(device, quick, budget_end, min_time, log):
    """Time the big (or, with quick, tiny) encoder and predictor; return a list of records."""
    name = 'tiny' if quick else 'giant'
    px = 64 if quick else 256
    records = []
    torch.manual_seed(0)
    with torch.device(device):
        enc = VJEPA2Encoder(encoder_preset(name, img_size=px)).eval()
    n_params = sum(p.numel() for p in enc.parameters())
    log(f'encoder {name}: {n_params / 1e6:.0f}M parameters')
    records.append(agreement_encoder(enc, px, device))
    log(f'  encoder bf16 vs fp32: {records[-1]}')
    for batch in ((1, 8) if quick else (1, 16, 64)):
        if time.monotonic() > budget_end:
            records.append({'model': 'encoder', 'batch': batch, 'skipped': 'time budget'})
            continue
        img = torch.randn(batch, 3, px, px, device=device)
        with torch.no_grad(), autocast(device, 'bf16'):
            rate, sec = timed(lambda: enc.encode_image(img), device, batch, min_time)
        records.append({'model': 'encoder', 'preset': name, 'params': n_params, 'img_size': px,
                        'precision': 'autocast bf16', 'batch': batch, 'frames_per_s': rate,
                        'ms_per_batch': 1e3 * sec})
        log(f'  encoder batch {batch:4d}: {rate:9.1f} frames/s ({1e3 * sec:.1f} ms)')
    enc_dim = enc.config.embed_dim
    enc = None  # free the encoder before building the predictor
    if torch.device(device).type == 'cuda':
        torch.cuda.empty_cache()

    with torch.device(device):
        pred = ACPredictor(predictor_preset(name, encoder_dim=enc_dim, img_size=px,
                                            patch_size=encoder_preset(name).patch_size)).eval()
    n_params = sum(p.numel() for p in pred.parameters())
    log(f'predictor {name}: {n_params / 1e6:.0f}M parameters, '
        f'{pred.tokens_per_frame} tokens per frame')
    z0 = torch.randn(1, pred.tokens_per_frame, enc_dim, device=device)
    records.append(agreement_predictor(pred, z0, device))
    log(f'  predictor incremental vs full: {records[-1]}')
    for batch in ((1, 8) if quick else (1, 64, 400)):
        if time.monotonic() > budget_end:
            records.append({'model': 'predictor', 'batch': batch, 'skipped': 'time budget'})
            continue
        a = torch.randn(batch, 2, 7, device=device)
        s = torch.randn(batch, 2, 7, device=device)
        with torch.no_grad(), autocast(device, 'bf16'):
            rate, sec = timed(lambda: rollout_incremental(pred, z0, a, s), device, batch,
                              min_time)
        records.append({'model': 'predictor', 'preset': name, 'params': n_params,
                        'img_size': px, 'precision': 'autocast bf16', 'batch': batch,
                        'horizon': 2, 'rollouts_per_s': rate, 'ms_per_batch': 1e3 * sec})
        log(f'  predictor batch {batch:4d}: {rate:9.1f} rollouts/s (horizon 2, '
            f'{1e3 * sec:.1f} ms)')
    candidates = 50 if quick else 400
    for horizon in (2, 4):
        if time.monotonic() > budget_end:
            records.append({'model': 'speedup', 'horizon': horizon, 'skipped': 'time budget'})
            continue
        a = torch.randn(candidates, horizon, 7, device=device)
        s = torch.randn(candidates, horizon, 7, device=device)
        with torch.no_grad(), autocast(device, 'bf16'):
            _, full_s = timed(lambda: rollout_full(pred, z0, a, s), device, 1, min_time, 3)
            _, inc_s = timed(lambda: rollout_incremental(pred, z0, a, s), device, 1, min_time,
                             3)
        records.append({'model': 'speedup', 'preset': name, 'horizon': horizon,
                        'candidates': candidates, 'full_s': full_s, 'incremental_s': inc_s,
                        'speedup': full_s / inc_s})
        log(f'  horizon {horizon}, {candidates} candidates: full {full_s:.3f} s, incremental '
            f'{inc_s:.3f} s, x{full_s / inc_s:.2f}')
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--fixture', default=str(Path(__file__).resolve().parents[2] / 'shared'
                                                 / 'fixtures' / 'vjepa2_tiny'),
                        help='vjepa2_tiny fixture folder (default ../shared/fixtures/...)')
    parser.add_argument('--out', required=True, help='JSON results path')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--quick', action='store_true', help='tiny presets, small batches')
    parser.add_argument('--budget-s', type=float, default=110.0,
                        help='skip throughput cases that would start after this many seconds')
    parser.add_argument('--min-time', type=float, default=None,
                        help='seconds to time each case (default 2.0, quick 0.1)')
    args = parser.parse_args(argv)
    start = time.monotonic()
    min_time = args.min_time if args.min_time is not None else (0.1 if args.quick else 2.0)
    if torch.device(args.device).type == 'cpu':
        torch.set_num_threads(min(4, os.cpu_count() or 1))

    def log(msg):
        print(f'[{time.monotonic() - start:6.1f} s] {msg}', flush=True)

    result = {'device': args.device, 'torch': torch.__version__,
              'python': platform.python_version(), 'quick': args.quick}
    if torch.device(args.device).type == 'cuda':
        result['gpu'] = torch.cuda.get_device_name(args.device)
        result['cuda'] = torch.version.cuda
    rc = 0
    try:
        # Parity is judged in true fp32: TF32 matmuls would blur the comparison.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        result['parity'] = parity(args.fixture, args.device)
        log(f'parity: {result["parity"]}')
        if not result['parity']['passed']:
            rc = 1
        torch.backends.cuda.matmul.allow_tf32 = True
        result['throughput'] = throughput(args.device, args.quick,
                                          start + args.budget_s, min_time, log)
        if torch.device(args.device).type == 'cuda':
            result['peak_memory_gib'] = torch.cuda.max_memory_allocated(args.device) / 2 ** 30
    except Exception as exc:  # record the failure in the JSON, then fail
        result['error'] = f'{type(exc).__name__}: {exc}'
        result['traceback'] = traceback.format_exc()
        print(result['traceback'], file=sys.stderr)
        rc = 2
    result['wall_s'] = time.monotonic() - start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + '\n')
    log(f'wrote {args.out} (exit {rc})')
    return rc


if __name__ == '__main__':
    raise SystemExit(main())
