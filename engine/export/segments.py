"""The resume record: a hidden work folder beside the destination holding finished closed-GOP segments and a
manifest (settings fingerprint, source identity, segment frame ranges). A segment counts only once its file is
complete, flushed and renamed and the manifest says so, so a kill at any instant leaves a consistent record."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import OutputError
from .atomic import fsync_file, output_error, write_text_atomic

MANIFEST_VERSION = 1
MANIFEST = "manifest.json"


def work_dir_for(dst) -> Path:
    """Where an export to `dst` keeps its segments; it exists only while an interrupted export can resume."""
    dst = Path(dst)
    return dst.with_name(f".{dst.name}.restora-parts")


def source_identity(src: Path) -> dict:
    st = src.stat()
    return {"path": str(src.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


@dataclass
class SegmentRecord:
    index: int
    first_frame: int
    frames: int
    file: str
    bytes: int
    quality_sum: float = 0.0  # for the report's mean quality over resumed frames
    corrupt_frames: int = 0


class SegmentStore:
    def __init__(self, dst: Path, fingerprint: str, source: dict, segment_frames: int, encoder_threads: int) -> None:
        self.dir = work_dir_for(dst)
        self.fingerprint, self.source = fingerprint, source
        self.segment_frames, self.encoder_threads = segment_frames, encoder_threads
        self.done: dict[int, SegmentRecord] = {}

    # ---- lifecycle -------------------------------------------------------------------------------------
    def open(self, resume: bool) -> int:
        """Prepare the folder; with resume, keep the verified segments of an earlier run. Returns frames kept."""
        if resume and self._load():
            return sum(r.frames for r in self.done.values())
        self.remove()
        try:
            self.dir.mkdir()
        except OSError as exc:
            raise output_error(exc, self.dir) from None
        self._save()
        return 0

    def _load(self) -> bool:
        try:
            data = json.loads((self.dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if (data.get("version") != MANIFEST_VERSION or data.get("fingerprint") != self.fingerprint
                or data.get("source") != self.source or data.get("segment_frames") != self.segment_frames):
            return False
        # Re-encoding must use the thread count of the first run: x264 is deterministic per thread count.
        self.encoder_threads = int(data.get("encoder_threads", self.encoder_threads))
        for raw in data.get("segments", []):
            record = SegmentRecord(**raw)
            path = self.dir / record.file
            if path.is_file() and path.stat().st_size == record.bytes:
                self.done[record.index] = record
        for pattern in ("*.part", "*.tmp"):
            for stray in self.dir.glob(pattern):
                stray.unlink(missing_ok=True)  # being written when the run died
        self._save()
        return True

    def _save(self) -> None:
        data = {"version": MANIFEST_VERSION, "fingerprint": self.fingerprint, "source": self.source,
                "segment_frames": self.segment_frames, "encoder_threads": self.encoder_threads,
                "segments": [asdict(self.done[i]) for i in sorted(self.done)]}
        try:
            write_text_atomic(self.dir / MANIFEST, json.dumps(data, indent=1))
        except OSError as exc:
            raise output_error(exc, self.dir) from None

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- segments --------------------------------------------------------------------------------------
    def segment_of(self, frame_index: int) -> int:
        return frame_index // self.segment_frames

    def is_done(self, segment: int) -> bool:
        return segment in self.done

    def part_path(self, segment: int) -> Path:
        return self.dir / f"seg-{segment:06d}.nut.part"

    def commit(self, segment: int, first_frame: int, frames: int, quality_sum: float, corrupt: int) -> None:
        part = self.part_path(segment)
        final = part.with_suffix("")  # drop ".part"
        try:
            fsync_file(part)
            os.replace(part, final)
        except OSError as exc:
            raise output_error(exc, final) from None
        self.done[segment] = SegmentRecord(segment, first_frame, frames, final.name, final.stat().st_size,
                                           quality_sum, corrupt)
        self._save()

    def ordered_paths(self, total_frames: int) -> list[Path]:
        """Segment files covering frames 0..total_frames-1 in order; anything missing is an internal error."""
        paths, expected = [], 0
        for index in sorted(self.done):
            record = self.done[index]
            if record.first_frame != expected:
                break
            paths.append(self.dir / record.file)
            expected += record.frames
        if expected != total_frames:
            raise OutputError(f"resume record is incomplete ({expected} of {total_frames} frames); "
                              "export again without resume")
        return paths
