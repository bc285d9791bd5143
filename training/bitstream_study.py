"""Does the H.264 bitstream say more about each block's best strength than its QP? (motion vectors, prediction)

    python -m training.bitstream_study [--settings crf30,crf36,qp32] [--clips 12] [--threads 2]

A diagnostic, not part of the app. The per-block map Auto feeds the model comes from each macroblock's QP (and the
strength refiner). Two more pieces of evidence sit in the stream, exported by FFmpeg with
`export_side_data=venc_params+mvs`:
  1. Reference QP. An inter block is predicted from a reference frame; if the reference was quantised more finely
     (mb-tree lowers the QP of blocks that are referenced), the block may be better than its own QP says. The map
     "refqp a" restores at the QP (1 - a) * own + a * reference (reference = the nearest I/P frame in the vector's
     direction, at the vector's source block; intra blocks keep their own QP), against one strength per frame.
  2. Prediction type. Blocks with no vector (intra), one (uni-predicted) or two (bi-predicted). For every picture
     type x prediction class, the offset o (quality x e^o on the QP map) that minimises the class's squared error,
     from restorations of whole frames at 13 offsets (an upper bound: picked on the same clips it is scored on).
Results are printed and go to docs/strength_map_study.md by hand.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from engine.auto.qp import qp_to_quality, quality_map_from_qp
from engine.evaluation.metrics import psnr
from engine.media.video_reader import frame_qp_map
from training.auto_proof import DEFAULT_CLIP_DATA, encode_clip, load_restorer, parse_setting
from training.calibrate_qp import build_clips

PICT = {1: "I", 2: "P", 3: "B"}
CLASSES = ("intra", "uni", "bi")
OFFSETS = np.round(np.arange(-0.6, 1.2001, 0.15), 3)
BLEND = (0.5, 1.0)


def decode_with_vectors(path: Path) -> list[tuple[np.ndarray, np.ndarray, str, np.ndarray | None]]:
    """[(RGB, per-macroblock QP, picture type, motion vectors or None)] in display order."""
    out = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {"export_side_data": "venc_params+mvs"}
        for frame in container.decode(stream):
            try:
                vectors = frame.side_data["MOTION_VECTORS"].to_ndarray()
            except KeyError:  # intra frames carry none
                vectors = None
            out.append((frame.to_ndarray(format="rgb24"), frame_qp_map(frame).astype(np.float64),
                        PICT.get(int(frame.pict_type), "?"), vectors))
    return out


def _block(v, key: str, limit: int) -> int:
    return int(np.clip(int(v[key]) // 16, 0, limit - 1))


def vector_maps(frames: list, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For frame k: (reference QP per macroblock, nan for intra; prediction class 0/1/2 per macroblock)."""
    _, qp, kind, vectors = frames[k]
    rows, cols = qp.shape
    acc, area = np.zeros((rows, cols)), np.zeros((rows, cols))
    past, future = np.zeros((rows, cols), bool), np.zeros((rows, cols), bool)
    if vectors is not None and kind != "I":
        before = next((j for j in range(k - 1, -1, -1) if frames[j][2] != "B"), None)
        after = next((j for j in range(k + 1, len(frames)) if frames[j][2] != "B"), None)
        for v in vectors:
            y, x = _block(v, "dst_y", rows), _block(v, "dst_x", cols)
            (past if v["source"] < 0 else future)[y, x] = True
            ref = before if v["source"] < 0 else after
            if ref is not None:
                size = int(v["w"]) * int(v["h"])
                acc[y, x] += size * frames[ref][1][_block(v, "src_y", rows), _block(v, "src_x", cols)]
                area[y, x] += size
    ref_qp = np.where(area > 0, acc / np.maximum(area, 1), np.nan)
    classes = np.where(~(past | future), 0, np.where(past & future, 2, 1))
    return ref_qp, classes


def study(restorer, clips: list, mode: str, value: int, workdir: Path) -> dict:
    per_clip: dict[str, list] = {}
    class_sse: dict[tuple, np.ndarray] = {}
    for i, clip in enumerate(clips):
        frames = decode_with_vectors(encode_clip(clip, workdir / f"{mode}{value}_{i}.mkv", "h264", mode, value))
        scores: dict[str, list] = {}
        for k, (clean, (rgb, qp, kind, _)) in enumerate(zip(clip, frames)):
            h, w = rgb.shape[:2]
            ref_qp, classes = vector_maps(frames, k)
            scores.setdefault("per-frame", []).append(psnr(clean, restorer.restore(rgb, float(qp_to_quality(qp.mean())))))
            for a in (0.0,) + BLEND:
                effective = np.where(np.isnan(ref_qp), qp, (1 - a) * qp + a * np.nan_to_num(ref_qp))
                qmap = quality_map_from_qp(effective, h, w, "h264")
                scores.setdefault(f"refqp {a:g}", []).append(psnr(clean, restorer.restore(rgb, qmap)))
            base = quality_map_from_qp(qp, h, w, "h264")
            for j, o in enumerate(OFFSETS):
                out = restorer.restore(rgb, np.clip(base * np.exp(o), 1, 100).astype(np.float32)).astype(np.float64)
                sse = ((out - clean) ** 2).sum(-1)
                sse = np.pad(sse, ((0, -h % 16), (0, -w % 16))).reshape(-(-h // 16), 16, -(-w // 16), 16).sum((1, 3))
                for c in range(3):
                    mask = classes[:sse.shape[0], :sse.shape[1]] == c
                    if mask.any():
                        class_sse.setdefault((kind, CLASSES[c]), np.zeros((len(OFFSETS), 2)))[j] += (sse[mask].sum(),
                                                                                                     mask.sum())
        for name, values in scores.items():
            per_clip.setdefault(name, []).append(float(np.mean(values)))
    frame = np.array(per_clip["per-frame"])
    maps = {}
    for name, values in per_clip.items():
        d = np.array(values) - frame
        maps[name] = {"minus_per_frame": round(float(d.mean()), 4),
                      "se": round(float(d.std(ddof=1) / np.sqrt(len(d))), 4) if len(d) > 1 else None,
                      "wins": int((d > 0).sum()), "clips": len(d)}
    zero = int(np.argmin(np.abs(OFFSETS)))
    classes_out = {f"{kind} {cls}": {"blocks": int(t[0, 1]), "best_offset": float(OFFSETS[int(np.argmin(t[:, 0]))]),
                                     "gain_db": round(float(10 * np.log10(t[zero, 0] / t[:, 0].min())), 4)}
                   for (kind, cls), t in sorted(class_sse.items())}
    return {"setting": f"{mode}{value}", "maps": maps, "classes": classes_out}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.bitstream_study", description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="crf30,crf36,qp32")
    parser.add_argument("--data", type=Path, default=DEFAULT_CLIP_DATA)
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.time()
    restorer = load_restorer(None, "cpu")
    clips = build_clips(args.data, args.clips, args.frames, 320, 240, 0)
    with tempfile.TemporaryDirectory(prefix="bitstream_study_") as tmp:
        for text in args.settings.split(","):
            result = study(restorer, clips, *parse_setting(text.strip()), Path(tmp))
            print(result["setting"], flush=True)
            for name, m in result["maps"].items():
                print(f"  {name:10s} − per-frame {m['minus_per_frame']:+.4f} ± {m['se']} ({m['wins']}/{m['clips']})")
            for name, c in result["classes"].items():
                print(f"  {name:10s} {c['blocks']:6d} blocks  best offset {c['best_offset']:+.2f}  "
                      f"gain {c['gain_db']:.3f} dB on those blocks", flush=True)
    print(f"{time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
