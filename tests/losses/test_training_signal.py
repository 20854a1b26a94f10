"""Each contrastive loss actually trains: a few steps on a toy alignment problem reach R@1 = 1."""

import pytest
import torch
from torch.nn import functional as F

from mvkit.losses import create_loss


@pytest.mark.parametrize("name", ["infonce", "vse", "vse++", "weighted_rank"])
def test_loss_aligns_a_toy_problem(name):
    torch.manual_seed(0)
    n_videos, dim = 12, 16
    video_feats = torch.randn(n_videos, dim)
    # two captions per video (so duplicates reach the loss as several positives per column)
    caption_video = torch.arange(n_videos).repeat(2)
    text_feats = video_feats[caption_video] @ torch.randn(dim, dim) + 0.3 * torch.randn(
        2 * n_videos, dim
    )
    proj_t = torch.nn.Linear(dim, dim)
    proj_v = torch.nn.Linear(dim, dim)
    opt = torch.optim.Adam([*proj_t.parameters(), *proj_v.parameters()], lr=0.02)
    loss_fn = create_loss(name)
    pos = caption_video[:, None] == torch.arange(n_videos)[None, :]

    def sim():
        return F.normalize(proj_t(text_feats), dim=-1) @ F.normalize(proj_v(video_feats), dim=-1).T

    before = (sim().argmax(dim=1) == caption_video).float().mean().item()
    for _ in range(150):
        opt.zero_grad()
        loss_fn(sim(), pos).backward()
        opt.step()
    after = (sim().argmax(dim=1) == caption_video).float().mean().item()
    assert before < 0.5 and after == 1.0
