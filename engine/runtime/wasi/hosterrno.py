"""Host errno (OSError.errno) -> WASI Errno, by name; anything unknown becomes EIO."""

from __future__ import annotations

import errno as _os

from .constants import Errno

_MAP: dict[int, int] = {}
for _name in Errno.__members__:
    _code = getattr(_os, "E" + _name, None)
    if _code is not None:
        _MAP[_code] = int(Errno[_name])
_MAP[_os.E2BIG] = int(Errno.TOOBIG)
_MAP[_os.EWOULDBLOCK] = int(Errno.AGAIN)
_MAP[_os.EOPNOTSUPP] = int(Errno.NOTSUP)
if hasattr(_os, "ENOTSUP"):
    _MAP[_os.ENOTSUP] = int(Errno.NOTSUP)
del _name, _code


def from_oserror(e: OSError) -> int:
    """The WASI errno for a host OSError."""
    return _MAP.get(e.errno or 0, int(Errno.IO))
