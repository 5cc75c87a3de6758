"""Photograph a paper page with a phone: the camera model of the photo benchmark.

:func:`photograph` takes a page rendered flat (a filled worksheet from
:func:`simulation.pages.fill_page` with ``degrade=False``) and returns what a phone held
over it records: a 12 MP greyscale JPEG frame (3000×4000, portrait, as a phone held
upright saves it once its EXIF orientation is applied) in which the page lies on a table.
Every effect is a range in :class:`CameraOptions`; presets :data:`EASY`, :data:`HARD` and
:data:`SCANNER_APP` cover a careful photo, a careless one and a scanner app's output.

Modelled, in the order light meets the sensor:

- **the scene**: a table darker (or lighter) than paper with a wood-like grain and a few
  objects on it (pens, a phone, a cup, another sheet's edge), the page lying on it;
- **page curl**: one random edge of the page lifted off the table by 0–6 mm, falling
  smoothly (quadratically) to flat over a 30–80 mm band, as a height field over the page
  that is projected with the rest (so the curled band is displaced and foreshortened in
  the photo, not just shifted), with the shading its slope causes under a side light;
- **the camera**: a pinhole with a phone's 24–28 mm (35 mm equivalent) lens, tilted 0–30°
  from straight down towards a random direction, turned in plane, at the distance where
  the page's outline spans 60–90% of the frame, placed anywhere in the frame;
- **the light**: vignetting, a linear gradient across the frame, and on a share of photos
  a hand's or phone's soft-edged shadow entering from one side of the frame;
- **the sensor and the phone's processing**: defocus and a little motion blur, noise
  (spatially correlated over two pixels, as after a phone's denoising), auto-exposure
  to a mean frame brightness that keeps the paper's highlights from clipping, and JPEG
  at quality 80–95.

The scanner-app preset then does what such apps do: rectifies the page from its four
(slightly misplaced) corners to a flat page image, and flattens the shading (divides by
the paper's local level and stretches contrast).

Not modelled: colour (the reader converts every JPEG to grey, so the luma is what matters;
chroma subsampling artefacts are lost with the colour), lens distortion, rolling shutter,
specular glare on glossy paper, the in-plane shortening of the lifted paper (under 0.4 mm
at 6 mm of curl), folds and creases, a page partly outside the frame, fingers on the
page, HEIC, and detail finer than the page's own rendering (pages are rendered at 200 dpi
and the photo samples the page at about 250–320 dpi, so strokes are a little smoother
than a real 12 MP photo's).

The geometry is one ``cv2.remap`` through a single map built on an 8-pixel grid and
interpolated (every displacement is smooth); lighting is one multiplicative field built
on the same grid. A photo costs about 0.3–0.4 s on one core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

__all__ = [
    "EASY",
    "HARD",
    "SCANNER_APP",
    "CameraOptions",
    "Shot",
    "photo_jpeg",
    "photograph",
    "plan_shot",
    "project_page_point",
]

Range = tuple[float, float]
# Maps and lighting are computed on a grid of GRID × GRID pixel cells and interpolated.
GRID = 8
# Curl height field sampled every CURL_STEP_MM on the page.
CURL_STEP_MM = 2.0
FULL_FRAME_DIAGONAL_MM = 43.27
GAMMA = 2.2


@dataclass(frozen=True)
class CameraOptions:
    """Ranges the camera model samples from, one draw per photo.

    Attributes:
        frame_px: the saved frame (width, height); 3000×4000 is a 12 MP phone held upright.
        fill: share of the frame (on its tighter side) the page's outline spans.
        focal_35mm: the lens's 35 mm-equivalent focal length (a phone's main camera: 26).
        tilt_deg: angle between the optical axis and the page's normal.
        rotation_deg: in-plane turn of the page in the frame.
        curl_mm: height one edge of the page is lifted off the table.
        curl_band_mm: how far into the page the lift reaches.
        curl_shading: brightness change per unit of the curl's slope (sign random).
        shadow_prob: share of photos with a hand's or phone's shadow.
        shadow_depth: light the shadow takes away (0.4: the shadow is 60% as bright).
        shadow_reach: how far into the frame the shadow reaches (share of the side).
        shadow_soft_px: width (Gaussian sigma, frame pixels) of the shadow's soft edge.
        vignetting: brightness lost in the frame's corners.
        gradient: brightness difference from one side of the frame to the other.
        background: table brightness relative to the paper.
        clutter: how many objects lie on the table (inclusive range).
        exposure: mean frame brightness (0–1, display values) auto-exposure aims at.
        highlight: the most it lets the frame's brightest 1% reach (display values).
        defocus_px: Gaussian blur sigma in frame pixels.
        motion_px: length of a straight motion blur in frame pixels.
        noise: noise standard deviation in grey levels.
        jpeg_quality: JPEG quality (inclusive range).
        scanner_app: rectify the page and flatten its shading, as a scanner app does.
        corner_error_px: a scanner app's error placing each page corner (frame pixels).
    """

    frame_px: tuple[int, int] = (3000, 4000)
    fill: Range = (0.6, 0.9)
    focal_35mm: Range = (24.0, 28.0)
    tilt_deg: Range = (0.0, 30.0)
    rotation_deg: Range = (-15.0, 15.0)
    curl_mm: Range = (0.0, 6.0)
    curl_band_mm: Range = (30.0, 80.0)
    curl_shading: Range = (0.2, 0.6)
    shadow_prob: float = 0.5
    shadow_depth: Range = (0.25, 0.55)
    shadow_reach: Range = (0.15, 0.45)
    shadow_soft_px: Range = (12.0, 60.0)
    vignetting: Range = (0.1, 0.35)
    gradient: Range = (0.0, 0.25)
    background: Range = (0.25, 0.7)
    clutter: tuple[int, int] = (2, 6)
    exposure: Range = (0.62, 0.72)
    highlight: Range = (0.9, 0.98)
    defocus_px: Range = (0.5, 1.4)
    motion_px: Range = (0.0, 3.0)
    noise: Range = (1.5, 4.0)
    jpeg_quality: tuple[int, int] = (80, 95)
    scanner_app: bool = False
    corner_error_px: Range = (0.0, 6.0)


HARD = CameraOptions()
EASY = replace(HARD, tilt_deg=(0.0, 10.0), rotation_deg=(-5.0, 5.0), curl_mm=(0.0, 0.0),
               shadow_prob=0.0, defocus_px=(0.5, 1.0), motion_px=(0.0, 1.5))
# Scanner apps flatten most of the curl (what is left is modelled) and even the light.
SCANNER_APP = replace(HARD, tilt_deg=(0.0, 20.0), curl_mm=(0.0, 1.5), shadow_prob=0.3,
                      scanner_app=True)


@dataclass(frozen=True)
class Shot:
    """One draw of the camera model: where the camera was and what the page did.

    Attributes:
        focal_px: focal length in frame pixels.
        rotation: camera rotation (3×3, rows are its axes in table coordinates).
        centre: camera position in table coordinates (mm; the table is z = 0, the camera
            at negative z, x and y along the page's unturned width and height).
        shift_px: where the page's centre was moved in the frame (principal-point shift).
        roll_deg: the page's in-plane turn.
        curl_edge: which edge is lifted (0 top, 1 right, 2 bottom, 3 left).
        curl_mm: its height.
        curl_band_mm: how far in the lift reaches.
    """

    focal_px: float
    rotation: np.ndarray
    centre: np.ndarray
    shift_px: tuple[float, float]
    roll_deg: float
    curl_edge: int
    curl_mm: float
    curl_band_mm: float


def _uniform(rng: np.random.Generator, r: Range) -> float:
    # Always one draw, even for a fixed value: options that differ in one range then
    # share every other draw (a photo with and without curl is the same shot).
    return float(rng.uniform(r[0], r[1]))


def _lift(u: np.ndarray, v: np.ndarray, size_mm: tuple[float, float], shot: Shot
          ) -> np.ndarray:
    """Height (mm) of page points (mm from the page's top-left) above the table."""
    if shot.curl_mm <= 0:
        return np.zeros_like(u)
    w, h = size_mm
    d = (v, w - u, h - v, u)[shot.curl_edge]
    t = np.clip(1.0 - d / shot.curl_band_mm, 0.0, 1.0)
    return shot.curl_mm * t * t


def _project(u: np.ndarray, v: np.ndarray, z: np.ndarray, size_mm: tuple[float, float],
             shot: Shot, frame: tuple[int, int]) -> np.ndarray:
    """Frame pixels (N, 2) of page points (mm from the top-left) lifted by ``z`` mm."""
    w, h = size_mm
    a = math.radians(shot.roll_deg)
    x0, y0 = u - w / 2, v - h / 2
    world = np.stack([math.cos(a) * x0 - math.sin(a) * y0,
                      math.sin(a) * x0 + math.cos(a) * y0, -z], axis=-1)
    cam = (world - shot.centre) @ shot.rotation.T
    px = shot.focal_px * cam[..., :2] / cam[..., 2:3]
    return px + np.array([frame[0] / 2 + shot.shift_px[0], frame[1] / 2 + shot.shift_px[1]])


def plan_shot(size_mm: tuple[float, float], rng: np.random.Generator,
              options: CameraOptions) -> Shot:
    """Draw a camera pose and a curl for a page of ``size_mm`` (width, height).

    Args:
        size_mm: the paper's size.
        rng: the only source of randomness.
        options: the ranges.

    Returns:
        The shot; the page's outline spans a drawn share of the frame and lies inside it.
    """
    o = options
    fw, fh = o.frame_px
    focal = _uniform(rng, o.focal_35mm) / FULL_FRAME_DIAGONAL_MM * math.hypot(fw, fh)
    tilt = math.radians(_uniform(rng, o.tilt_deg))
    azimuth = rng.uniform(0, 2 * math.pi)
    axis = np.array([math.sin(tilt) * math.cos(azimuth), math.sin(tilt) * math.sin(azimuth),
                     math.cos(tilt)])
    # Keep the camera's x axis along the table's x (the page is upright before its turn).
    xc = np.array([1.0, 0.0, 0.0]) - axis[0] * axis
    xc /= np.linalg.norm(xc)
    rotation = np.stack([xc, np.cross(axis, xc), axis])
    roll = _uniform(rng, o.rotation_deg)
    edge, curl, band = int(rng.integers(4)), _uniform(rng, o.curl_mm), \
        _uniform(rng, o.curl_band_mm)
    fill = _uniform(rng, o.fill)
    w, h = size_mm
    cu = np.array([0.0, w, w, 0.0])
    cv_ = np.array([0.0, 0.0, h, h])
    distance = 400.0
    shot = Shot(focal, rotation, -distance * axis, (0.0, 0.0), roll, edge, curl, band)
    # The outline's span shrinks about as 1/distance: a few rounds settle it.
    for _ in range(4):
        corners = _project(cu, cv_, np.zeros(4), size_mm, shot, o.frame_px)
        span = max(np.ptp(corners[:, 0]) / fw, np.ptp(corners[:, 1]) / fh)
        distance *= span / fill
        shot = replace(shot, centre=-distance * axis)
    corners = _project(cu, cv_, np.zeros(4), size_mm, shot, o.frame_px)
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    # Anywhere in the frame with a border (60 px at 12 MP: about 5 mm of paper, more than
    # a 6 mm curl moves a corner): [border - lo, size - border - hi]. The flat outline is
    # framed, so a photo with and without curl is the same shot.
    border = 0.02 * min(fw, fh)
    shift = tuple(float(rng.uniform(min(border - lo[i], s - border - hi[i]),
                                    max(border - lo[i], s - border - hi[i])))
                  for i, s in enumerate((fw, fh)))
    return replace(shot, shift_px=(shift[0], shift[1]))


def project_page_point(point_mm: tuple[float, float], size_mm: tuple[float, float], shot: Shot,
                       frame: tuple[int, int], curl: bool = True) -> tuple[float, float]:
    """Where a page point (mm from its top-left) lands in the frame, with or without curl.

    Args:
        point_mm: the point on the paper.
        size_mm: the paper's size (width, height).
        shot: the camera draw.
        frame: the frame size (width, height).
        curl: include the page's lift.

    Returns:
        Frame pixel coordinates (x, y).
    """
    u, v = np.array([point_mm[0]]), np.array([point_mm[1]])
    z = _lift(u, v, size_mm, shot) if curl else np.zeros(1)
    x, y = _project(u, v, z, size_mm, shot, frame)[0]
    return float(x), float(y)


def _sample(values: np.ndarray, at_px: np.ndarray, step_px: float) -> np.ndarray:
    """``values`` (a grid every ``step_px`` page pixels) interpolated at page pixels."""
    gx = np.ascontiguousarray(at_px[..., 0] / step_px, dtype=np.float32)
    gy = np.ascontiguousarray(at_px[..., 1] / step_px, dtype=np.float32)
    return np.asarray(cv2.remap(values, gx, gy, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE))


def _page_maps(shape: tuple[int, int], dpi: float, shot: Shot, frame: tuple[int, int]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every grid cell of the frame: the page pixel seen there, and the curl's slope.

    Returns:
        (map x, map y, slope) on the frame's grid (frame / GRID), float32.
    """
    ph, pw = shape
    mm_px = 25.4 / dpi
    size_mm = (pw * mm_px, ph * mm_px)
    fw, fh = frame
    cu = np.array([0.0, pw, pw, 0.0]) * mm_px
    cv_ = np.array([0.0, 0.0, ph, ph]) * mm_px
    flat = _project(cu, cv_, np.zeros(4), size_mm, shot, frame)
    page_px = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    to_page = cv2.getPerspectiveTransform(flat.astype(np.float32), page_px)
    gx = (np.arange(fw // GRID, dtype=np.float32) + 0.5) * GRID - 0.5
    gy = (np.arange(fh // GRID, dtype=np.float32) + 0.5) * GRID - 0.5
    grid = np.stack(np.meshgrid(gx, gy), axis=-1)
    q = cv2.perspectiveTransform(grid.reshape(-1, 1, 2), to_page).reshape(grid.shape)
    # The curl as an offset on the flat page: a curled point at u is seen where the flat
    # page's point u + delta(u) would be. Solve u + delta(u) = q by fixed-point rounds.
    steps_u = np.arange(0, size_mm[0] + CURL_STEP_MM, CURL_STEP_MM)
    steps_v = np.arange(0, size_mm[1] + CURL_STEP_MM, CURL_STEP_MM)
    uu, vv = np.meshgrid(steps_u, steps_v)
    lift = _lift(uu, vv, size_mm, shot)
    slope_grid = np.hypot(*np.gradient(lift, CURL_STEP_MM)).astype(np.float32)
    step_px = CURL_STEP_MM / mm_px
    u = q
    if shot.curl_mm > 0:
        seen = _project(uu.ravel(), vv.ravel(), lift.ravel(), size_mm, shot, frame)
        back = cv2.perspectiveTransform(seen.reshape(-1, 1, 2).astype(np.float32), to_page)
        delta = (back.reshape((*uu.shape, 2)) - np.stack([uu, vv], -1) / mm_px)
        delta = delta.astype(np.float32)
        for _ in range(3):
            u = q - _sample(delta, u, step_px)
    slope = _sample(slope_grid, u, step_px)
    return (np.ascontiguousarray(u[..., 0]), np.ascontiguousarray(u[..., 1]), slope)


def _table(frame: tuple[int, int], paper: float, rng: np.random.Generator,
           o: CameraOptions) -> np.ndarray:
    """The table under the page (uint8, frame size): grain, tone drift, objects."""
    fw, fh = frame
    cw, ch = fw // GRID, fh // GRID
    level = _uniform(rng, o.background) * paper
    grain = rng.normal(0, 1, (ch, cw)).astype(np.float32)
    sx, sy = (1.0, 25.0) if rng.random() < 0.5 else (25.0, 1.0)
    grain = np.asarray(cv2.GaussianBlur(grain, (0, 0), sigmaX=sx, sigmaY=sy), np.float32)
    grain /= grain.std() + 1e-6
    drift = cv2.resize(rng.normal(0, 1, (4, 3)).astype(np.float32), (cw, ch),
                       interpolation=cv2.INTER_CUBIC)
    coarse = level * (1 + 0.08 * grain + 0.06 * drift)
    table = cv2.resize(np.clip(coarse, 0, 255).astype(np.uint8), (fw, fh),
                       interpolation=cv2.INTER_LINEAR)
    for _ in range(int(rng.integers(o.clutter[0], o.clutter[1] + 1))):
        tone = int(np.clip(rng.choice([rng.uniform(10, 60), rng.uniform(120, 250)]), 0, 255))
        centre = (float(rng.uniform(0, fw)), float(rng.uniform(0, fh)))
        kind = rng.integers(3)
        if kind == 0:  # a pen or pencil
            size = (float(rng.uniform(0.25, 0.45) * fw), float(rng.uniform(0.01, 0.02) * fw))
        elif kind == 1:  # a phone, an eraser, another sheet's edge
            size = (float(rng.uniform(0.1, 0.5) * fw), float(rng.uniform(0.08, 0.4) * fw))
        else:  # a cup seen from above
            r = int(rng.uniform(0.06, 0.12) * fw)
            cv2.circle(table, (int(centre[0]), int(centre[1])), r, tone, -1, cv2.LINE_AA)
            continue
        box = cv2.boxPoints((centre, size, float(rng.uniform(0, 180))))
        cv2.fillPoly(table, [box.astype(np.int32)], tone, cv2.LINE_AA)
    return table


def _shadow(frame: tuple[int, int], page_box: tuple[float, float, float, float],
            rng: np.random.Generator, o: CameraOptions) -> np.ndarray:
    """Light left by a hand's or phone's shadow on the frame grid (1: none).

    The shadow enters across one side of the page (``page_box``: x0, y0, x1, y1 on the
    grid) and reaches a drawn share of the page into it.
    """
    fw, fh = frame
    cw, ch = fw // GRID, fh // GRID
    mask = np.zeros((ch, cw), np.float32)
    x0, y0, x1, y1 = page_box
    side = int(rng.integers(4))
    reach = _uniform(rng, o.shadow_reach)
    along = float(rng.uniform(0.15, 0.85))
    vertical = side in (0, 2)  # enters across the top or bottom edge
    depth = (y1 - y0 if vertical else x1 - x0) * reach
    across = (x1 - x0 if vertical else y1 - y0) * float(rng.uniform(0.2, 0.4))
    # A palm or phone: an ellipse centred a little outside the edge, its tip at ``depth``.
    length = depth * 1.6
    if side == 0:
        centre, axes = (x0 + along * (x1 - x0), y0 - 0.6 * depth), (across, length)
    elif side == 2:
        centre, axes = (x0 + along * (x1 - x0), y1 + 0.6 * depth), (across, length)
    elif side == 1:
        centre, axes = (x1 + 0.6 * depth, y0 + along * (y1 - y0)), (length, across)
    else:
        centre, axes = (x0 - 0.6 * depth, y0 + along * (y1 - y0)), (length, across)
    cv2.ellipse(mask, (round(centre[0]), round(centre[1])), (round(axes[0]), round(axes[1])),
                float(rng.uniform(-20, 20)), 0, 360, 1.0, -1)
    soft = _uniform(rng, o.shadow_soft_px) / GRID
    soft_mask = cv2.GaussianBlur(mask, (0, 0), soft)
    return np.asarray(1.0 - _uniform(rng, o.shadow_depth) * soft_mask, np.float32)


def _light(frame: tuple[int, int], rng: np.random.Generator, o: CameraOptions) -> np.ndarray:
    """Vignetting and a linear gradient on the frame grid (linear light, about 1)."""
    fw, fh = frame
    cw, ch = fw // GRID, fh // GRID
    x = (np.arange(cw, dtype=np.float32) + 0.5) / cw - 0.5
    y = (np.arange(ch, dtype=np.float32) + 0.5) / ch - 0.5
    xx, yy = np.meshgrid(x * fw / max(fw, fh), y * fh / max(fw, fh))
    r2 = (xx * xx + yy * yy) / (0.25 * (fw * fw + fh * fh) / max(fw, fh) ** 2)
    light = 1.0 - _uniform(rng, o.vignetting) * r2
    a = rng.uniform(0, 2 * math.pi)
    light *= 1.0 + _uniform(rng, o.gradient) * (math.cos(a) * xx + math.sin(a) * yy)
    return np.asarray(light, np.float32)


def _blur(img: np.ndarray, rng: np.random.Generator, o: CameraOptions) -> np.ndarray:
    sigma = _uniform(rng, o.defocus_px)
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    length = _uniform(rng, o.motion_px)
    if length >= 1.0:
        size = math.ceil(length) | 1
        kernel = np.zeros((size, size), np.float32)
        a = rng.uniform(0, math.pi)
        half = length / 2
        c = size // 2
        cv2.line(kernel, (round(c - half * math.cos(a)), round(c - half * math.sin(a))),
                 (round(c + half * math.cos(a)), round(c + half * math.sin(a))), 1.0, 1)
        img = cv2.filter2D(img, -1, kernel / kernel.sum())
    return img


def _scanner_app(photo: np.ndarray, corners: np.ndarray, size_mm: tuple[float, float],
                 rng: np.random.Generator, o: CameraOptions) -> np.ndarray:
    """Rectify the page from its (misplaced) corners and flatten its shading."""
    w_mm, h_mm = size_mm
    # Output at the photo's own sampling of the page: no invented detail.
    px_mm = max(np.linalg.norm(corners[1] - corners[0]) / w_mm,
                np.linalg.norm(corners[2] - corners[1]) / h_mm)
    ow, oh = int(w_mm * px_mm), int(h_mm * px_mm)
    err = _uniform(rng, o.corner_error_px)
    found = corners + rng.normal(0, err / math.sqrt(2), corners.shape) if err else corners
    m = cv2.getPerspectiveTransform(found.astype(np.float32),
                                    np.array([[0, 0], [ow, 0], [ow, oh], [0, oh]], np.float32))
    flat = cv2.warpPerspective(photo, m, (ow, oh), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    # The paper's level: the brightest of each neighbourhood, smoothed (ink is thin).
    small = cv2.resize(flat, (ow // GRID, oh // GRID), interpolation=cv2.INTER_AREA)
    paper = cv2.dilate(small, np.ones((5, 5), np.uint8))
    paper = cv2.GaussianBlur(paper.astype(np.float32), (0, 0), 3)
    paper = cv2.resize(np.maximum(paper, 1.0), (ow, oh), interpolation=cv2.INTER_LINEAR)
    out = flat.astype(np.float32) / paper
    # Stretch: paper white, the darkest strokes near black, a little contrast boost.
    out = np.clip((out - 0.15) / 0.8, 0, 1) * 255
    return out.astype(np.uint8)


def photo_jpeg(page: np.ndarray, dpi: float, rng: np.random.Generator,
               options: CameraOptions | None = None) -> bytes:
    """Photograph a page and return the JPEG file a phone would upload.

    Args:
        page: the flat page, greyscale uint8, rendered at ``dpi``.
        dpi: its resolution (sets the paper's size).
        rng: the only source of randomness.
        options: the ranges (default :data:`HARD`).

    Returns:
        A greyscale JPEG: the frame, or the rectified page for a scanner app.
    """
    o = options or HARD
    frame = o.frame_px
    fw, fh = frame
    ph, pw = page.shape
    size_mm = (pw * 25.4 / dpi, ph * 25.4 / dpi)
    shot = plan_shot(size_mm, rng, o)
    mx, my, slope = _page_maps((ph, pw), dpi, shot, frame)
    paper = float(np.percentile(page[::16, ::16], 90))
    photo = _table(frame, paper, rng, o)
    # One remap, through the grid's maps interpolated to every pixel, onto the table.
    full_x = cv2.resize(mx, (fw, fh), interpolation=cv2.INTER_LINEAR)
    full_y = cv2.resize(my, (fw, fh), interpolation=cv2.INTER_LINEAR)
    m1, m2 = cv2.convertMaps(full_x, full_y, cv2.CV_16SC2)
    cv2.remap(page, m1, m2, cv2.INTER_LINEAR, dst=photo, borderMode=cv2.BORDER_TRANSPARENT)
    # Light (linear): falloff, the curl's slope under a side light, a shadow.
    light = _light(frame, rng, o)
    on_page = (mx >= 0) & (mx < pw) & (my >= 0) & (my < ph)
    tilt_light = _uniform(rng, o.curl_shading) * (1 if rng.random() < 0.5 else -1)
    light *= np.where(on_page, 1.0 + tilt_light * slope, 1.0).astype(np.float32)
    if rng.random() < o.shadow_prob:
        cols, rows = np.nonzero(on_page.any(axis=0))[0], np.nonzero(on_page.any(axis=1))[0]
        box = (float(cols[0]), float(rows[0]), float(cols[-1]), float(rows[-1]))
        light *= _shadow(frame, box, rng, o)
    # Auto-exposure: meter the frame as it will look (display values) on the grid, aiming
    # at a mean brightness but keeping the paper's highlights below clipping, as phones do.
    thumb = cv2.resize(photo, (fw // GRID, fh // GRID), interpolation=cv2.INTER_AREA)
    lit = thumb.astype(np.float32) / 255.0 * np.power(light, 1 / GAMMA)
    by_mean = _uniform(rng, o.exposure) / max(float(lit.mean()), 1e-3)
    by_highlight = _uniform(rng, o.highlight) / max(float(np.percentile(lit, 99)), 1e-3)
    gain = min(by_mean, by_highlight) ** GAMMA
    factor = np.power(light * gain, 1 / GAMMA).astype(np.float32)
    img = photo.astype(np.float32)
    img *= cv2.resize(factor, (fw, fh), interpolation=cv2.INTER_LINEAR)
    img = _blur(img, rng, o)
    noise = rng.standard_normal((fh // 2, fw // 2), dtype=np.float32)
    noise *= _uniform(rng, o.noise) * 1.4  # the 2× upsampling below halves its spread
    img += cv2.resize(noise, (fw, fh), interpolation=cv2.INTER_LINEAR)
    out = np.clip(img, 0, 255, out=img).astype(np.uint8)
    if o.scanner_app:
        cu = np.array([0.0, size_mm[0], size_mm[0], 0.0])
        cv_ = np.array([0.0, 0.0, size_mm[1], size_mm[1]])
        corners = _project(cu, cv_, _lift(cu, cv_, size_mm, shot), size_mm, shot, frame)
        out = _scanner_app(out, corners, size_mm, rng, o)
    q = int(rng.integers(o.jpeg_quality[0], o.jpeg_quality[1] + 1))
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def photograph(page: np.ndarray, dpi: float, rng: np.random.Generator,
               options: CameraOptions | None = None) -> np.ndarray:
    """Photograph a page with a phone (see the module docstring for what is modelled).

    Args:
        page: the flat page, greyscale uint8, rendered at ``dpi``.
        dpi: its resolution.
        rng: the only source of randomness.
        options: the ranges (default :data:`HARD`).

    Returns:
        The decoded JPEG, greyscale uint8: ``frame_px`` (height × width), or the rectified
        page for a scanner app.
    """
    data = photo_jpeg(page, dpi, rng, options)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return np.asarray(img, dtype=np.uint8)
