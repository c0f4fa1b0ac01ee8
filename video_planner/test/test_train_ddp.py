"""Data-parallel training: two gloo processes (as torchrun would start) end with identical weights."""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from torch.utils.data import default_collate

from video_planner.model import load_checkpoint
from video_planner.model.trainer import CHECKPOINT_NAME

from test_train import make_dataset, make_trainer  # noqa: E402  (the tiny set-up shared with test_train.py)

torch.set_num_threads(1)


def _ddp_worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        # A different seed per rank gives different initial weights and batches: the weights can only
        # agree at the end if rank 0's are broadcast at the start and the gradients are averaged.
        trainer = make_trainer(out, steps=4, seed=rank)
        trainer.fit()
        torch.save({'model': trainer.model.state_dict(), 'ema': trainer.ema.state_dict(),
                    'world': trainer.world_size, 'losses': trainer.loss_history}, out / f'rank{rank}.pt')
    finally:
        dist.destroy_process_group()


def _gradient_worker(rank, world, port, out):
    """One training step on a batch of this rank's own, its local gradient saved beside the synchronised one."""
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        trainer = make_trainer(out, steps=1, seed=rank, grad_clip=0.0)   # no clipping: the raw gradient
        batch = default_collate([make_dataset(n=4, seed=10 + rank)[i] for i in range(4)])
        params = list(trainer.model.parameters())
        torch.manual_seed(99)   # the same noise and timesteps for the local and the synchronised pass
        trainer.model.train()
        local = torch.autograd.grad(trainer.loss_fn(batch), params)
        torch.manual_seed(99)
        trainer.train_step(batch)
        torch.save({'local': [g.clone() for g in local], 'synced': [p.grad.clone() for p in params]},
                    out / f'grad{rank}.pt')
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_gloo_training_keeps_weights_equal_across_ranks(tmp_path):
    mp.spawn(_ddp_worker, args=(2, _free_port(), tmp_path), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f'rank{r}.pt', weights_only=True) for r in (0, 1))
    assert r0['world'] == r1['world'] == 2
    assert r0['losses'] != r1['losses']  # each rank trained on its own batches
    for k in r0['model']:
        torch.testing.assert_close(r0['model'][k], r1['model'][k], msg=k)
        torch.testing.assert_close(r0['ema'][k], r1['ema'][k], msg=k)
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME).step == 4  # rank 0 wrote it


def test_data_parallel_gradients_are_the_mean_of_the_ranks_gradients(tmp_path):
    mp.spawn(_gradient_worker, args=(2, _free_port(), tmp_path), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f'grad{r}.pt', weights_only=True) for r in (0, 1))
    assert any(not torch.allclose(a, b) for a, b in zip(r0['local'], r1['local']))   # the batches differ
    for a, b, synced0, synced1 in zip(r0['local'], r1['local'], r0['synced'], r1['synced']):
        torch.testing.assert_close(synced0, synced1)
        # The mean, as one process would get on both batches together; a sum would be twice that.
        torch.testing.assert_close(synced0, (a + b) / 2)
