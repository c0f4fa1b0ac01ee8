"""Issue 10 end to end: import a LeRobot-layout dataset, fine-tune a tiny video model on it with
``video-planner train --init``, and reload the result (kept apart from test_importers.py for its time)."""

import shutil

import numpy as np
import yaml

from test_importers import CONFIG_DIR, write_lerobot_dataset
from video_planner.data.episode import read_episode
from video_planner.data.importers import cli


def test_fine_tune_a_tiny_model_on_imported_episodes_and_reload_it(tmp_path):
    import torch

    from video_planner import train
    from video_planner.model.trainer import MODEL_NAME
    from video_planner.model.video_model import VideoModel

    torch.set_num_threads(1)
    root = write_lerobot_dataset(tmp_path / 'lerobot', lengths=(8, 6, 7))
    mapping = yaml.safe_load((CONFIG_DIR / 'import_lerobot.yaml').read_text())
    mapping['image_size'] = 16  # the tiny model's size
    (tmp_path / 'm.yaml').write_text(yaml.safe_dump(mapping))
    cli.import_episodes('lerobot', root, tmp_path / 'm.yaml', tmp_path / 'data')

    common = ['--data', str(tmp_path / 'data'), '--config', 'tiny', '--steps', '2', '--batch-size', '2',
              '--threads', '1', '--sample-every', '0', '--checkpoint-every', '100', '--device', 'cpu']
    assert train.main(common + ['--out', str(tmp_path / 'base')]) == 0
    # Same instructions: the second run reads their embeddings from the first run's text cache.
    shutil.copytree(tmp_path / 'base' / 'text_cache', tmp_path / 'tuned' / 'text_cache')
    assert train.main(common + ['--out', str(tmp_path / 'tuned'), '--init', str(tmp_path / 'base' / MODEL_NAME)]) == 0
    base = VideoModel.load(tmp_path / 'base' / MODEL_NAME)
    tuned = VideoModel.load(tmp_path / 'tuned' / MODEL_NAME)
    changed = [name for name, p in tuned.state_dict().items()
               if p.dtype.is_floating_point and not torch.equal(p, base.state_dict()[name])]
    assert changed, 'fine-tuning left every weight as initialised'
    frame0 = read_episode(sorted((tmp_path / 'data').glob('*.hdf5'))[0]).rgb[:1]
    text = np.zeros((1, tuned.config.text_dim), np.float32)
    plan = tuned.sample(frame0, text, steps=2, seed=0)
    assert plan.shape == (1, tuned.config.horizon, 16, 16, 3) and plan.dtype == np.uint8


def test_fine_tune_mixes_in_other_data_and_refits_inverse_dynamics(tmp_path):
    import torch

    from video_planner.data.reader import VideoClipDataset
    from video_planner.dynamics.learned import LearnedInverseDynamics
    from video_planner import train
    from video_planner.model.trainer import MODEL_NAME

    torch.set_num_threads(1)
    mapping = yaml.safe_load((CONFIG_DIR / 'import_lerobot.yaml').read_text())
    mapping['image_size'] = 16
    (tmp_path / 'm.yaml').write_text(yaml.safe_dump(mapping))
    cli.import_episodes('lerobot', write_lerobot_dataset(tmp_path / 'mine', lengths=(9, 10, 9)),
                        tmp_path / 'm.yaml', tmp_path / 'mine_data')
    cli.import_episodes('lerobot', write_lerobot_dataset(tmp_path / 'other', lengths=(9,)),
                        tmp_path / 'm.yaml', tmp_path / 'other_data')
    mine, other = sorted((tmp_path / 'mine_data').glob('*.hdf5')), sorted((tmp_path / 'other_data').glob('*.hdf5'))

    # A quarter of every batch from the other data, whatever the two sets' sizes.
    clips = VideoClipDataset([str(f) for f in mine + other], horizon=4, image_size=16)
    from video_planner.model.train import mixing_weights
    weights = mixing_weights(clips, set(other), 0.25)
    from_other = torch.tensor([path in set(other) for path, _ in clips.index])
    assert abs(float(weights[from_other].sum()) / float(weights.sum()) - 0.25) < 1e-9

    common = ['--config', 'tiny', '--steps', '2', '--batch-size', '2', '--threads', '1', '--sample-every', '0',
              '--checkpoint-every', '100', '--device', 'cpu']
    assert train.main(['--data', str(tmp_path / 'mine_data'), '--mix-data', str(tmp_path / 'other_data'),
                       '--mix-ratio', '0.25', '--out', str(tmp_path / 'mixed')] + common) == 0
    assert (tmp_path / 'mixed' / MODEL_NAME).is_file()
    assert train.main(['--data', str(tmp_path / 'mine_data'), '--mix-data', str(tmp_path / 'mine_data'),
                       '--out', str(tmp_path / 'bad')] + common) == 2  # every clip is in both sets

    # The inverse-dynamics stage is re-fitted on the imported episodes from existing weights.
    idm = ['--model', 'idm', '--steps', '2', '--batch-size', '2', '--threads', '1', '--device', 'cpu']
    assert train.main(idm + ['--data', str(tmp_path / 'other_data'), '--out', str(tmp_path / 'idm0')]) == 0
    assert train.main(idm + ['--data', str(tmp_path / 'mine_data'), '--out', str(tmp_path / 'idm1'),
                             '--init', str(tmp_path / 'idm0' / MODEL_NAME)]) == 0
    assert isinstance(LearnedInverseDynamics.load(tmp_path / 'idm1' / MODEL_NAME), LearnedInverseDynamics)
