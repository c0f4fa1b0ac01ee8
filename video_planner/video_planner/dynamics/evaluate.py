"""Evaluate inverse dynamics on ground-truth videos: per-step translation (mm) and rotation (deg) errors.

Ground truth comes from the simulator (``video_planner.sim``: an arm run by the scripted expert,
every control step rendered), from recorded dataset episodes (``dataset_clips``: the clip layout the
video model plans in) or from the synthetic rigid-block rig (``dynamics.synthetic``). All
give ``GroundTruthClip``s: K+1 frames, depth and ee mask of frame 0, the camera, true poses and gripper.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from video_planner.camera import CameraModel
from video_planner.dynamics.motion import InverseDynamics, InverseDynamicsRefused
from video_planner.dynamics.postprocess import PostprocessConfig, postprocess, rotation_angle


@dataclass
class GroundTruthClip:
    frames: np.ndarray  # (K+1, H, W, 3) uint8
    depth0_m: np.ndarray  # (H, W) float32
    camera: CameraModel
    T_base_ee: np.ndarray  # (K+1, 4, 4)
    gripper: np.ndarray  # (K+1,)
    ee_mask0: np.ndarray | None = None
    arm: str = ''

    def as_training_clip(self) -> dict:
        """The dict layout of ``data.VideoClipDataset`` items, for LearnedInverseDynamics training."""
        return {'frame0': self.frames[0], 'future': self.frames[1:], 'ee_poses': self.T_base_ee,
                'gripper': self.gripper, 'camera': self.camera, 'arm': self.arm}


# ---------------------------------------------------------------------------------------------- sources
def record_sim_episode(arm: str, seed: int, family: str = 'pick_place', image_size: int = 64,
                       split: str = 'train', max_steps: int | None = None) -> list:
    """Run the scripted expert on a sampled task; one Observation per control step (index 0 = reset).

    ``max_steps`` stops after that many control steps (fast tests).
    """
    # Imported here: the simulator modules are only needed for simulator ground truth.
    from video_planner.sim.arms import get_arm
    from video_planner.sim.expert import ScriptedExpert
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    with TabletopWorld(arm, seed=seed, image_size=image_size) as world:
        task = sample_task(get_arm(arm), family, np.random.default_rng(seed), split=split)
        observations = [world.reset(task)]
        commands = ScriptedExpert(world).commands(task, world.T_base_ee())
        for T, g in commands[:max_steps]:
            world.step_ee(T, g)
            observations.append(world.observe())
    return observations


def clips_from_observations(observations: list, horizon: int = 8, stride: int = 3,
                            arm: str = '', every: int | None = None) -> list[GroundTruthClip]:
    """Cut an episode into clips of K+1 frames, ``stride`` control steps apart, starting every ``every``."""
    every = every or horizon * stride
    clips = []
    for t0 in range(0, len(observations) - horizon * stride, every):
        obs = [observations[t0 + i * stride] for i in range(horizon + 1)]
        clips.append(GroundTruthClip(
            frames=np.stack([o.rgb for o in obs]), depth0_m=obs[0].depth_m, camera=obs[0].camera,
            T_base_ee=np.stack([o.T_base_ee for o in obs]),
            gripper=np.array([o.gripper for o in obs], dtype=float), ee_mask0=obs[0].ee_mask, arm=arm))
    return clips


def dataset_clips(paths, horizon: int = 8, image_size: int = 64, view: str = 'camera') -> list[GroundTruthClip]:
    """One clip per recorded episode (`video-planner generate` output), spanning it like a video plan does,
    in the given view ('camera' or 'canonical': the one the inverse dynamics under test reads)."""
    from video_planner.data.reader import VideoClipDataset
    data = VideoClipDataset(paths, horizon=horizon, image_size=image_size, view=view)
    clips = []
    for i in range(len(data)):
        c = data[i]
        clips.append(GroundTruthClip(
            frames=np.concatenate([c['frame0'][None], c['future']]), depth0_m=c['depth0_m'], camera=c['camera'],
            T_base_ee=c['ee_poses'], gripper=c['gripper'], ee_mask0=c['ee_mask0'], arm=c['arm']))
    return clips


def sim_clips(arm: str, episodes: int, seed: int = 0, horizon: int = 8, stride: int = 3,
              image_size: int = 64, families=('pick_place', 'lift', 'push', 'reach')) -> list[GroundTruthClip]:
    clips = []
    for i in range(episodes):
        obs = record_sim_episode(arm, seed + i, families[i % len(families)], image_size)
        clips += clips_from_observations(obs, horizon, stride, arm)
    return clips


def synthetic_clips(n: int, seed: int = 0, horizon: int = 8, max_step_m: float = 0.02,
                    max_step_rad: float = 0.0, image_size: int = 64) -> list[GroundTruthClip]:
    from video_planner.dynamics.synthetic import RigidBlockScene, default_camera, random_trajectory
    rng = np.random.default_rng(seed)
    out = []
    with RigidBlockScene(default_camera(image_size)) as scene:
        for _ in range(n):
            e = scene.episode(random_trajectory(rng, horizon, max_step_m, max_step_rad))
            out.append(GroundTruthClip(e.frames, e.depth0_m, e.camera, e.T_base_ee, e.gripper, e.ee_mask0,
                                       'synthetic_block'))
    return out


# ---------------------------------------------------------------------------------------------- metrics
@dataclass
class EvalResult:
    method: str
    translation_mm: np.ndarray  # (clips, K) absolute position error per step
    step_translation_mm: np.ndarray  # (clips, K) error of each step's displacement
    rotation_deg: np.ndarray  # (clips, K)
    gripper_accuracy: float
    refused: np.ndarray  # (clips,) bool: postprocess refused the plan
    seconds_per_plan: np.ndarray  # (clips,)
    confidence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def summary(self) -> dict:
        ok = ~self.refused
        accepted = self.translation_mm[ok] if ok.any() else np.full((1, 1), np.nan)
        return {
            'method': self.method, 'clips': len(self.refused),
            'translation_mm_mean': float(np.mean(self.translation_mm)),
            'translation_mm_p95': float(np.percentile(self.translation_mm, 95)),
            'step_mm_mean': float(np.mean(self.step_translation_mm)),
            'step_mm_p95': float(np.percentile(self.step_translation_mm, 95)),
            'rotation_deg_mean': float(np.mean(self.rotation_deg)),
            'gripper_accuracy': self.gripper_accuracy,
            'refusal_rate': float(np.mean(self.refused)),
            'accepted_translation_mm_mean': float(np.mean(accepted)),
            'ms_per_plan_median': float(np.median(self.seconds_per_plan) * 1000),
        }


def evaluate(idm: InverseDynamics, clips: list[GroundTruthClip], use_mask: bool = True,
             post: PostprocessConfig | None = None) -> EvalResult:
    """Run ``idm`` on every clip; errors are of the raw estimate, refusals from ``postprocess``."""
    post = post or PostprocessConfig()
    trans, steps, rots, conf, refused, secs, grip_ok = [], [], [], [], [], [], []
    for c in clips:
        t0 = time.perf_counter()
        m = idm.estimate(c.frames, c.depth0_m, c.camera, c.T_base_ee[0], c.ee_mask0 if use_mask else None)
        secs.append(time.perf_counter() - t0)
        trans.append(np.linalg.norm(m.positions - c.T_base_ee[:, :3, 3], axis=1)[1:] * 1000)
        steps.append(np.linalg.norm(np.diff(m.positions, axis=0) - np.diff(c.T_base_ee[:, :3, 3], axis=0),
                                    axis=1) * 1000)
        rots.append(np.degrees(rotation_angle(m.T_base_ee[1:, :3, :3], c.T_base_ee[1:, :3, :3])))
        grip_ok.append(((m.gripper[1:] >= 0.5) == (c.gripper[1:] >= 0.5)).mean())
        conf.append(m.confidence[1:])
        try:
            postprocess(m, post)
            refused.append(False)
        except InverseDynamicsRefused:
            refused.append(True)
    return EvalResult(idm.name, np.array(trans), np.array(steps), np.array(rots), float(np.mean(grip_ok)),
                      np.array(refused), np.array(secs), np.array(conf))
