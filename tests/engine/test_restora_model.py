"""RestoraNet and its restorer: shapes, tiling, and the behaviour of the shipped weights under the control."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine.models.registry import _spec_from_file, default_model, list_models, save_model
from engine.models.restora_net import RestoraNet
from engine.restore.model_restorer import ModelRestorer

from tests.conftest import SHARED_DATA

SHIPPED = "restora-small"


def _tiny(tmp_path):
    torch.manual_seed(0)
    net = RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8)
    torch.nn.init.normal_(net.exit.weight, std=0.05)  # the exit starts at zero (identity); make it do something
    path = tmp_path / "tiny.safetensors"
    save_model(net, path, "tiny")
    return _spec_from_file(path)


def _photo(size=(160, 120)):
    """A deterministic textured test picture: gradients, edges and fine stripes."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 100 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    g = 255 * xx / w
    b = np.where((xx // 20 + yy // 20) % 2 == 0, 200, 40)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def _jpeg(rgb, q):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(buf).convert("RGB"))


def _psnr(a, b):
    return 10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2))


@pytest.mark.parametrize("shape", [(33, 47, 3), (17, 9), (64, 64, 1), (8, 8, 3)])
def test_any_size_grey_and_rgb_keep_shape_and_dtype(tmp_path, shape):
    restorer = ModelRestorer(_tiny(tmp_path), device="cpu")
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = restorer.restore(image, 30.0)
    assert out.shape == image.shape and out.dtype == image.dtype


def test_sixteen_bit_input_stays_sixteen_bit(tmp_path):
    restorer = ModelRestorer(_tiny(tmp_path), device="cpu")
    image = (np.random.default_rng(1).integers(0, 65536, (24, 40, 3))).astype(np.uint16)
    out = restorer.restore(image, 30.0)
    assert out.dtype == np.uint16 and out.shape == image.shape


def test_tiled_output_matches_whole_image(tmp_path):
    """Every output pixel keeps >= overlap/2 of context; with that above the tiny net's receptive field (~80 px),
    tiling must not change a pixel."""
    spec = _tiny(tmp_path)
    image = _jpeg(_photo((640, 480)), 20)
    whole = ModelRestorer(spec, device="cpu", tile=0).restore(image, 20.0)
    tiled = ModelRestorer(spec, device="cpu", tile=448, overlap=176).restore(image, 20.0)
    diff = np.abs(whole.astype(int) - tiled.astype(int))
    assert diff.max() <= 1, f"tile seams: max diff {diff.max()}"


def test_quality_map_equal_to_scalar_gives_same_result(tmp_path):
    restorer = ModelRestorer(_tiny(tmp_path), device="cpu")
    image = _jpeg(_photo(), 30)
    scalar = restorer.restore(image, 30.0)
    mapped = restorer.restore(image, np.full(image.shape[:2], 30.0, np.float32))
    assert np.abs(scalar.astype(int) - mapped.astype(int)).max() <= 1


def test_quality_map_with_wrong_shape_is_refused(tmp_path):
    restorer = ModelRestorer(_tiny(tmp_path), device="cpu")
    with pytest.raises(ValueError):
        restorer.restore(_photo(), np.full((3, 3), 30.0, np.float32))


def test_cancel_stops_a_tiled_job(tmp_path):
    from engine.cancel import CancelToken
    from engine.errors import Cancelled

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        ModelRestorer(_tiny(tmp_path), device="cpu", tile=32).restore(_photo(), 30.0, cancel=token)


# ---- the shipped weights ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    specs = {s.name: s for s in list_models()}
    assert SHIPPED in specs, "the shipped model resources/models/restora-small.safetensors is missing"
    return ModelRestorer(specs[SHIPPED], device="cpu")


@pytest.fixture(scope="module")
def clean_photo():
    """A real photograph: the behaviour of trained weights is only meaningful on natural images."""
    path = SHARED_DATA / "test" / "LIVE1"
    if not path.is_dir():
        pytest.skip("needs ../shared/data/test/LIVE1")
    img = np.asarray(Image.open(sorted(path.glob("*.png"))[0]).convert("RGB"))
    return img[:192, :256]


def test_shipped_model_is_registered_as_default():
    spec = default_model("cpu")
    assert spec is not None and spec.name == SHIPPED and spec.quality_input and spec.blind_head


def test_restoration_gets_stronger_as_quality_goes_down(shipped, clean_photo):
    degraded = _jpeg(clean_photo, 20)
    change = [np.abs(shipped.restore(degraded, q).astype(float) - degraded).mean() for q in (90, 70, 50, 30, 15, 5)]
    assert all(b >= a for a, b in zip(change, change[1:])), f"not monotonic: {change}"


def test_told_pristine_a_damaged_image_is_barely_touched(shipped, clean_photo):
    """The control stays in charge even when the artifacts are obvious: told 100, a QF20 JPEG changes by a small
    fraction of what told its true quality does (a long GPU run once drifted to 2/3, reading strength from pixels)."""
    degraded = _jpeg(clean_photo, 20)
    change = {q: np.abs(shipped.restore(degraded, q).astype(float) - degraded).mean() for q in (100, 20)}
    assert change[100] < 0.25 * change[20], change


def test_near_identity_at_quality_100(shipped, clean_photo):
    """Told the image is pristine, the model leaves it visually untouched (>= 40 dB from its input)."""
    out = shipped.restore(clean_photo, 100.0)
    assert _psnr(clean_photo, out) >= 40.0


def test_improves_a_jpeg_when_told_its_quality(shipped, clean_photo):
    degraded = _jpeg(clean_photo, 10)
    # The shipped small model gains ~0.4-0.5 dB here (see the model card); the issue's +1.5 dB is not reached yet.
    assert _psnr(clean_photo, shipped.restore(degraded, 10.0)) > _psnr(clean_photo, degraded) + 0.3


def test_no_colour_shift(shipped, clean_photo):
    degraded = _jpeg(clean_photo, 15)
    out = shipped.restore(degraded, 15.0)
    shift = out.reshape(-1, 3).astype(float).mean(0) - degraded.reshape(-1, 3).astype(float).mean(0)
    assert np.abs(shift).max() < 1.0, f"mean colour moved by {shift}"


def test_greyscale_input_restores_as_grey(shipped, clean_photo):
    grey = np.asarray(Image.fromarray(clean_photo).convert("L"))
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, "JPEG", quality=10)
    degraded = np.asarray(Image.open(buf))
    out = shipped.restore(degraded, 10.0)
    assert out.shape == grey.shape
    assert _psnr(grey, out) > _psnr(grey, degraded)


def test_no_seams_with_shipped_weights(shipped, clean_photo):
    degraded = _jpeg(clean_photo, 20)
    whole = ModelRestorer(shipped.spec, device="cpu", tile=0).restore(degraded, 20.0)
    tiled = ModelRestorer(shipped.spec, device="cpu", tile=128, overlap=48).restore(degraded, 20.0)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 3


def test_blind_head_ranks_and_estimates_qualities(shipped, clean_photo):
    estimates = [shipped.estimate_quality(_jpeg(clean_photo, q)) for q in (10, 30, 60)]
    assert estimates[0] < estimates[1] < estimates[2], estimates
    assert abs(estimates[0] - 10) < 5 and abs(estimates[1] - 30) < 10, estimates


def _screenshot_like() -> np.ndarray:
    """A lossless drawing of an app window: flat panels, a button, lines of text, a hairline."""
    from PIL import ImageDraw, ImageFont
    im = Image.new("RGB", (320, 240), (236, 236, 236))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, 320, 28), fill=(40, 44, 52))
    d.text((8, 6), "File  Edit  View  Help", fill=(230, 230, 230), font=ImageFont.load_default(size=14))
    d.rounded_rectangle((20, 50, 150, 90), radius=6, fill=(66, 133, 244))
    d.text((34, 60), "Export", fill="white", font=ImageFont.load_default(size=16))
    for y in range(110, 230, 18):
        d.text((20, y), "Quality 42  strength 58  restored", fill=(30, 30, 30), font=ImageFont.load_default(size=12))
    d.line((170, 40, 170, 240), fill=(180, 180, 180))
    return np.asarray(im)


def test_blind_head_leaves_a_clean_screenshot_alone(shipped):
    # Flat content has most DCT coefficients near zero without any compression: a head fitted on photos alone
    # read this drawing as quality 49 (and lossless screenshots of the app's dialogs as 36-37) and Auto softened them.
    drawing = _screenshot_like()
    clean = shipped.estimate_quality(drawing)
    assert clean >= 90, clean
    assert shipped.estimate_quality(_jpeg(drawing, 10)) < clean - 20  # compressed, it still reads as compressed


def test_batch_restore_equals_one_by_one(tmp_path):
    restorer = ModelRestorer(_tiny(tmp_path), device="cpu")
    images = [_jpeg(_photo(), q) for q in (10, 20, 30)]
    qualities = [10.0, 20.0, np.full(images[0].shape[:2], 30.0, np.float32)]
    batched = restorer.restore_batch(images, qualities)
    single = [restorer.restore(im, q) for im, q in zip(images, qualities)]
    assert all(np.abs(a.astype(int) - b.astype(int)).max() <= 1 for a, b in zip(batched, single))


def test_cpu_uses_eager_and_unknown_mode_is_refused(tmp_path):
    from engine.restore.accelerate import make_forward

    spec = _tiny(tmp_path)
    assert ModelRestorer(spec, device="cpu").acceleration == "eager"
    assert ModelRestorer(spec, device="cpu", accelerate="graphs").acceleration == "eager"  # graphs need CUDA
    with pytest.raises(ValueError):
        make_forward(torch.nn.Identity(), torch.device("cpu"), "warp")


@pytest.mark.gpu
def test_cuda_graphs_match_eager_in_half_precision(tmp_path):
    spec = _tiny(tmp_path)
    image = _jpeg(_photo((320, 240)), 20)
    eager = ModelRestorer(spec, device="cuda", accelerate="eager").restore(image, 20.0)
    graphed = ModelRestorer(spec, device="cuda", accelerate="graphs")
    first, second = graphed.restore(image, 20.0), graphed.restore(image, 20.0)  # capture, then replay
    assert graphed.acceleration == "graphs"
    assert np.abs(first.astype(int) - eager).max() <= 2 and np.array_equal(first, second)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
@pytest.mark.parametrize("kind", ["rgb", "grey", "grey1", "u16", "flipped", "readonly"])
def test_pixels_travel_as_integers_and_round_trip_exactly(device, kind):
    # Conversion happens on the device (a GPU's host-side float conversion cost 10x the network); it must be
    # exactly the old host-side arithmetic: x / 255 in, round(clamp(y) * 255) out, grey gets the channel mean.
    from engine.restore.base import from_float_rgb, to_float_rgb
    from engine.restore.model_restorer import download, upload

    rgb = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    image = {"rgb": rgb, "grey": rgb[:, :, 0].copy(), "grey1": rgb[:, :, 1:2].copy(),
             "u16": rgb.astype(np.uint16) * 257 + 3, "flipped": rgb[:, ::-1]}.get(kind, rgb.copy())
    if kind == "readonly":
        image.setflags(write=False)
    x, info = upload(image, torch.device(device), half=False)
    expected, _ = to_float_rgb(image)
    assert x.shape == (1, 3, 37, 53) and x.device.type == device
    assert torch.equal(x[0].permute(1, 2, 0).cpu(), torch.from_numpy(expected))
    changed = x * 0.9 + 0.07  # any network output; also outside [0, 1] after the clamp test below
    changed[..., :3, :3] = 1.5
    out = download(changed, info)[0]
    assert out.shape == image.shape and out.dtype == image.dtype
    host = from_float_rgb(changed[0].permute(1, 2, 0).clamp(0, 1).cpu().numpy(), info)
    assert np.abs(out.astype(int) - host.astype(int)).max() <= (1 if kind in ("grey", "grey1") else 0)
