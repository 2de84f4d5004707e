"""Rendered pages kept briefly, with the visitor's CSRF token taken out and put back per request.

The campaign page is the busiest page of a viral campaign and renders the same for everyone
who sees the same language, ?source= tag and count; rendering it afresh each time cost more
than everything else in the request together.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask_wtf.csrf import generate_csrf

TOKEN_SLOT = "\x00csrf-token\x00"


class PageCache:
    """A small LRU of rendered pages; entries carry a placeholder where the CSRF token goes."""

    def __init__(self, size: int = 64):
        self.size = size
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, key: Hashable, render: Callable[[], str]) -> str:
        """The page for `key` with this visitor's CSRF token in it; `render` runs on a miss."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
        token = generate_csrf()
        if page is None:
            fresh = render()
            with self._lock:
                self._pages[key] = fresh.replace(token, TOKEN_SLOT)
                while len(self._pages) > self.size:
                    self._pages.popitem(last=False)
            return fresh
        return page.replace(TOKEN_SLOT, token)
