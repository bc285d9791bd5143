"""What the quality dock shows for a still image: its rows plot numbers per frame, which for one frame is a lone
dot on an empty time axis, so an image gets its numbers as text instead (quality used and where it came from,
restore time, and PSNR before and after against a loaded reference)."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from .controls import describe_source
from .plot_rows import COLOURS


def _finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


def image_summary_html(result, psnr_input: float | None, psnr_restored: float | None,
                       reference: str | None) -> str:
    """`result`: the image's last RestoreResult (None before the first); `reference`: None when none is loaded,
    else its description ("" while it is being checked)."""
    rows = []
    if result is None:
        rows.append(("Restoring…", ""))
    else:
        quality = float(result.quality_used)
        source = describe_source(getattr(result, "quality_source", ""))
        rows.append(("Quality used", f"Q {quality:.0f} (strength {100 - quality:.0f})"
                                     + (f", {source}" if source else "")))
        rows.append(("Restore time", f"{result.restore_seconds * 1000:.0f} ms"))
    if reference is None:
        rows.append(("PSNR", "File → Load Reference… with the clean original measures input and restored"))
    elif _finite(psnr_input) and _finite(psnr_restored):
        gain = psnr_restored - psnr_input
        colour = COLOURS["psnr_restored"] if gain >= 0 else COLOURS["psnr_input"]
        rows.append((f"PSNR vs {reference or 'reference'}",
                     f"input {psnr_input:.2f} dB → restored {psnr_restored:.2f} dB "
                     f"<b style='color:{colour}'>({gain:+.2f} dB)</b>"))
    else:
        rows.append(("PSNR", "measuring…"))
    cells = "".join(f"<tr><td style='padding-right:14px; color:#a0a0a5'>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f"<table cellspacing='3'>{cells}</table>"


class ImageSummary(QLabel):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("imageSummary")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # numbers to copy
        self.setContentsMargins(8, 8, 8, 8)
