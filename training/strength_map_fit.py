"""Can cheap per-macroblock content features predict where the model wants more or less strength than the frame?

    python -m training.strength_map_fit [--threads N] [--markdown out.md]

The strength-map study (training/strength_map_study.py) found that a block oracle gains ~0.1 dB over one strength
per frame even on constant-QP clips, i.e. the spatial gain is driven by content. This fits the best *linear* rule
that moves each macroblock's quality away from the frame's calibrated quality using what Auto could compute
cheaply at playback time: the block's QP deviation and luma statistics of the decoded block (activity, gradient,
8-px blockiness, DCT high-frequency energy, share of near-zero DCT coefficients, brightness).

    log q_block = log q_frame + w . (f_block - mean_frame(f))

Features are de-meaned per frame, so the rule redistributes strength inside a frame rather than shifting the
frame's level. `w` maximises the composed mean PSNR (same composition as the study) on clips from *training*
photos; the table reports the gain over per-frame on those and on clips from held-out *test* photos.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from engine.auto.qp import qp_to_quality
from training.auto_proof import DEFAULT_CLIP_DATA, ROOT, load_restorer, write_report
from training.calibrate_qp import build_clips
from training.strength_map_study import GRID, MB, add_common_args, frame_records

DEFAULT_FIT_DATA = ROOT.parent / "shared" / "data" / "train" / "BSDS500_train"
FEATURES = ("qp_dev", "log_std", "log_grad", "blockiness", "log_hf", "zero_share", "brightness")


def _dct_matrix(n: int = 8) -> np.ndarray:
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


DCT8 = _dct_matrix()
HIGH_FREQUENCY = np.add.outer(np.arange(8), np.arange(8)) >= 6  # the 8x8 DCT's upper-right triangle


def block_features(pixels: np.ndarray, qp: np.ndarray) -> np.ndarray:
    """Decoded RGB frame + per-macroblock QP (rows x cols) -> rows x cols x len(FEATURES), not yet de-meaned."""
    rows, cols = qp.shape
    h, w = rows * MB, cols * MB
    y = cv2.cvtColor(np.ascontiguousarray(pixels[:h, :w]), cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float64)

    def per_block(a: np.ndarray) -> np.ndarray:
        return a.reshape(rows, MB, cols, MB).mean((1, 3))

    gx = np.pad(np.abs(np.diff(y, axis=1)), ((0, 0), (0, 1)))
    gy = np.pad(np.abs(np.diff(y, axis=0)), ((0, 1), (0, 0)))
    on_edge_x = (np.arange(w) % 8 == 7)[None]
    on_edge_y = (np.arange(h) % 8 == 7)[:, None]
    # steps across 8-px boundaries relative to steps inside the 8x8 blocks: > 0 where blocking shows
    across = per_block(gx * on_edge_x + gy * on_edge_y) * 4
    inside = per_block(gx * ~on_edge_x + gy * ~on_edge_y) * 4 / 7
    cells = y.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3) - 128.0
    coeffs = DCT8 @ cells @ DCT8.T
    hf = (coeffs ** 2 * HIGH_FREQUENCY).sum((2, 3)).reshape(rows, 2, cols, 2).mean((1, 3))
    zero_share = (np.abs(coeffs) < 0.5).mean((2, 3)).reshape(rows, 2, cols, 2).mean((1, 3))
    blocks = y.reshape(rows, MB, cols, MB)
    return np.stack([qp - qp.mean(), np.log1p(blocks.std((1, 3))), np.log1p(per_block(gx + gy)),
                     np.log((across + 0.5) / (inside + 0.5)), np.log1p(hf), zero_share,
                     blocks.mean((1, 3)) / 255.0 - 0.5], -1)


class Dataset:
    """Per-frame error curves (grid x rows x cols), de-meaned features and calibrated frame quality, stacked."""

    def __init__(self, records: list[dict]) -> None:
        shapes = {r["errors"].shape for r in records}
        if len(shapes) != 1:
            raise ValueError(f"all frames must share one size, got {shapes}")
        feats = np.stack([r["features"] for r in records])
        self.features = torch.tensor(feats - feats.mean((1, 2), keepdims=True))
        self.errors = torch.tensor(np.stack([r["errors"] for r in records]))  # frames x grid x rows x cols
        self.log_q = torch.tensor([float(np.log(qp_to_quality(r["qp"].mean()))) for r in records])
        self.pixels = torch.tensor([float(r["pixels"]) for r in records])
        self.settings = [r["setting"] for r in records]

    def psnr_by_setting(self, grid: np.ndarray, w: torch.Tensor, scale: torch.Tensor) -> dict:
        q = torch.exp(self.log_q[:, None, None] + (self.features / scale) @ w)
        g = torch.tensor(grid)
        q = q.clamp(float(grid[0]), float(grid[-1]))
        hi = torch.searchsorted(g, q.contiguous(), right=True).clamp(1, len(grid) - 1)
        t = (q - g[hi - 1]) / (g[hi] - g[hi - 1])
        e = ((1 - t) * torch.gather(self.errors, 1, (hi - 1)[:, None])[:, 0]
             + t * torch.gather(self.errors, 1, hi[:, None])[:, 0]).sum((1, 2))
        psnr = 10 * torch.log10(255.0 ** 2 / (e / self.pixels))
        return {s: psnr[[x == s for x in self.settings]].mean() for s in dict.fromkeys(self.settings)}


def fit_rule(data: Dataset, grid: np.ndarray, steps: int = 300, l2: float = 1e-3) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights (per standardised feature) maximising the mean over settings of the composed mean PSNR."""
    scale = data.features.flatten(0, 2).std(0).clamp_min(1e-6)
    w = torch.zeros(len(FEATURES), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.01)
    for _ in range(steps):
        loss = -torch.stack(list(data.psnr_by_setting(grid, w, scale).values())).mean() + l2 * (w ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach(), scale


def gains(data: Dataset, grid: np.ndarray, w: torch.Tensor, scale: torch.Tensor) -> dict:
    with torch.no_grad():
        base = data.psnr_by_setting(grid, torch.zeros_like(w), scale)
        got = data.psnr_by_setting(grid, w, scale)
    return {s: float(got[s] - base[s]) for s in base}


def collect(restorer, data_dir: Path, clips: int, frames: int, settings: list[str], size: str, seed: int,
            grid: np.ndarray, threads: int) -> list[dict]:
    width, height = (int(x) for x in size.lower().split("x"))
    built = build_clips(data_dir, clips, frames, width, height, seed)
    records = []
    with tempfile.TemporaryDirectory(prefix="strength_fit_") as tmp:
        for setting in settings:
            for r in frame_records(restorer, built, setting, grid, Path(tmp), threads, keep_pixels=True):
                r["features"] = block_features(r.pop("decoded"), r["qp"])
                r["setting"] = setting.upper()
                records.append(r)
            print(f"{data_dir.name} {setting}: {len(records)} frames", flush=True)
    return records


def to_markdown(w: torch.Tensor, train: dict, test: dict, note: str) -> str:
    lines = [f"Linear content rule fitted on training clips ({note}); gain in dB over per-frame, by composition.", "",
             "| clips | " + " | ".join(test) + " |", "|---|" + "---:|" * len(test),
             "| training photos (fitted) | " + " | ".join(f"{train.get(s, float('nan')):+.3f}" for s in test) + " |",
             "| test photos (held out) | " + " | ".join(f"{test[s]:+.3f}" for s in test) + " |", "",
             "Weights per standardised feature: " + ", ".join(f"{n} {v:+.3f}" for n, v in zip(FEATURES, w.tolist()))]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.strength_map_fit", description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--fit-data", type=Path, default=DEFAULT_FIT_DATA)
    parser.add_argument("--test-data", type=Path, default=DEFAULT_CLIP_DATA)
    parser.add_argument("--fit-clips", type=int, default=12)
    parser.add_argument("--test-clips", type=int, default=6)
    parser.add_argument("--frames", type=int, default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    started = time.time()
    restorer = load_restorer(args.model, "cpu")
    grid = GRID
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    fit_set = Dataset(collect(restorer, args.fit_data, args.fit_clips, args.frames, settings, args.size, 1, grid,
                              args.threads))
    test_set = Dataset(collect(restorer, args.test_data, args.test_clips, args.frames, settings, args.size, 0, grid,
                               args.threads))
    w, scale = fit_rule(fit_set, grid)
    note = (f"{restorer.name}; {args.fit_clips} clips from {args.fit_data.name} to fit, {args.test_clips} from "
            f"{args.test_data.name} to test, {args.frames} frames at {args.size}, {time.time() - started:.0f} s")
    markdown = to_markdown(w, gains(fit_set, grid, w, scale), gains(test_set, grid, w, scale), note)
    print("\n" + markdown)
    write_report(args.markdown, markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
