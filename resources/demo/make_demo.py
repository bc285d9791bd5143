"""Rebuild the bundled demo media from Big Buck Bunny (CC-BY 3.0, (c) Blender Foundation, www.bigbuckbunny.org).

    python resources/demo/make_demo.py [path/to/bigbuckbunny.mp4]

Writes bbb_demo.mp4 (the whole 5.3 s clip re-encoded with libx264 at a starved CRF so blocking and ringing are
plainly visible; audio copied) and bbb_demo.jpg (one frame saved by libjpeg at quality 15).
"""
import sys
from pathlib import Path

import av
from PIL import Image

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "data" / "video" / "bigbuckbunny.mp4"
CRF, JPEG_QUALITY, STILL_FRAME = "37", 15, 60


def main(source: Path) -> None:
    with av.open(str(source)) as inp, av.open(str(HERE / "bbb_demo.mp4"), "w") as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        ain = inp.streams.audio[0] if inp.streams.audio else None
        vout = out.add_stream("libx264", rate=vin.average_rate)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p"
        vout.time_base = vin.time_base
        vout.options = {"crf": CRF, "preset": "medium", "g": "50"}
        aout = out.add_stream_from_template(ain) if ain else None
        streams = [vin] + ([ain] if ain else [])
        decoded = 0
        for packet in inp.demux(*streams):
            if packet.stream is ain:
                if packet.dts is not None:
                    packet.stream = aout
                    out.mux(packet)
                continue
            for frame in packet.decode():
                if decoded == STILL_FRAME:
                    Image.fromarray(frame.to_ndarray(format="rgb24")).save(HERE / "bbb_demo.jpg", quality=JPEG_QUALITY)
                decoded += 1
                frame.pict_type = 0  # let x264 choose
                for p in vout.encode(frame):
                    out.mux(p)
        for p in vout.encode(None):
            out.mux(p)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
