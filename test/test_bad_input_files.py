# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""
Bad-input matrix for files: checkpoints, model folders, episodes, recordings, killed trainers.

Every row feeds one damaged or hostile file to the code that reads it and checks the answer:
one line naming the problem (exit status 2 from the CLI), never a traceback, never code run
from the file, nothing recorded lost.
"""

import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from jepa_ros.cli import main as cli_main
from jepa_ros.data.episode import list_episodes, make_episode, read_episode, write_episode
from jepa_ros.data.recording import ChunkWriter, recording_dirs, recover_recordings
from jepa_ros.models.config import CheckpointError
from jepa_ros.training.checkpoint import (capture_rng, load_checkpoint, restore_rng,
                                          save_checkpoint)
from jepa_ros.training.curves import CurveLog
from jepa_ros.utils.errors import run_main, UserError
import numpy as np
import pytest
import torch

MARKER_NAME = 'pwned'


class _Evil:
    """Unpickling this runs a command: the canary of a checkpoint that executes code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def _episode(steps=6, seed=0):
    rng = np.random.default_rng(seed)
    states = np.zeros((steps, 7), np.float32)
    states[:, 0] = 0.45 + 0.01 * np.arange(steps)
    states[:, 2] = 0.3
    return make_episode(rng.integers(0, 255, (steps, 16, 16, 3), dtype=np.uint8), states)


@pytest.fixture(scope='module')
def play_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('play')
    for i in range(3):
        write_episode(root / f'episode_{i:06d}.npz', _episode(8, i))
    return root


# ---------------------------------------------------------------- training checkpoints
def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _good_checkpoint(path):
    save_checkpoint(path, {'step': 3, 'kind': 'jepa_ros.train_ac', 'rng': [capture_rng()]})
    return path


def _pickle_bytes(obj):
    import io
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


CHECKPOINT_CASES = {
    'crafted pickle': (lambda p, m: _write(p, _pickle_bytes({'step': 1, 'x': _Evil(m)})),
                       'refusing to load'),
    'truncated': (lambda p, m: _write(p, _good_checkpoint(p).read_bytes()[:300]),
                  'truncated or corrupt'),
    'random bytes': (lambda p, m: _write(p, np.random.default_rng(0).bytes(4096)),
                     'truncated or corrupt'),
    'empty file': (lambda p, m: _write(p, b''), 'truncated or corrupt'),
    'not a dict': (lambda p, m: _write(p, _pickle_bytes([1, 2, 3])), 'not a jepa_ros training'),
    'other trainer': (lambda p, m: save_checkpoint(p, {'step': 2, 'kind': 'jepa_ros.pretrain'}),
                      "'jepa_ros.pretrain' checkpoint, not 'jepa_ros.train_ac'"),
}


@pytest.mark.parametrize('case', sorted(CHECKPOINT_CASES))
def test_bad_training_checkpoints_are_refused_with_the_fix(tmp_path, case):
    make, message = CHECKPOINT_CASES[case]
    marker = tmp_path / MARKER_NAME
    path = tmp_path / 'run' / 'checkpoint.pt'
    make(path, marker)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(path.parent, kind='jepa_ros.train_ac')
    assert '--no-resume' in str(info.value)
    assert not marker.exists(), 'the checkpoint ran code'


def test_crafted_checkpoint_in_a_run_folder_never_runs_through_train_ac(tmp_path, play_data,
                                                                        capsys):
    marker = tmp_path / MARKER_NAME
    _write(tmp_path / 'run' / 'checkpoint.pt', _pickle_bytes({'step': 1, 'x': _Evil(marker)}))
    rc = cli_main(['train-ac', '--data', str(play_data), '--out', str(tmp_path / 'run'),
                   '--encoder', 'preset:tiny', '--image-size', '16', '--steps', '2'])
    err = capsys.readouterr().err
    assert rc == 2 and not marker.exists()
    assert 'refusing to load' in err and 'posix.system' in err and 'Traceback' not in err, err


def test_checkpoint_rng_round_trip_and_old_numpy_format(tmp_path):
    sampler = np.random.default_rng(5)
    state = capture_rng(sampler)
    expected = (np.random.rand(), torch.rand(1).item(), sampler.random())
    save_checkpoint(tmp_path / 'checkpoint.pt', {'step': 4, 'rng': [state]})
    loaded = load_checkpoint(tmp_path)
    sampler2 = np.random.default_rng(0)
    restore_rng(loaded['rng'][0], sampler2)
    assert (np.random.rand(), torch.rand(1).item(), sampler2.random()) == expected
    # checkpoints of earlier versions held the numpy keys as an ndarray: they still resume
    old = dict(state, numpy=np.random.get_state())
    torch.save({'step': 4, 'rng': [old]}, tmp_path / 'old.pt')
    restore_rng(load_checkpoint(tmp_path / 'old.pt')['rng'][0])
    assert load_checkpoint(tmp_path / 'missing') is None


# ---------------------------------------------------------------- CLI: one line, exit 2
def _model_dir(tmp_path):
    from jepa_ros.models import ACPredictor, encoder_preset, predictor_preset, save_model
    from jepa_ros.models import VJEPA2Encoder
    torch.manual_seed(0)
    return save_model(tmp_path / 'model', VJEPA2Encoder(encoder_preset('tiny')),
                      ACPredictor(predictor_preset('tiny')))


def _truncated_model(tmp_path):
    src = _model_dir(tmp_path)
    dst = tmp_path / 'truncated'
    dst.mkdir()
    (dst / 'config.json').write_bytes((src / 'config.json').read_bytes())
    (dst / 'model.safetensors').write_bytes((src / 'model.safetensors').read_bytes()[:1000])
    return dst


def _random_model(tmp_path):
    dst = _truncated_model(tmp_path)
    (dst / 'model.safetensors').write_bytes(np.random.default_rng(1).bytes(5000))
    return dst


def _wrong_architecture(tmp_path):
    import json
    dst = _model_dir(tmp_path)
    meta = json.loads((dst / 'config.json').read_text())
    meta['encoder']['embed_dim'] *= 2          # weights no longer fit the architecture
    (dst / 'config.json').write_text(json.dumps(meta))
    return dst


def _corrupt_data(tmp_path):
    root = tmp_path / 'corrupt'
    root.mkdir()
    good = tmp_path / 'good.npz'
    write_episode(good, _episode())
    for i in range(2):
        (root / f'episode_{i:06d}.npz').write_bytes(good.read_bytes()[:200 + i])
    return root


CLI_CASES = {
    'eval-model, truncated model': (
        lambda t, d: ['eval-model', '--model', str(_truncated_model(t)), '--data', str(d)],
        'truncated or corrupt'),
    'eval-model, random weights file': (
        lambda t, d: ['eval-model', '--model', str(_random_model(t)), '--data', str(d)],
        'truncated or corrupt'),
    'eval-model, wrong architecture': (
        lambda t, d: ['eval-model', '--model', str(_wrong_architecture(t)), '--data', str(d)],
        'embed'),
    'eval-model, a .safetensors path': (
        lambda t, d: ['eval-model', '--model', str(_model_dir(t) / 'model.safetensors'),
                      '--data', str(d)], 'give its folder'),
    'eval-model, a .pt path': (
        lambda t, d: ['eval-model', '--model', str(_write(t / 'x.pt', b'x')), '--data', str(d)],
        'is a file'),
    'eval-model, missing data': (
        lambda t, d: ['eval-model', '--model', 'vjepa2ac_rand2000', '--data', str(t / 'none')],
        'does not exist'),
    'eval-model, a compact model': (
        lambda t, d: ['eval-model', '--model', 'default', '--data', str(d)],
        'jepa-ros eval --checkpoint default'),
    'eval-model, an untrained model': (
        lambda t, d: ['eval-model', '--model', str(_model_dir(t)), '--data', str(d)],
        'not a trained world model'),
    'train-ac, truncated checkpoint': (
        lambda t, d: ['train-ac', '--data', str(d), '--out', str(
            _write(t / 'run' / 'checkpoint.pt', b'PK\x03\x04 torn').parent),
            '--encoder', 'preset:tiny', '--image-size', '16'],
        '--no-resume'),
    'train-ac, every episode corrupt': (
        lambda t, d: ['train-ac', '--data', str(_corrupt_data(t)), '--out', str(t / 'run'),
                      '--encoder', 'preset:tiny', '--image-size', '16'],
        'episode files are unreadable, corrupt or too short'),
    'train-ac, empty data folder': (
        lambda t, d: ['train-ac', '--data', str(_write(t / 'e' / 'x.txt', b'').parent),
                      '--out', str(t / 'run'), '--encoder', 'preset:tiny'],
        'no episode_*.npz files'),
    'pretrain, every episode corrupt': (
        lambda t, d: ['pretrain', '--data', str(_corrupt_data(t)), '--out', str(t / 'run')],
        'no usable episode'),
    'train-ac, missing encoder': (
        lambda t, d: ['train-ac', '--data', str(d), '--out', str(t / 'run'), '--encoder',
                      str(t / 'no_encoder')], 'not found'),
    'train-ac, malformed --config YAML': (
        lambda t, d: ['train-ac', '--config', str(_write(t / 'c.yaml', b'steps: [1,\n')),
                      '--data', str(d)], 'c.yaml'),
    'recover, missing folder': (lambda t, d: ['recover', str(t / 'none')], 'no episode folder'),
}


@pytest.mark.parametrize('case', sorted(CLI_CASES))
def test_cli_expected_failures_are_one_line_and_exit_2(tmp_path, play_data, capsys, case):
    argv, message = CLI_CASES[case]
    rc = cli_main(argv(tmp_path, play_data))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, err
    assert err and err[-1].startswith('jepa-ros ') and ': error: ' in err[-1], err
    assert message in err[-1] and 'Traceback' not in '\n'.join(err), err


def test_bugs_keep_their_traceback():
    def buggy():
        return {}['missing']
    with pytest.raises(KeyError):
        run_main('prog', buggy)
    assert run_main('prog', lambda: None) == 0

    def refused():
        raise UserError('what to fix')
    assert run_main('prog', refused) == 2


# ---------------------------------------------------------------- episodes
def _damage(kind, path):
    data = path.read_bytes()
    if kind == 'truncated':
        path.write_bytes(data[:len(data) // 2])
    elif kind == 'random bytes':
        path.write_bytes(np.random.default_rng(2).bytes(len(data)))
    elif kind == 'bit flip':
        raw = bytearray(data)
        raw[len(raw) // 3] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif kind == 'NaN states':
        ep = _episode()
        ep.states[2, 0] = np.nan
        arrays = {k: getattr(ep, k) for k in ('frames', 'states', 'actions', 'timestamps')}
        meta = read_episode(path).metadata
        import json
        np.savez(path, metadata=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    elif kind == 'newer format':
        ep = read_episode(path)
        import json
        meta = dict(ep.metadata, format_version=99)
        arrays = {k: getattr(ep, k) for k in ('frames', 'states', 'actions', 'timestamps')}
        np.savez(path, metadata=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)


@pytest.mark.parametrize('kind, message', [
    ('truncated', 'cannot read episode'), ('random bytes', 'cannot read episode'),
    ('bit flip', 'cannot read episode'), ('NaN states', 'NaN or inf'),
    ('newer format', 'newer than this reader')])
def test_corrupt_episodes_are_refused_by_name(tmp_path, kind, message):
    from jepa_ros.data.episode import EpisodeError
    path = write_episode(tmp_path / 'episode_000000.npz', _episode(), compress=True)
    _damage(kind, path)
    with pytest.raises(EpisodeError, match=message) as info:
        read_episode(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------- recordings
def _chunked(out, steps, chunk, index=0):
    writer = ChunkWriter(out, index, {'source': 'test', 'camera': {'name': 'camera'}}, 0.1)
    ep = _episode(max(steps, 2))
    for lo in range(0, steps - steps % chunk, chunk):
        writer.write([ep.frames[lo:lo + chunk]], ep.states[lo:lo + chunk],
                     np.arange(lo, lo + chunk) * 0.1 + 5.0)
    return writer, ep


def test_recovery_rebuilds_the_killed_episode(tmp_path):
    writer, ep = _chunked(tmp_path, 23, 5)       # killed with 3 steps not yet in a chunk
    (writer.folder / '.chunk_000004.npz.x.tmp').write_bytes(b'torn')  # killed mid-write
    written = recover_recordings(tmp_path, log=lambda _: None)
    assert written == [tmp_path / 'episode_000000.npz'] and not recording_dirs(tmp_path)
    got = read_episode(written[0])
    assert got.num_steps == 20 and got.metadata['recovered'] is True
    np.testing.assert_array_equal(got.frames, ep.frames[:20])
    np.testing.assert_allclose(got.timestamps, np.arange(20) * 0.1, atol=1e-9)
    np.testing.assert_allclose(got.actions[:, 0], 0.01, atol=1e-6)


def test_recovery_keeps_readable_chunks_and_never_duplicates(tmp_path):
    writer, _ = _chunked(tmp_path, 15, 5)
    (writer.folder / 'chunk_000002.npz').write_bytes(b'damaged on disk')
    got = read_episode(recover_recordings(tmp_path, log=lambda _: None)[0])
    assert got.num_steps == 10 and got.metadata['unreadable_chunks'] == 1
    # died after writing the episode but before removing the chunks: no second copy
    _chunked(tmp_path, 10, 5, index=0)
    assert recover_recordings(tmp_path, log=lambda _: None) == []
    assert list_episodes(tmp_path) == [tmp_path / 'episode_000000.npz']
    assert not recording_dirs(tmp_path)
    _chunked(tmp_path, 1, 1, index=3)             # one step: nothing to recover, cleaned up
    assert recover_recordings(tmp_path, log=lambda _: None) == []
    assert not recording_dirs(tmp_path)


def test_recover_command(tmp_path, capsys):
    _chunked(tmp_path, 10, 5, index=7)
    assert cli_main(['recover', str(tmp_path)]) == 0
    assert '1 recovered' in capsys.readouterr().out
    assert read_episode(tmp_path / 'episode_000007.npz').num_steps == 10


# ---------------------------------------------------------------- killed training
def test_torn_curve_rows_are_dropped_on_resume(tmp_path):
    path = tmp_path / 'curves.csv'
    log = CurveLog(path)
    for step in (1, 2, 3):
        log.log(step, loss=1.0 / step, lr=0.1)
    with open(path, 'a') as fh:
        fh.write('4,0.2')                        # killed in the middle of a row
    resumed = CurveLog(path, resume_step=4)
    assert [r['step'] for r in resumed.rows] == [1.0, 2.0, 3.0]


@pytest.mark.slow
def test_train_ac_killed_with_sigkill_resumes_without_duplicate_curves(tmp_path, play_data):
    out = tmp_path / 'run'
    cmd = [sys.executable, '-m', 'jepa_ros.training.train_ac', '--data', str(play_data),
           '--out', str(out), '--encoder', 'preset:tiny', '--image-size', '16', '--steps', '400',
           '--batch-size', '2', '--checkpoint-every', '5', '--log-every', '1',
           '--val-fraction', '0', '--threads', '1']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end and proc.poll() is None:
            state = load_checkpoint(out) if (out / 'checkpoint.pt').exists() else None
            if state is not None and state['step'] >= 15:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = load_checkpoint(out, kind='jepa_ros.train_ac')['step']
    assert killed_at < 400
    cmd[cmd.index('--steps') + 1] = str(killed_at + 10)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f'resumed from {out / "checkpoint.pt"} at step {killed_at}' in done.stdout
    steps = [r['step'] for r in CurveLog.read_rows(out / 'curves.csv', 10 ** 9)]
    assert steps == sorted(set(steps)) and steps[-1] == killed_at + 10, steps
    assert load_checkpoint(out)['step'] == killed_at + 10
    assert (Path(out) / 'model' / 'model.safetensors').is_file()


def test_official_checkpoint_with_code_inside_is_refused(tmp_path):
    from jepa_ros.models.official import load_vjepa2
    marker = tmp_path / MARKER_NAME
    path = _write(tmp_path / 'vitg-384.pt', _pickle_bytes({'encoder': _Evil(marker)}))
    with pytest.raises(CheckpointError, match='weights_only=True'):
        load_vjepa2(path)
    assert not marker.exists()
