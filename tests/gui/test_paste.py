"""Edit → Paste and drops of image data: pixels open through a scratch PNG, copied files and paths open directly."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from gui.export_dialog import show_export_dialog
from gui.paste import prune

from .conftest import FRAME_TIMEOUT_MS, drop_and_wait, make_jpeg


def _decoded_jpeg(tmp_path) -> np.ndarray:
    return np.asarray(Image.open(make_jpeg(tmp_path / "browser.jpg")).convert("RGB"))


def _qimage(pixels: np.ndarray) -> QImage:
    h, w, _ = pixels.shape
    return QImage(np.ascontiguousarray(pixels).data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _scratch(window, tmp_path) -> Path:
    window.paster.folder = tmp_path / "cache" / "pasted"
    return window.paster.folder


def test_pasted_pixels_open_like_a_file_and_are_not_remembered_as_a_place(qtbot, window, tmp_path, jpeg):
    scratch = _scratch(window, tmp_path)
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS):
        window.open_path(jpeg)  # a file the user chose: it sets the last folder and the recent list
    pixels = _decoded_jpeg(tmp_path)
    QApplication.clipboard().setImage(_qimage(pixels))
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS) as shown:
        window.actions["paste"].trigger()
    path = Path(window.media.path)
    assert path.parent == scratch and path.name.startswith("pasted-") and path.suffix == ".png"
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), pixels)  # lossless, every pixel
    assert shown.args[0].media_id == window.media.id
    assert "JPEG tables" in window.banner.text and "from the pixels" in window.banner.text
    assert window.settings.last_folder == str(jpeg.parent.resolve())
    assert window.settings.recent_files == [str(jpeg.resolve())]
    assert not list(scratch.glob("*.part"))
    # Exporting it suggests the last export folder (here: none yet, so home), never the cache.
    window.export_dialog = None
    dialog = show_export_dialog(window)
    suggested = Path(dialog.path_edit.text())
    assert suggested.parent == Path.home() and suggested.name == f"{path.stem}_restored.png"
    dialog.close()


def test_a_copied_file_or_path_opens_that_file(qtbot, window, tmp_path, clip, jpeg):
    _scratch(window, tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    QApplication.clipboard().setMimeData(mime)
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS):
        window.actions["paste"].trigger()
    assert window.media.path == clip
    QApplication.clipboard().setText(f'"{jpeg}"\n')  # a path copied from a terminal, quotes and all
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS):
        window.actions["paste"].trigger()
    assert window.media.path == jpeg
    assert not window.paster.folder.exists()  # nothing was written for a file that already exists


def test_nothing_to_paste_says_so(qtbot, window, tmp_path):
    _scratch(window, tmp_path)
    QApplication.clipboard().setText("just some words")
    with qtbot.waitSignal(window.noticeShown, timeout=5000) as notice:
        assert window.paster.paste() is False
    assert notice.args[0] == "The clipboard holds no image and no file to open."
    assert window.media is None


def test_an_image_dragged_from_a_browser_opens(qtbot, window, tmp_path):
    scratch = _scratch(window, tmp_path)
    mime = QMimeData()
    mime.setImageData(_qimage(_decoded_jpeg(tmp_path)))
    drop_and_wait(qtbot, window, mime)
    assert Path(window.media.path).parent == scratch


def test_an_unwritable_cache_is_a_notice_not_a_crash(qtbot, window, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    window.paster.folder = blocker / "pasted"  # inside a file: mkdir fails
    QApplication.clipboard().setImage(_qimage(_decoded_jpeg(tmp_path)))
    with qtbot.waitSignal(window.noticeShown, timeout=5000,
                          check_params_cb=lambda text, level: level == "error") as notice:
        window.actions["paste"].trigger()
    assert notice.args[0].startswith("Could not keep the clipboard image in") and window.media is None


def test_the_scratch_folder_keeps_only_the_newest(tmp_path):
    for i in range(25):
        path = tmp_path / f"pasted-{i:02d}.png"
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "keep-me.txt").write_text("not ours")
    prune(tmp_path, keep=20)
    left = sorted(p.name for p in tmp_path.glob("pasted-*.png"))
    assert left == [f"pasted-{i:02d}.png" for i in range(5, 25)] and (tmp_path / "keep-me.txt").exists()


def test_the_scratch_folder_stays_under_its_byte_budget_but_keeps_the_newest(tmp_path):
    for i, size in enumerate([40, 30, 20, 100]):  # the last is the newest
        path = tmp_path / f"pasted-{i}.png"
        path.write_bytes(b"x" * size)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    prune(tmp_path, keep=20, keep_bytes=60)
    assert sorted(p.name for p in tmp_path.glob("pasted-*.png")) == ["pasted-3.png"]  # over budget alone, yet kept
    (tmp_path / "pasted-3.png").write_bytes(b"x" * 10)
    for i, size in enumerate([40, 30, 20]):
        path = tmp_path / f"pasted-{i}.png"
        path.write_bytes(b"x" * size)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    prune(tmp_path, keep=20, keep_bytes=60)
    assert sorted(p.name for p in tmp_path.glob("pasted-*.png")) == ["pasted-1.png", "pasted-2.png", "pasted-3.png"]


def test_pruning_spares_what_this_session_pasted(tmp_path):
    paths = []
    for i in range(4):
        path = tmp_path / f"pasted-{i}.png"
        path.write_bytes(b"x" * 10)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
        paths.append(path)
    prune(tmp_path, keep=1, spare=frozenset({paths[0]}))  # the oldest may still be waiting in the export queue
    assert sorted(p.name for p in tmp_path.glob("pasted-*.png")) == ["pasted-0.png", "pasted-3.png"]
