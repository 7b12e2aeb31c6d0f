# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
"""The prepared GPU check script runs end to end on the CPU (tiny presets) and records parity."""

import importlib.util
import json

import torch

torch.set_num_threads(1)


def _load_script(project_root, name):
    spec = importlib.util.spec_from_file_location(name, project_root / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_runs_on_cpu(project_root, vjepa2_tiny_dir, tmp_path):
    script = _load_script(project_root, 'gpu_check_models')
    out = tmp_path / 'gpu.json'
    rc = script.main(['--device', 'cpu', '--quick', '--min-time', '0.01', '--fixture',
                      str(vjepa2_tiny_dir), '--out', str(out)])
    result = json.loads(out.read_text())
    assert rc == 0, result.get('traceback')
    assert result['parity']['passed']
    assert set(result['parity']['max_abs_diff']) == {'enc_video', 'enc_frame', 'z', 'pred_out',
                                                     'pred_out_incremental'}
    kinds = [r['model'] for r in result['throughput']]
    assert kinds.count('encoder') == 2 and kinds.count('predictor') == 2
    assert kinds.count('speedup') == 2
    assert all(r['speedup'] > 0 for r in result['throughput'] if r['model'] == 'speedup')
    agree = {r['model']: r for r in result['throughput']}
    assert agree['predictor_incremental_vs_full']['fp32']['max_abs_diff'] < 1e-4
    assert agree['encoder_bf16_vs_fp32']['finite']


def test_gpu_check_reports_a_bad_fixture(project_root, tmp_path):
    script = _load_script(project_root, 'gpu_check_models')
    out = tmp_path / 'gpu.json'
    rc = script.main(['--device', 'cpu', '--quick', '--fixture', str(tmp_path / 'none'),
                      '--out', str(out)])
    result = json.loads(out.read_text())
    assert rc == 2 and 'FileNotFoundError' in result['error']
