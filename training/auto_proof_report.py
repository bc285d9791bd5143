"""Markdown report of the Auto-strength proof (training/auto_proof.py): one table per codec, then the goals."""
from __future__ import annotations

GOAL_JPEG_DB, GOAL_H264_DB, GOAL_HEVC_RATIO = -0.2, -0.2, 0.8

H264_HEADER = ["| setting | mean QP I/P/B | input | best fixed (q) | Auto per-frame (mean q) | Auto per-block "
               "(mean q) | per-block − best | per-block − per-frame | map's mean − per-frame | QP map alone − per-frame "
               "| I/P/B correction (per-frame) | goal |",
               "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]


def _ok(flag) -> str:
    return "yes" if flag else "**no**"


def _ratio(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def h264_table(rows: list[dict]) -> list[str]:
    lines = list(H264_HEADER)
    for r in rows:
        qps = "/".join(f"{r['qp_by_type'].get(t, float('nan')):.1f}" for t in "IPB")
        lines.append(f"| {r['setting']} | {qps} | {r['input']:.2f} | {r['best_fixed']:.2f} ({r['best_quality']}) "
                     f"| {r['per_frame']:.2f} ({r['per_frame_quality']:.1f}) | {r['per_block']:.2f} "
                     f"({r['per_block_quality']:.1f}) | {r['block_minus_best']:+.2f} | "
                     f"{r['block_minus_frame']:+.3f} ± {r['block_minus_frame_se']:.3f} ({r['block_wins']}/{r['clips']}) | "
                     f"{r['map_mean_minus_frame']:+.3f} | {r['qp_map_minus_frame']:+.3f} | "
                     f"{r.get('frame_types_gain', 0.0):+.3f} | {_ok(r['goal_met'])} |")
    return lines


def to_markdown(result: dict) -> str:
    s = result["settings"]
    lines = [f"## Auto strength, measured ({s['model']}, calibration: {s['calibration']})", "",
             f"Mean RGB PSNR in dB. JPEG: {s['jpeg_images']} LIVE1 centre crops of {s['crop']}px. Video: "
             f"{s['clips']} clips x {s['frames']} frames at {s['size']} from {s['clip_data']}; best fixed = the "
             f"single quality maximising PSNR over all frames of that row (grid {s['grid']}, then refined).", ""]
    if result["jpeg"]:
        lines += ["### JPEG (Pillow)", "",
                  "| QF | input | told QF | Auto | Auto − told | Auto picked | blind head | blind picked | goal |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
        lines += [f"| {r['qf']} | {r['input']:.2f} | {r['told']:.2f} | {r['auto']:.2f} | {r['auto_minus_told']:+.2f} "
                  f"| {r['q_auto']:.1f} ({'/'.join(r['auto_source'])}) | {r['blind']:.2f} | {r['q_blind']:.1f} "
                  f"| {_ok(r['goal_met'])} |" for r in result["jpeg"]]
        lines.append("")
    if result["h264"]:
        lines += ["### H.264 (libx264, QP from the bitstream)", ""] + h264_table(result["h264"])
        refined = any(r.get("refined") for r in result["h264"])
        lines += ["", "Auto per-block = " + ("the per-macroblock QP map corrected by the model's strength refiner "
                                             "(engine/models/strength_refiner.py); map's mean = one strength per frame at "
                                             "that map's mean (its level without its spatial pattern); QP map "
                                             "alone = without the refiner. I/P/B correction = per-frame Auto "
                                             "with the fitted picture-type factor minus without it (engine/auto/qp.py; "
                                             "a frame-level refiner moves each block from that corrected level). "
                                             "Per-block − per-frame: mean ± standard error over clips (clips where "
                                             "per-block wins / clips)."
                                             if refined else "the per-macroblock QP map (this model has no "
                                             "strength refiner).")]
        lines.append("")
    check = result.get("h264_crf_check") or []
    if check:
        lines += [f"### H.264 CRF on {check[0]['clips']} clips (the CRF goal)", "",
                  f"The per-block − per-frame effect is a few thousandths of a dB, and on {s['clips']} clips its "
                  "standard error is as large, so the CRF goal is judged here, on more clips drawn with the same "
                  "seed (not the clips above plus more).", ""] + h264_table(check) + [""]
    if result["hevc"]:
        lines += ["### HEVC (libx265, no QP side data: blind head + temporal smoothing)", "",
                  "| setting | input | best fixed (q) | Auto (mean q) | gain best | gain Auto | ratio | goal |",
                  "|---|---:|---:|---:|---:|---:|---:|:---:|"]
        lines += [f"| {r['setting']} | {r['input']:.2f} | {r['best_fixed']:.2f} ({r['best_quality']}) | "
                  f"{r['auto']:.2f} ({r['auto_quality']:.1f}) | {r['best_fixed'] - r['input']:+.2f} | "
                  f"{r['auto'] - r['input']:+.2f} | {_ratio(r['gain_ratio'])} | {_ok(r['goal_met'])} |"
                  for r in result["hevc"]]
        lines.append("")
    crf_sample = f" ({check[0]['clips']} clips)" if check else ""
    lines.append(f"Goals: JPEG Auto − told ≥ {GOAL_JPEG_DB} dB; H.264 per-block − best fixed ≥ "
                 f"{GOAL_H264_DB} dB and per-block − per-frame > 0 on CRF{crf_sample}; HEVC gain ratio ≥ "
                 f"{GOAL_HEVC_RATIO}. All met: {_ok(result['all_goals_met'])}. {result['seconds']:.0f} s.")
    return "\n".join(lines) + "\n"
