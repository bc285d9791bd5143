"""The quality plot's rows (QP, strength, PSNR, restore time), their curves and colours, and its legend."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

BACKGROUND, FOREGROUND = "#1e1e20", "#a0a0a5"
COLOURS = {"qp": "#c8c8cc", "estimate": "#c8c8cc", "strength": "#4a90d9", "qp_quality": "#8d8d93",
           "export_strength": "#e8a33d", "restore_ms": "#b48ead", "psnr_input": "#e5534b",
           "psnr_restored": "#57ab5a", "playhead": "#f0d060"}
FRAME_TYPE_STYLE = {"I": ("s", 8, "#e5534b"), "P": ("o", 6, "#57ab5a"), "B": ("t", 7, "#539bf5")}
AXIS_WIDTH = 52  # same width on every row so the frames line up vertically

pg.setConfigOptions(antialias=True, background=BACKGROUND, foreground=FOREGROUND)
# Pens stay 1 px (cosmetic): Qt strokes wider antialiased zig-zags (QP alternating over I/P/B frames) ~100x slower.


def _pen(name: str, width: float = 1.0, dashed: bool = False):
    return pg.mkPen(COLOURS[name], width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)


def _chip(colour: str, text: str, symbol: str = "━") -> str:
    return f"<span style='color:{colour}'>{symbol}</span>&nbsp;{text}"


def build_rows(graphics: pg.GraphicsLayoutWidget) -> tuple[dict, dict, dict]:
    """(plots by row, curves by series, I/P/B markers) in `graphics`, every row sharing the frame axis."""
    plots = {}
    tick_font = QFont()
    tick_font.setPointSizeF(8)
    for row, (key, label) in enumerate((("source", "QP"), ("strength", "quality"), ("psnr", "PSNR dB"),
                                        ("time", "ms"))):
        plot = graphics.addPlot(row=row, col=0)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=True, y=False)
        plot.enableAutoRange(x=False)  # the x range is the whole clip, set per media, shared by all rows
        # Long clips: draw only what is in view, at most a few points per pixel column.
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        for side in ("left", "bottom"):
            plot.getAxis(side).setTickFont(tick_font)
        # No grid: pyqtgraph draws it with the axes, which then span the whole plot and repaint their text on
        # every playhead step; in playback that halved the restored frame rate while dragging the slider.
        plot.getAxis("left").setWidth(AXIS_WIDTH)
        plot.setLabel("left", label)
        plot.hideButtons()
        if key != "time":
            plot.getAxis("bottom").setStyle(showValues=False)
            plot.getAxis("bottom").setHeight(4)
        if plots:
            plot.setXLink(plots["source"])
        plot.playhead = pg.InfiniteLine(angle=90, movable=False, pen=_pen("playhead", 1.2, dashed=True))
        plot.addItem(plot.playhead, ignoreBounds=True)
        plots[key] = plot
    plots["time"].setLabel("bottom", "frame")
    plots["strength"].setYRange(0, 100, padding=0.05)
    plots["strength"].enableAutoRange(y=False)

    src, strength = plots["source"], plots["strength"]
    curves = {
        "source": src.plot(pen=_pen("qp")),
        "qp_quality": strength.plot(pen=_pen("qp_quality", 1.0)),
        "strength": strength.plot(pen=_pen("strength"), symbol="o", symbolSize=4,
                                  symbolBrush=COLOURS["strength"], symbolPen=None),
        "export_strength": strength.plot(pen=_pen("export_strength")),
        "psnr_input": plots["psnr"].plot(pen=_pen("psnr_input")),
        "psnr_restored": plots["psnr"].plot(pen=_pen("psnr_restored"), symbol="o", symbolSize=4,
                                            symbolBrush=COLOURS["psnr_restored"], symbolPen=None),
        "restore_ms": plots["time"].plot(pen=_pen("restore_ms"), symbol="o", symbolSize=4,
                                         symbolBrush=COLOURS["restore_ms"], symbolPen=None),
    }
    markers = {}
    for kind, (symbol, size, colour) in FRAME_TYPE_STYLE.items():
        marker = pg.ScatterPlotItem(symbol=symbol, size=size, brush=pg.mkBrush(colour), pen=None)
        src.addItem(marker)
        markers[kind] = marker
    return plots, curves, markers


def legend_html(stats, has_reference: bool) -> str:
    """The coloured key above the rows: only the series that can have data for this media."""
    qp = stats.has("qp")
    parts = [_chip(COLOURS["qp"], "QP" if qp else "estimated quality")]
    parts += [_chip(c, k, {"s": "■", "o": "●", "t": "▼"}[s]) for k, (s, _n, c) in FRAME_TYPE_STYLE.items()]
    parts += [_chip(COLOURS["strength"], "strength used")]
    if qp:
        parts.append(_chip(COLOURS["qp_quality"], "QP → quality"))
    if stats.has("export_strength"):
        parts.append(_chip(COLOURS["export_strength"], "export"))
    if has_reference:
        parts += [_chip(COLOURS["psnr_input"], "PSNR input"), _chip(COLOURS["psnr_restored"], "PSNR restored")]
    parts.append(_chip(COLOURS["restore_ms"], "restore time"))
    return "&nbsp;&nbsp;&nbsp;".join(parts)
