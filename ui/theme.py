"""Look and feel: SVG icons tinted from the palette, the stylesheet, palette-derived colours.

Icons and the stylesheet are package data of ``resources`` read with importlib.resources.
Every colour is derived from the current QPalette so light and dark system themes both work.
"""

from __future__ import annotations

import functools
from importlib import resources

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from ui.text import stable_hue

ICON_SIZES = (16, 20, 24, 32, 48)


@functools.cache
def svg_source(name: str) -> str:
    return resources.files("resources").joinpath("icons", f"{name}.svg").read_text("utf-8")


def stylesheet(pal: QPalette | None = None) -> str:
    """The stylesheet, with @tokens replaced by colours derived from the palette."""
    text = resources.files("resources").joinpath("styles", "sockdesk.qss").read_text("utf-8")
    pal = pal or palette()
    tokens = {"@muted": muted(pal).name(), "@subtle": subtle_bg(pal).name(),
              "@error": STATE_COLORS["failed"]}
    for token, value in tokens.items():
        text = text.replace(token, value)
    return text


def palette() -> QPalette:
    return QGuiApplication.palette()


def is_dark(pal: QPalette | None = None) -> bool:
    pal = pal or palette()
    return pal.color(QPalette.ColorRole.Window).lightnessF() < 0.5


def _render(svg: str, size: int, ratio: float) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    px = QPixmap(int(size * ratio), int(size * ratio))
    px.fill(Qt.GlobalColor.transparent)
    p = QPainter(px)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(p, QRectF(0, 0, size * ratio, size * ratio))
    p.end()
    px.setDevicePixelRatio(ratio)
    return px


class _TintedSvgEngine(QIconEngine):
    """Renders a tinted SVG at the size, scale and mode a painter asks for, once each.

    Rendering every size at 1x and 2x in both modes up front (20 pixmaps an icon) cost a
    quarter of the start-up; a window paints one or two of them per icon.
    """

    def __init__(self, svgs: dict[QIcon.Mode, str]) -> None:
        super().__init__()
        self.svgs = svgs
        self.rendered: dict[tuple[int, int, float, QIcon.Mode], QPixmap] = {}

    def _svg(self, mode: QIcon.Mode) -> str:
        return self.svgs.get(mode, self.svgs[QIcon.Mode.Normal])  # Active, Selected

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, _state: QIcon.State,
                     scale: float) -> QPixmap:
        scale = max(1.0, scale)
        key = (size.width(), size.height(), scale, mode)
        px = self.rendered.get(key)
        if px is None:
            px = _render(self._svg(mode), min(size.width(), size.height()), scale)
            self.rendered[key] = px
        return px

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        scale = painter.device().devicePixelRatioF()
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, scale))

    def availableSizes(self, _mode: QIcon.Mode = QIcon.Mode.Normal,
                       _state: QIcon.State = QIcon.State.Off) -> list[QSize]:
        return [QSize(s, s) for s in ICON_SIZES]

    def clone(self) -> QIconEngine:
        # Qt calls this when a copy of the icon is changed (e.g. addPixmap) and owns
        # the result, but PySide6 lets Python free it on return (a segfault later):
        # keep a reference. It only happens for icons modified after creation.
        engine = _TintedSvgEngine(self.svgs)
        _CLONES.append(engine)
        return engine


#: engines handed to Qt by clone(), kept alive (see there)
_CLONES: list[_TintedSvgEngine] = []


_icon_cache: dict[tuple[str, str, str], QIcon] = {}


def icon(name: str, color: QColor | str | None = None) -> QIcon:
    """An SVG icon tinted with ``color`` (default: the palette's text colour).

    Rendered when painted, at the size and device pixel ratio asked for, so it stays
    sharp on high-DPI screens.
    """
    pal = palette()
    base = QColor(color) if color is not None else pal.color(QPalette.ColorRole.ButtonText)
    disabled = pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    key = (name, base.name(QColor.NameFormat.HexArgb), disabled.name())
    cached = _icon_cache.get(key)
    if cached is not None:
        return cached
    src = svg_source(name)
    ic = QIcon(_TintedSvgEngine({mode: src.replace("currentColor", col.name())
                                 for mode, col in ((QIcon.Mode.Normal, base),
                                                   (QIcon.Mode.Disabled, disabled))}))
    _icon_cache[key] = ic
    return ic


_pixmap_cache: dict[tuple[str, int, str, float], QPixmap] = {}


def pixmap(name: str, size: int, color: QColor | str | None = None) -> QPixmap:
    """A tinted icon pixmap for painting in delegates; cached (paint is a hot path)."""
    screen = QGuiApplication.primaryScreen()
    ratio = max(1.0, screen.devicePixelRatio()) if screen is not None else 1.0
    col = QColor(color) if color is not None else palette().color(QPalette.ColorRole.Text)
    key = (name, size, col.name(QColor.NameFormat.HexArgb), ratio)
    px = _pixmap_cache.get(key)
    if px is None:
        if len(_pixmap_cache) > 512:
            _pixmap_cache.clear()
        px = _render(svg_source(name).replace("currentColor", col.name()), size, ratio)
        _pixmap_cache[key] = px
    return px


def author_color(name: str, pal: QPalette | None = None) -> QColor:
    """A readable colour for a user name, stable across runs, tuned for light or dark."""
    dark = is_dark(pal)
    return QColor.fromHslF(stable_hue(name) / 360.0, 0.62 if dark else 0.58,
                           0.68 if dark else 0.40)


def muted(pal: QPalette | None = None) -> QColor:
    pal = pal or palette()
    return _mix(pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base), 0.55)


def subtle_bg(pal: QPalette | None = None, amount: float = 0.06) -> QColor:
    pal = pal or palette()
    return _mix(pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base), amount)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """``t`` of a over ``1 - t`` of b."""
    return QColor.fromRgbF(a.redF() * t + b.redF() * (1 - t), a.greenF() * t + b.greenF() * (1 - t),
                           a.blueF() * t + b.blueF() * (1 - t))


mix = _mix

# Status colours: meaning-bearing hues that read well on light and dark backgrounds.
STATE_COLORS = {
    "offline": "#8a8f98",
    "connecting": "#e0a526",
    "starting": "#e0a526",
    "connected": "#2fb36b",
    "reconnecting": "#ef7d32",
    "failed": "#e5484d",
    "queued": "#8a8f98",
    "sent": "#8a8f98",
    "acked": "#3e8ef7",
    "no_ack": "#e0a526",
    "error": "#e5484d",
}


def state_color(state: str) -> QColor:
    return QColor(STATE_COLORS.get(state, "#8a8f98"))


def dot_pixmap(color: QColor | str, size: int = 12) -> QPixmap:
    ratio = 2.0
    px = QPixmap(size * 2, size * 2)
    px.fill(Qt.GlobalColor.transparent)
    p = QPainter(px)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    c = QColor(color)
    halo = QColor(c)
    halo.setAlphaF(0.25)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(halo)
    p.drawEllipse(0, 0, size * 2, size * 2)
    p.setBrush(c)
    p.drawEllipse(size // 2, size // 2, size, size)
    p.end()
    px.setDevicePixelRatio(ratio)
    return px


def apply(app: QApplication) -> None:
    """Fusion style, the palette of the system (light or dark), and our stylesheet."""
    app.setStyle("Fusion")
    hints = app.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None and hints.colorScheme() == Qt.ColorScheme.Dark and not is_dark():
        app.setPalette(_dark_palette())
    app.setStyleSheet(stylesheet())
    app.setWindowIcon(icon("app"))
    if scheme is not None and not app.property("sockdeskFollowsScheme"):
        app.setProperty("sockdeskFollowsScheme", True)  # connect the follower once
        hints.colorSchemeChanged.connect(lambda _s: _follow_scheme(app))


def _follow_scheme(app: QApplication) -> None:
    """The system switched light/dark: new palette, restyle (icons re-tint on next use)."""
    if app.styleHints().colorScheme() == Qt.ColorScheme.Dark:
        app.setPalette(_dark_palette())
    else:
        app.setPalette(app.style().standardPalette())
    _icon_cache.clear()
    _pixmap_cache.clear()
    app.setStyleSheet(stylesheet())


def _dark_palette() -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    for r, c in ((role.Window, "#1e1f24"), (role.WindowText, "#e6e7ea"), (role.Base, "#16171b"),
                 (role.AlternateBase, "#202127"), (role.Text, "#e6e7ea"),
                 (role.Button, "#26272d"), (role.ButtonText, "#e6e7ea"),
                 (role.Highlight, "#5b5bd6"), (role.HighlightedText, "#ffffff"),
                 (role.ToolTipBase, "#2b2c33"), (role.ToolTipText, "#e6e7ea"),
                 (role.PlaceholderText, "#8a8f98"), (role.Link, "#8fa8ff"),
                 (role.Mid, "#3a3b42"), (role.Midlight, "#2e2f36"), (role.Dark, "#101114")):
        pal.setColor(r, QColor(c))
    for r in (role.Text, role.ButtonText, role.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, r, QColor("#6b6f78"))
    return pal

