"""Host stat results and the guest's `filestat`, `fdstat`, `dirent` and `prestat` layouts."""

from __future__ import annotations

import stat as _stat
import struct

from .constants import Filetype

#: filestat: dev u64, ino u64, filetype u8 (+7), nlink u64, size u64, atim, mtim, ctim (64 bytes)
FILESTAT = struct.Struct("<QQB7xQQQQQ")
#: fdstat: filetype u8 (+1), flags u16 (+4), rights_base u64, rights_inheriting u64 (24 bytes)
FDSTAT = struct.Struct("<BxH4xQQ")
#: prestat: tag u8 (+3), pr_name_len u32 (8 bytes)
PRESTAT = struct.Struct("<B3xI")
#: dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8 (+3) (24 bytes)
DIRENT = struct.Struct("<QQIB3x")


def filetype_of_mode(mode: int) -> int:
    """The WASI filetype of a host st_mode."""
    if _stat.S_ISREG(mode):
        return Filetype.REGULAR_FILE
    if _stat.S_ISDIR(mode):
        return Filetype.DIRECTORY
    if _stat.S_ISLNK(mode):
        return Filetype.SYMBOLIC_LINK
    if _stat.S_ISCHR(mode):
        return Filetype.CHARACTER_DEVICE
    if _stat.S_ISBLK(mode):
        return Filetype.BLOCK_DEVICE
    if _stat.S_ISSOCK(mode):
        return Filetype.SOCKET_STREAM
    return Filetype.UNKNOWN


def pack_filestat(st) -> tuple:
    """The FILESTAT field values of an os.stat_result."""
    return (st.st_dev, st.st_ino, filetype_of_mode(st.st_mode), st.st_nlink, st.st_size,
            st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
