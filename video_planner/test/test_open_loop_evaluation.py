"""Plan-quality metrics: PSNR/SSIM against known values, the held-out grouping, and the report tables."""
import cv2
import numpy as np
import pytest
import torch

from video_planner.errors import VideoPlannerError
from video_planner.model import VideoModel, load_model_config
from video_planner.evaluation.open_loop import (_heldout_patterns, ablate_text, clip_group, evaluate_plans, psnr, ssim,
                                         to_markdown)

torch.set_num_threads(1)


def image(seed=0, size=32):
    rng = np.random.default_rng(seed)
    im = cv2.GaussianBlur(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), (5, 5), 1.0)
    return im


def test_psnr_matches_its_definition():
    a = np.full((8, 8, 3), 100, np.uint8)
    assert psnr(a, a) == float('inf')
    # A uniform error of 10 grey levels: MSE 100 -> 10 log10(255^2 / 100).
    assert psnr(a, a + 10) == pytest.approx(10 * np.log10(255 ** 2 / 100))


def test_ssim_is_one_for_identical_images_and_falls_with_noise_and_shift():
    a = image()
    assert ssim(a, a) == pytest.approx(1.0)
    noisy = np.clip(a + np.random.default_rng(1).normal(0, 25, a.shape), 0, 255).astype(np.uint8)
    very_noisy = np.clip(a + np.random.default_rng(1).normal(0, 80, a.shape), 0, 255).astype(np.uint8)
    assert 1.0 > ssim(a, noisy) > ssim(a, very_noisy)
    # A brightness offset keeps structure: SSIM stays much higher than PSNR would suggest.
    assert ssim(a, np.clip(a.astype(int) + 20, 0, 255).astype(np.uint8)) > ssim(a, very_noisy)


def test_clips_are_grouped_by_held_out_arm_then_paraphrase():
    pats = _heldout_patterns()
    assert clip_group({'arm': 'kinova', 'instruction': 'lift the red cube'}, 'kinova', pats) == 'held_out_arm'
    assert clip_group({'arm': 'panda', 'instruction': 'hoist the red cube'}, 'kinova', pats) == \
        'held_out_paraphrase'
    assert clip_group({'arm': 'panda', 'instruction': 'give the blue can a push to the left'}, 'kinova', pats) \
        == 'held_out_paraphrase'
    assert clip_group({'arm': 'panda', 'instruction': 'lift the red cube'}, 'kinova', pats) == 'seen'
    assert clip_group({'arm': 'panda', 'instruction': 'x', 'split': 'heldout'}, 'kinova', pats) == \
        'held_out_paraphrase'


class TableEncoder:
    def encode_batch(self, instructions, tokens=0):
        assert tokens == 0, 'the stand-in has no token states'
        return np.stack([np.random.default_rng(len(i)).normal(size=384).astype(np.float32)
                         for i in instructions])

    def encode(self, instruction):
        return self.encode_batch([instruction])[0]


def test_evaluation_reports_every_group_with_per_frame_scores():
    cfg = load_model_config('tiny')
    torch.manual_seed(0)
    model = VideoModel(cfg).eval()
    with torch.no_grad():  # zero-initialised output layers ignore the instruction until trained: wake them
        for param in model.parameters():
            param.add_(0.02 * torch.randn_like(param))
    s, k = cfg.image_size, cfg.horizon
    clips = []
    for i, (arm, text) in enumerate([('panda', 'lift the red cube'), ('kinova', 'lift the red cube'),
                                     ('panda', 'hoist the red cube'), ('ur5', 'touch the green can')]):
        frames = np.stack([image(10 * i + j, s) for j in range(k + 1)])
        clips.append({'frame0': frames[0], 'future': frames[1:], 'instruction': text, 'arm': arm})
    result = evaluate_plans(model, clips, TableEncoder(), steps=2, batch_size=3, held_out_arm='kinova')
    groups = result['groups']
    assert [groups[g]['clips'] for g in ('seen', 'held_out_arm', 'held_out_paraphrase')] == [2, 1, 1]
    for g in groups.values():
        assert len(g['psnr_per_frame']) == k and len(g['ssim_per_frame']) == k
        assert 0 < g['psnr'] < 100 and -1 <= g['ssim'] <= 1
    md = to_markdown(result)
    assert '| held_out_arm | 1 |' in md and 'copy-frame0' in md and 'text ablation none,' in md
    # Text ablations condition on another clip's instruction or on none; the report names the ablation.
    text = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(ablate_text(text, 'shuffle'), text[[2, 0, 1]])
    assert not ablate_text(text, 'drop').any() and ablate_text(text, 'none') is text
    with_text, without_text = [], []
    evaluate_plans(model, clips, TableEncoder(), steps=2, batch_size=3, held_out_arm='kinova', examples=with_text)
    dropped = evaluate_plans(model, clips, TableEncoder(), steps=2, batch_size=3, held_out_arm='kinova',
                             text_ablation='drop', examples=without_text)
    assert 'text ablation drop' in to_markdown(dropped)
    assert any(not np.array_equal(a['plan'], b['plan']) for a, b in zip(with_text, without_text))
    with pytest.raises(VideoPlannerError, match='text ablation'):
        evaluate_plans(model, clips, TableEncoder(), steps=2, text_ablation='reverse')


def test_command_scores_recorded_episodes_and_writes_sample_grids(tmp_path, capsys):
    from ros_harness import tiny_checkpoint

    from video_planner.data.generate import GenerateConfig, generate
    from video_planner.evaluation.open_loop import main
    data = tmp_path / 'episodes'
    generate(GenerateConfig(arms=('panda', 'kinova'), tasks=('lift',), episodes=2, seed=50_000, out=data),
             progress=False)
    out = tmp_path / 'eval'
    assert main(['--checkpoint', str(tiny_checkpoint()), '--data', str(data), '--out', str(out), '--steps', '2',
                 '--dynamics', 'learned', '--text-cache', str(tmp_path / 'text')]) == 0
    md = (out / 'eval.md').read_text()
    assert 'End-effector path after inverse dynamics' in md and '| held_out_arm |' in md
    groups = __import__('json').loads((out / 'eval.json').read_text())['groups']
    assert groups['seen']['ee_error_mm']['learned']['plan'] > 0
    cfg = VideoModel.load(tiny_checkpoint()).config
    for arm in ('panda', 'kinova'):
        grid = cv2.imread(str(out / f'samples_{arm}.png'))
        # two rows (truth, plan) of K+1 frames, upscaled 2x
        assert grid.shape[0] > 2 * 2 * cfg.image_size and grid.shape[1] > 2 * (cfg.horizon + 1) * cfg.image_size
    assert (out / 'samples.png').is_file() and 'kinova' in (out / 'samples.md').read_text()
    # Another inverse-dynamics checkpoint can be scored; a missing one is a clear error, not a traceback.
    assert main(['--checkpoint', str(tiny_checkpoint()), '--data', str(data), '--out', str(tmp_path / 'e2'),
                 '--steps', '2', '--dynamics', 'learned', '--idm-checkpoint', str(tmp_path / 'none.pt'),
                 '--text-cache', str(tmp_path / 'text')]) == 2
    assert 'none.pt does not exist' in capsys.readouterr().err


def test_hint_models_are_scored_with_the_hint_the_planner_gives(tmp_path):
    """A target_hint model's plans get the recorded mask ('truth') or a grounding network's ('auto' or a
    checkpoint), and the report says which; a model without a hint channel gets none."""
    from ros_harness import tiny_checkpoint, tiny_grounding_checkpoint, tiny_hint_checkpoint

    from video_planner.evaluation.open_loop import hint_source
    model = VideoModel.load(tiny_hint_checkpoint()).eval()
    s, k = model.config.image_size, model.config.horizon
    clips = []
    for i, text in enumerate(['lift the red cube', 'touch the green can', 'hoist the red cube']):
        frames = np.stack([image(10 * i + j, s) for j in range(k + 1)])
        target = np.zeros((s, s), bool)
        target[2 + i:8 + i, 3:9] = True
        clips.append({'frame0': frames[0], 'future': frames[1:], 'instruction': text, 'arm': 'panda',
                      'target0': target})
    plans = {}
    for name in ('none', 'truth', str(tiny_grounding_checkpoint())):
        examples = []
        result = evaluate_plans(model, clips, TableEncoder(), steps=2, batch_size=3, held_out_arm='kinova',
                                examples=examples, per_arm=3, hint_fn=hint_source(model, name, TableEncoder()),
                                hint_name=name)
        assert f'target hint {name} (guidance 1),' in to_markdown(result)
        plans[name] = np.stack([e['plan'] for e in examples])
    assert not np.array_equal(plans['none'], plans['truth'])
    # Hint guidance reaches the sampler, and the report says so.
    guided = []
    result = evaluate_plans(model, clips, TableEncoder(), steps=2, batch_size=3, held_out_arm='kinova',
                            examples=guided, per_arm=3, hint_fn=hint_source(model, 'truth'), hint_name='truth',
                            hint_guidance=3.0)
    assert 'target hint truth (guidance 3),' in to_markdown(result)
    assert not np.array_equal(np.stack([e['plan'] for e in guided]), plans['truth'])
    # Dropping the text drops the hint with it: the plans are those of the empty condition.
    dropped = []
    evaluate_plans(model, clips, TableEncoder(), steps=2, batch_size=3, held_out_arm='kinova', examples=dropped,
                   per_arm=3, hint_fn=hint_source(model, 'truth'), text_ablation='drop')
    no_hint_dropped = []
    evaluate_plans(model, clips, TableEncoder(), steps=2, batch_size=3, held_out_arm='kinova',
                   examples=no_hint_dropped, per_arm=3, text_ablation='drop')
    np.testing.assert_array_equal(np.stack([e['plan'] for e in dropped]),
                                  np.stack([e['plan'] for e in no_hint_dropped]))
    assert hint_source(VideoModel.load(tiny_checkpoint()), 'truth') is None
    with pytest.raises(VideoPlannerError, match='target0'):
        evaluate_plans(model, [{k: v for k, v in c.items() if k != 'target0'} for c in clips], TableEncoder(),
                       steps=2, hint_fn=hint_source(model, 'truth'))
