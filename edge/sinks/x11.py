"""What the window needs from X11 that OpenCV does not give, through libX11 (ctypes, loaded when
first asked): the screen's size, and the repair of a window Qt never painted.

The repair: now and then (about one `tfedge run` in ten under Xvfb on a loaded machine) Qt never
handles the MapNotify of its freshly mapped window: a whole run of X events, ending with that
MapNotify and its Expose, never reaches its event handler (QT_LOGGING_RULES="qt.qpa.events=true"
shows the gap). Qt counts a window as exposed only once it has seen it mapped
(QXcbWindow::isExposed), so it never flushes its backing store: the window stays black although it
is mapped and shown every frame. Mapping it again (unmap, map) sends a fresh MapNotify and Qt paints
from then on. This looks for our top-level window among the root window's children, so it acts
where no window manager reparents it (Xvfb, a bare-X kiosk); elsewhere it finds nothing and does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_IS_VIEWABLE = 2
_Z_PIXMAP = 2
_ALL_PLANES = ctypes.c_ulong(~0 & 0xFFFFFFFFFFFFFFFF)


class _WindowAttributes(ctypes.Structure):
    """Xlib's XWindowAttributes."""

    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
                ("root", ctypes.c_ulong), ("window_class", ctypes.c_int), ("bit_gravity", ctypes.c_int),
                ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int),
                ("backing_planes", ctypes.c_ulong), ("backing_pixel", ctypes.c_ulong),
                ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong), ("map_installed", ctypes.c_int),
                ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


class _Image(ctypes.Structure):
    """The leading fields of Xlib's XImage (the rest is never read here)."""

    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int),
                ("format", ctypes.c_int), ("data", ctypes.c_void_p), ("byte_order", ctypes.c_int),
                ("bitmap_unit", ctypes.c_int), ("bitmap_bit_order", ctypes.c_int),
                ("bitmap_pad", ctypes.c_int), ("depth", ctypes.c_int), ("bytes_per_line", ctypes.c_int),
                ("bits_per_pixel", ctypes.c_int)]


_library = None


def _x11():
    """libX11 with the signatures used here, or None where there is none (macOS, Windows, Wayland-only)."""
    global _library
    if _library is None:
        try:
            x11 = ctypes.CDLL("libX11.so.6")  # Linux; find_library would run ldconfig (a process) first
        except OSError:
            name = ctypes.util.find_library("X11")
            if not name:
                _library = False
                return None
            x11 = ctypes.CDLL(name)
        display, window, integer, unsigned, pointer = (ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int,
                                                       ctypes.c_ulong, ctypes.POINTER)
        signatures = {
            "XOpenDisplay": ([ctypes.c_char_p], display), "XCloseDisplay": ([display], integer),
            "XDefaultScreen": ([display], integer), "XDefaultRootWindow": ([display], window),
            "XDisplayWidth": ([display, integer], integer), "XDisplayHeight": ([display, integer], integer),
            "XQueryTree": ([display, window, pointer(window), pointer(window), pointer(pointer(window)),
                            pointer(ctypes.c_uint)], integer),
            "XFetchName": ([display, window, pointer(ctypes.c_char_p)], integer),
            "XGetWindowAttributes": ([display, window, pointer(_WindowAttributes)], integer),
            "XGetImage": ([display, window, integer, integer, ctypes.c_uint, ctypes.c_uint, unsigned,
                           integer], pointer(_Image)),
            "XDestroyImage": ([pointer(_Image)], integer), "XFree": ([ctypes.c_void_p], integer),
            "XUnmapWindow": ([display, window], integer), "XMapWindow": ([display, window], integer),
            "XSync": ([display, integer], integer),
            "XInternAtom": ([display, ctypes.c_char_p, integer], unsigned),
            "XGetWindowProperty": ([display, window, unsigned, ctypes.c_long, ctypes.c_long, integer,
                                    unsigned, pointer(unsigned), pointer(integer), pointer(unsigned),
                                    pointer(unsigned), pointer(ctypes.c_void_p)], integer),
        }
        for function, (arguments, result) in signatures.items():
            getattr(x11, function).argtypes = arguments
            getattr(x11, function).restype = result
        _library = x11
    return _library or None


class _Display:
    """An Xlib connection of our own (Qt keeps its own), closed on leaving the `with`."""

    def __enter__(self):
        self.x11 = _x11()
        self.display = self.x11.XOpenDisplay(None) if self.x11 else None
        return self if self.display else None

    def __exit__(self, *_exc) -> None:
        if self.display:
            self.x11.XCloseDisplay(self.display)


def screen_size() -> tuple[int, int] | None:
    """(width, height) of the X11 screen (Xwayland included), else None."""
    with _Display() as connection:
        if connection is None:
            return None
        screen = connection.x11.XDefaultScreen(connection.display)
        return (connection.x11.XDisplayWidth(connection.display, screen),
                connection.x11.XDisplayHeight(connection.display, screen))


def _top_level_windows(connection, title: str) -> list[int]:
    """The root window's children named `title` (a window manager would have reparented them)."""
    x11, display = connection.x11, connection.display
    root, parent = ctypes.c_ulong(), ctypes.c_ulong()
    children, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
    if not x11.XQueryTree(display, x11.XDefaultRootWindow(display), ctypes.byref(root), ctypes.byref(parent),
                          ctypes.byref(children), ctypes.byref(count)):
        return []
    found = []
    try:
        for index in range(count.value):
            name = ctypes.c_char_p()
            if x11.XFetchName(display, children[index], ctypes.byref(name)) and name.value is not None:
                if name.value.decode(errors="replace") == title:
                    found.append(children[index])
                x11.XFree(name)
    finally:
        if children:
            x11.XFree(children)
    return found


def _unpainted(connection, window: int) -> bool:
    """True when the window is viewable and every pixel of it on screen is black (Qt drew nothing)."""
    import numpy as np

    x11, display = connection.x11, connection.display
    attributes = _WindowAttributes()
    if not x11.XGetWindowAttributes(display, window, ctypes.byref(attributes)):
        return False
    if attributes.map_state != _IS_VIEWABLE:
        return False
    screen = screen_size() or (0, 0)
    left, top = max(0, attributes.x), max(0, attributes.y)
    right = min(screen[0], attributes.x + attributes.width)
    bottom = min(screen[1], attributes.y + attributes.height)
    if right <= left or bottom <= top:
        return False
    # read from the root window: always viewable, and the rectangle is inside the screen (no BadMatch)
    image = x11.XGetImage(display, x11.XDefaultRootWindow(display), left, top, right - left, bottom - top,
                          _ALL_PLANES, _Z_PIXMAP)
    if not image:
        return False
    try:
        contents = image.contents
        if contents.bits_per_pixel != 32:
            return False
        pixels = np.frombuffer(ctypes.string_at(contents.data, contents.bytes_per_line * contents.height),
                               np.uint32)
        return not (pixels & 0x00FFFFFF).any()
    finally:
        x11.XDestroyImage(image)


def map_again_if_unpainted(title: str) -> bool:
    """Unmap and map our top-level window `title` when it is mapped but black all over; True when
    it did (see the module's docstring), False when there was nothing to do or no X11 to ask."""
    with _Display() as connection:
        if connection is None:
            return False
        windows = [window for window in _top_level_windows(connection, title) if _ours(connection, window)]
        unpainted = [window for window in windows if _unpainted(connection, window)]
        for window in unpainted:
            connection.x11.XUnmapWindow(connection.display, window)
            connection.x11.XMapWindow(connection.display, window)
        connection.x11.XSync(connection.display, 0)
        return bool(unpainted)


def _ours(connection, window: int) -> bool:
    """True when _NET_WM_PID of `window` is this process (Qt sets it), so another program's window
    with the same title is never touched."""
    x11, display = connection.x11, connection.display
    atom = x11.XInternAtom(display, b"_NET_WM_PID", 1)
    if not atom:
        return False
    kind, size, count, left, data = (ctypes.c_ulong(), ctypes.c_int(), ctypes.c_ulong(), ctypes.c_ulong(),
                                     ctypes.c_void_p())
    if x11.XGetWindowProperty(display, window, atom, 0, 1, 0, 0, ctypes.byref(kind), ctypes.byref(size),
                              ctypes.byref(count), ctypes.byref(left), ctypes.byref(data)) != 0:
        return False
    try:
        # format 32 properties come back as C longs
        pid = ctypes.cast(data, ctypes.POINTER(ctypes.c_long))[0] if data.value and count.value == 1 else None
        return pid == os.getpid()
    finally:
        if data.value:
            x11.XFree(data)
