"""`video-planner train` end to end on episodes written by the real generator (pybullet), tiny config."""
import argparse
import json

import numpy as np
import pytest
import torch

from video_planner.data.generate import GenerateConfig, generate
from video_planner.data.reader import VideoClipDataset
from video_planner.model import VideoModel, load_checkpoint
from video_planner.evaluation import open_loop as evaluate_cmd
from video_planner import train as train_cmd
from video_planner.text import TextEncoder

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def episodes(tmp_path_factory):
    out = tmp_path_factory.mktemp('episodes')
    config = GenerateConfig(arms=('panda', 'kinova'), tasks=('reach',), episodes=2, seed=3, out=out,
                            image_size=16, frames=9, randomize=False)
    counts = generate(config, progress=False)
    assert counts['success'] >= 1, counts
    return out


def train(argv, text_cache=None):
    parser = argparse.ArgumentParser()
    train_cmd.add_arguments(parser)
    extra = ['--text-cache', str(text_cache)] if text_cache else []
    return train_cmd.run(parser.parse_args(argv + extra))


def test_train_command_writes_a_loadable_model_and_resumes(episodes, tmp_path, capsys):
    out = tmp_path / 'run'
    assert train(['--data', str(episodes), '--config', 'tiny', '--out', str(out), '--steps', '4',
                  '--threads', '1']) == 0
    printed = capsys.readouterr().out
    assert 'steps/s' in printed and 'trained to step 4' in printed
    summary = json.loads((out / 'train_summary.json').read_text())
    assert summary['step'] == 4 and summary['steps_per_s'] > 0
    assert (out / 'loss.png').is_file() and list((out / 'samples').glob('step_*.png'))
    # Instruction embeddings are cached on disk for the next run.
    assert len(list((out / 'text_cache').glob('*.npy'))) >= 1

    model = VideoModel.load(out / 'model.pt')
    cfg = model.config
    frame0 = np.zeros((1, cfg.image_size, cfg.image_size, 3), np.uint8)
    # The later runs share the first run's embedding cache, so the transformer loads only once.
    instruction = VideoClipDataset(episodes, horizon=cfg.horizon, image_size=16)[0]['instruction']
    emb = TextEncoder(cache_dir=out / 'text_cache').encode(instruction)
    assert model.sample(frame0, emb[None], steps=2, seed=0).shape == (1, cfg.horizon, 16, 16, 3)

    assert train(['--data', str(episodes), '--config', 'tiny', '--out', str(out), '--steps', '7', '--resume',
                  '--threads', '1'], text_cache=out / 'text_cache') == 0
    assert load_checkpoint(out / 'checkpoint.pt').step == 7

    # Fine-tuning from those weights starts a fresh step count in a new folder (here with a decaying lr).
    assert train(['--data', str(episodes), '--config', 'tiny', '--out', str(tmp_path / 'ft'), '--steps', '2',
                  '--init', str(out / 'model.pt'), '--threads', '1', '--lr-schedule', 'cosine'],
                 text_cache=out / 'text_cache') == 0
    tuned = load_checkpoint(tmp_path / 'ft' / 'checkpoint.pt')
    assert tuned.step == 2 and tuned.extra['train_config']['lr_schedule'] == 'cosine'

    parser = argparse.ArgumentParser()
    evaluate_cmd.add_arguments(parser)
    args = parser.parse_args(['--checkpoint', str(out / 'model.pt'), '--data', str(episodes), '--out',
                              str(tmp_path / 'eval'), '--steps', '2',
                              '--text-cache', str(out / 'text_cache')])
    assert evaluate_cmd.run(args) == 0
    result = json.loads((tmp_path / 'eval' / 'eval.json').read_text())
    assert sum(g['clips'] for g in result['groups'].values()) == result['settings']['clips'] >= 1
    assert (tmp_path / 'eval' / 'eval.md').read_text().startswith('Sampled plans')


@pytest.mark.parametrize('argv, message', [
    (['--config', 'tiny', '--resume'], 'no checkpoint.pt'),
    (['--config', 'huge'], "'tiny', 'default'"),
    (['--config', 'tiny', '--steps', '-1'], 'steps'),
    (['--config', 'tiny', '--init', 'missing.pt'], 'does not exist'),
    (['--config', 'tiny', '--recolourings', '1'], 'for --model grounding'),
])
def test_train_command_reports_bad_requests(episodes, tmp_path, capsys, argv, message):
    assert train(['--data', str(episodes), '--out', str(tmp_path / 'r'), '--steps', '1'] + argv) == 2
    assert message in capsys.readouterr().err


def test_train_command_rejects_a_folder_without_episodes(tmp_path, capsys):
    assert train(['--data', str(tmp_path), '--config', 'tiny', '--out', str(tmp_path / 'r')]) == 2
    assert 'no .hdf5 episode files' in capsys.readouterr().err


def test_train_command_fits_the_grounding_network_and_a_hint_model(episodes, tmp_path, capsys):
    from video_planner.grounding import Grounder
    cache = tmp_path / 'text_cache'
    assert train(['--model', 'grounding', '--data', str(episodes), '--config', 'tiny', '--out', str(tmp_path / 'g'),
                  '--steps', '3', '--recolourings', '1', '--threads', '1'], cache) == 0
    assert 'grounding trained to step 3' in capsys.readouterr().out
    grounder = Grounder.load(tmp_path / 'g' / 'model.pt')
    assert grounder.config.image_size == 16
    # A default-shaped tiny model grows the hint input from a checkpoint without it (`--init`).
    assert train(['--data', str(episodes), '--config', 'tiny', '--out', str(tmp_path / 'plain'), '--steps', '2',
                  '--threads', '1'], cache) == 0
    hint_yaml = tmp_path / 'hint.yaml'
    from video_planner.model import load_model_config
    hint_yaml.write_text(json.dumps({'model': {**load_model_config('tiny').to_dict(), 'target_hint': True}}))
    capsys.readouterr()
    assert train(['--data', str(episodes), '--config', str(hint_yaml), '--out', str(tmp_path / 'hint'), '--steps', '2',
                  '--threads', '1', '--init', str(tmp_path / 'plain' / 'model.pt')], cache) == 0
    assert 'input channels 6 -> 7' in capsys.readouterr().out
    assert VideoModel.load(tmp_path / 'hint' / 'model.pt').config.target_hint
