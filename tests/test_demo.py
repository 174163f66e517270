"""The demo (``python -m xform.demo``) runs: the tour and a short ensemble training."""

import numpy as np

from xform import demo


def test_demo_runs_short(capsys):
    result = demo.main(["--steps", "12", "--batch-size", "16"])
    out = capsys.readouterr().out
    assert "ensemble" in out and "\rstep   12/12" in out and "speed-up" in out
    assert result["final_losses"].shape == (4,)
    assert np.all(np.isfinite(result["final_losses"]))
    assert np.all(result["final_losses"] < result["initial_losses"])
    assert result["speedup"] > 0
