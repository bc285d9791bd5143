"""`python main.py benchmark`: times a training candidate by its file, and refuses bad input in one line (exit 2)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from engine.cli import main as cli_main
from engine.models.registry import save_model
from engine.models.restora_net import RestoraNet


def test_a_weights_file_is_timed_through_the_engine(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    torch.manual_seed(0)
    weights = tmp_path / "candidate.safetensors"
    save_model(RestoraNet(c1=8, c2=16, blocks2=1, embed=8, head_width=8, head="dct"), weights, "candidate")
    argv = ["benchmark", "model", "--model", str(weights), "--device", "cpu", "--precision", "fp32",
            "--size", "64x48", "40x24", "--runs", "2", "--json"]
    assert cli_main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "candidate" and result["device"] == "cpu"
    assert list(result["sizes"]) == ["64x48", "40x24"]
    assert all(entry["ms_per_frame_median"] > 0 for entry in result["sizes"].values())


@pytest.mark.parametrize("args, message", [
    (["--model", "no-such-model"], "unknown model 'no-such-model'"),
    (["--model", "missing.safetensors"], "model file not found"),
    (["--model", "JUNK"], "not a safetensors file"),
    (["--size", "1920by1080"], "is not WxH"),
    (["--size", "8x8"], "16..16384"),
    (["--runs", "0"], "at least 1"),
    (["--frames", "0"], "at least 1"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_2(args: list[str], message: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not weights")
    args = [str(junk) if a == "JUNK" else a for a in args]
    try:
        code = cli_main(["benchmark", "model", "--device", "cpu", "--size", "32x32", "--runs", "1", *args])
    except SystemExit as exc:  # argparse refuses a bad flag value itself, also with exit 2
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1 or err.splitlines()[0].startswith("usage:")
