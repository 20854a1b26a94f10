import random

import numpy as np
import torch

import mvkit
from mvkit.cli import main as cli_main


def test_setup_seeds_everything_and_returns_device():
    dev = mvkit.setup(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    mvkit.setup(123)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
    assert dev.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert mvkit.setup(0, device="cpu").type == "cpu"


def test_cli_help_lists_commands(capsys):
    assert cli_main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("synth", "extract", "train", "bench", "demo"):
        assert name in out
    assert cli_main(["nope"]) == 2
