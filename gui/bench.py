"""GUI benchmarks in the real window (offscreen by default): `python -m gui.bench [--quick]`.

  latency   slider move -> restored frame painted, at 1280x720, median / p95 over N moves (paused)
  stall     longest gap of a 5 ms QTimer while playing and dragging the slider (GUI thread fluidity)
  memory    resident set size after `--memory-early` vs after `--memory-late` seconds of looped playback
  cold      process start -> first restored demo frame on screen (a fresh interpreter)

Settings go to a temporary folder, so running it never touches the user's preferences.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from .app import create_application  # noqa: E402
from .main_window import DEMO_VIDEO, MainWindow  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wait_until(predicate, timeout_s: float, poll_ms: int = 5) -> bool:
    """Run an idle event loop, as the app's own, until `predicate()` holds. (A loop spinning on processEvents
    would hold the GIL that the engine thread needs, and measure a slower app than users get.)"""
    if predicate():
        return True
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(poll_ms)
    poll.timeout.connect(lambda: predicate() and loop.quit())
    poll.start()
    run_loop(loop, timeout_s)
    poll.stop()
    return bool(predicate())


def run_loop(loop: QEventLoop, seconds: float) -> None:
    """`loop.exec()` for at most `seconds` (its own timer, stopped after: nothing fires into a finished loop)."""
    limit = QTimer()
    limit.setSingleShot(True)
    limit.timeout.connect(loop.quit)
    limit.start(int(seconds * 1000))
    loop.exec()
    limit.stop()


def run_for(seconds: float) -> None:
    run_loop(QEventLoop(), seconds)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Bench:
    def __init__(self, window: MainWindow, media: Path, timeout_s: float) -> None:
        self.w, self.media, self.timeout = window, media, timeout_s
        self.shown: deque = deque(maxlen=2)  # bounded: the memory run must measure the app, not this list
        window.frameShown.connect(self._on_shown)

    def _on_shown(self, result) -> None:
        self.w.compare.restored_pane.repaint()  # "on screen": include the paint, synchronously
        self.shown.append((time.perf_counter(), result))

    def open(self) -> None:
        self.w.open_path(self.media)
        if not wait_until(lambda: self.shown, self.timeout):
            raise SystemExit(f"no frame of {self.media} within {self.timeout}s")
        self.w.clock.pause()

    def latency(self, moves: int) -> dict:
        values, engine_ms = [], []
        slider = self.w.strength
        self.w.strength.set_mode("absolute")
        for i in range(moves):
            self.shown.clear()
            target = 20 + (i * 7) % 70
            if target == slider.value:
                target += 1
            t0 = time.perf_counter()
            slider.set_value(target)
            wanted = self.w._latest_request_id
            if not wait_until(lambda: self.shown and self.shown[-1][1].id == wanted, self.timeout):
                raise SystemExit("slider move produced no frame")
            values.append((self.shown[-1][0] - t0) * 1000)
            engine_ms.append(self.shown[-1][1].restore_seconds * 1000)
        # restore_median_ms is the restorer alone: the rest of the latency is the app (queues, conversion, paint).
        return {"moves": moves, "median_ms": round(statistics.median(values), 1),
                "p95_ms": round(percentile(values, 0.95), 1), "max_ms": round(max(values), 1),
                "restore_median_ms": round(statistics.median(engine_ms), 1)}

    def stall(self, seconds: float) -> dict:
        gaps = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]

        def tick():
            now = clock.nsecsElapsed()
            gaps.append((now - last[0]) / 1e6)
            last[0] = now

        probe = QTimer()
        probe.setInterval(5)
        probe.timeout.connect(tick)
        drag = QTimer()
        drag.setInterval(40)
        values = iter(list(range(10, 95, 3)) * 1000)
        drag.timeout.connect(lambda: self.w.strength.set_value(next(values)))
        self.w.clock.play()
        probe.start()
        drag.start()
        run_for(seconds)
        probe.stop()
        drag.stop()
        self.w.clock.pause()
        return {"seconds": seconds, "longest_gap_ms": round(max(gaps), 1),
                "p99_gap_ms": round(percentile(gaps, 0.99), 1), "restored_fps": round(self.w.achieved_fps, 1)}

    def memory(self, early_s: float, late_s: float) -> dict:
        self.w.clock.loop = True
        self.w.clock.play()
        run_for(early_s)
        early = rss_mib()
        run_for(max(0.0, late_s - early_s))
        late = rss_mib()
        self.w.clock.pause()
        return {"early_s": early_s, "late_s": late_s, "rss_early_mib": round(early, 1),
                "rss_late_mib": round(late, 1), "growth_mib": round(late - early, 1)}


def cold_start(media: Path, model: str | None, device: str, timeout_s: float) -> dict:
    t0 = time.time()
    cmd = [sys.executable, "-m", "gui.bench", "--cold-child", "--media", str(media), "--device", device]
    if model:
        cmd += ["--model", model]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                         cwd=Path(__file__).resolve().parents[1])
    for line in out.stdout.splitlines():
        if line.startswith("FIRST_FRAME "):
            return {"seconds": round(float(line.split()[1]) - t0, 2)}
    return {"error": (out.stderr.strip().splitlines() or ["no frame"])[-1]}


def _setup_app(settings_dir: str, model: str | None, device: str) -> QApplication:
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, settings_dir)
    app = create_application([])
    s = QSettings("Restora", "Restora")
    s.setValue("engine/model", model or "")
    s.setValue("engine/device", device)
    s.setValue("restore/mode", "absolute")
    s.sync()
    return app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gui.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--media", type=Path, default=DEMO_VIDEO, help="1280x720 clip (default: the demo)")
    ap.add_argument("--model", default=None, help="restorer name (default: the default model)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--moves", type=int, default=20)
    ap.add_argument("--zoom", type=float, default=None,
                    help="zoom (1 = 100 %%) for latency/stall: zoomed in, the preview restores the visible area only")
    ap.add_argument("--stall-seconds", type=float, default=10.0)
    ap.add_argument("--memory-early", type=float, default=60.0, help="seconds of playback for the first RSS")
    ap.add_argument("--memory-late", type=float, default=300.0, help="seconds of playback for the second RSS")
    ap.add_argument("--quick", action="store_true", help="smoke run: 5 moves, 3 s stall, 5/10 s memory")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: latency,stall,memory,cold")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--cold-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.moves, args.stall_seconds, args.memory_early, args.memory_late = 5, 3.0, 5.0, 10.0
    skip = set(filter(None, args.skip.split(",")))

    with tempfile.TemporaryDirectory(prefix="restora-bench-") as settings_dir:
        app = _setup_app(settings_dir, args.model, args.device)
        window = MainWindow()
        window.resize(1600, 1000)
        window.show()
        if args.cold_child:
            window.frameShown.connect(lambda r: (print(f"FIRST_FRAME {time.time()}", flush=True), window.close()))
            window.open_path(args.media)
            QTimer.singleShot(int(args.timeout * 1000), window.close)
            app.exec()  # an idle event loop, as in the app (a polling loop would take the GIL from the engine)
            return 0
        bench = Bench(window, args.media, args.timeout)
        bench.open()
        if args.zoom is not None:
            window.compare.view.set_zoom(args.zoom)
            run_for(0.5)
        results = {"media": str(args.media), "engine": window.engine_label.text(), "size": [window.media.width,
                                                                                          window.media.height],
                   "zoom": args.zoom, "visible_region": window.compare.visible_region()}
        if "latency" not in skip:
            results["latency"] = bench.latency(args.moves)
            print("latency", results["latency"], flush=True)
        if "stall" not in skip:
            results["stall"] = bench.stall(args.stall_seconds)
            print("stall", results["stall"], flush=True)
        if "memory" not in skip:
            results["memory"] = bench.memory(args.memory_early, args.memory_late)
            print("memory", results["memory"], flush=True)
        window.close()
    if "cold" not in skip:
        results["cold_start"] = cold_start(args.media, args.model, args.device, args.timeout)
        print("cold_start", results["cold_start"], flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
