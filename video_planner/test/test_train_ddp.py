"""Data-parallel training: two gloo processes (as torchrun would start) end with identical weights."""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from video_planner.model import load_checkpoint
from video_planner.model.trainer import CHECKPOINT_NAME

from test_train import make_trainer  # noqa: E402  (the tiny trainer set-up shared with test_train.py)

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
