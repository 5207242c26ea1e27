"""The numeric vocabulary of wasi_snapshot_preview1 (its witx definition): errno, rights,
file types, flags, clocks, whence, advice, event types, with the values the specification
gives them."""

from __future__ import annotations

import enum


class Errno(enum.IntEnum):
    """`errno` (u16): error codes returned by every function."""

    SUCCESS = 0
    TOOBIG = 1          # witx: 2big
    ACCES = 2
    ADDRINUSE = 3
    ADDRNOTAVAIL = 4
    AFNOSUPPORT = 5
    AGAIN = 6
    ALREADY = 7
    BADF = 8
    BADMSG = 9
    BUSY = 10
    CANCELED = 11
    CHILD = 12
    CONNABORTED = 13
    CONNREFUSED = 14
    CONNRESET = 15
    DEADLK = 16
    DESTADDRREQ = 17
    DOM = 18
    DQUOT = 19
    EXIST = 20
    FAULT = 21
    FBIG = 22
    HOSTUNREACH = 23
    IDRM = 24
    ILSEQ = 25
    INPROGRESS = 26
    INTR = 27
    INVAL = 28
    IO = 29
    ISCONN = 30
    ISDIR = 31
    LOOP = 32
    MFILE = 33
    MLINK = 34
    MSGSIZE = 35
    MULTIHOP = 36
    NAMETOOLONG = 37
    NETDOWN = 38
    NETRESET = 39
    NETUNREACH = 40
    NFILE = 41
    NOBUFS = 42
    NODEV = 43
    NOENT = 44
    NOEXEC = 45
    NOLCK = 46
    NOLINK = 47
    NOMEM = 48
    NOMSG = 49
    NOPROTOOPT = 50
    NOSPC = 51
    NOSYS = 52
    NOTCONN = 53
    NOTDIR = 54
    NOTEMPTY = 55
    NOTRECOVERABLE = 56
    NOTSOCK = 57
    NOTSUP = 58
    NOTTY = 59
    NXIO = 60
    OVERFLOW = 61
    OWNERDEAD = 62
    PERM = 63
    PIPE = 64
    PROTO = 65
    PROTONOSUPPORT = 66
    PROTOTYPE = 67
    RANGE = 68
    ROFS = 69
    SPIPE = 70
    SRCH = 71
    STALE = 72
    TIMEDOUT = 73
    TXTBSY = 74
    XDEV = 75
    NOTCAPABLE = 76


class Rights(enum.IntFlag):
    """`rights` (u64): what a descriptor may be used for."""

    FD_DATASYNC = 1 << 0
    FD_READ = 1 << 1
    FD_SEEK = 1 << 2
    FD_FDSTAT_SET_FLAGS = 1 << 3
    FD_SYNC = 1 << 4
    FD_TELL = 1 << 5
    FD_WRITE = 1 << 6
    FD_ADVISE = 1 << 7
    FD_ALLOCATE = 1 << 8
    PATH_CREATE_DIRECTORY = 1 << 9
    PATH_CREATE_FILE = 1 << 10
    PATH_LINK_SOURCE = 1 << 11
    PATH_LINK_TARGET = 1 << 12
    PATH_OPEN = 1 << 13
    FD_READDIR = 1 << 14
    PATH_READLINK = 1 << 15
    PATH_RENAME_SOURCE = 1 << 16
    PATH_RENAME_TARGET = 1 << 17
    PATH_FILESTAT_GET = 1 << 18
    PATH_FILESTAT_SET_SIZE = 1 << 19
    PATH_FILESTAT_SET_TIMES = 1 << 20
    FD_FILESTAT_GET = 1 << 21
    FD_FILESTAT_SET_SIZE = 1 << 22
    FD_FILESTAT_SET_TIMES = 1 << 23
    PATH_SYMLINK = 1 << 24
    PATH_REMOVE_DIRECTORY = 1 << 25
    PATH_UNLINK_FILE = 1 << 26
    POLL_FD_READWRITE = 1 << 27
    SOCK_SHUTDOWN = 1 << 28
    SOCK_ACCEPT = 1 << 29


R = Rights
#: Rights that make sense on a regular file (or a character device such as stdio).
FILE_RIGHTS = int(R.FD_DATASYNC | R.FD_READ | R.FD_SEEK | R.FD_FDSTAT_SET_FLAGS | R.FD_SYNC
                  | R.FD_TELL | R.FD_WRITE | R.FD_ADVISE | R.FD_ALLOCATE | R.FD_FILESTAT_GET
                  | R.FD_FILESTAT_SET_SIZE | R.FD_FILESTAT_SET_TIMES | R.POLL_FD_READWRITE)
#: Rights that make sense on a directory.
DIR_RIGHTS = int(R.PATH_CREATE_DIRECTORY
                 | R.PATH_CREATE_FILE | R.PATH_LINK_SOURCE | R.PATH_LINK_TARGET | R.PATH_OPEN
                 | R.FD_READDIR | R.PATH_READLINK | R.PATH_RENAME_SOURCE | R.PATH_RENAME_TARGET
                 | R.PATH_FILESTAT_GET | R.PATH_FILESTAT_SET_SIZE | R.PATH_FILESTAT_SET_TIMES
                 | R.FD_FILESTAT_GET | R.FD_FILESTAT_SET_TIMES | R.PATH_SYMLINK
                 | R.PATH_REMOVE_DIRECTORY | R.PATH_UNLINK_FILE)
#: Rights a directory opened read-only (DirPerms.READ) loses.
DIR_WRITE_RIGHTS = int(R.PATH_CREATE_DIRECTORY | R.PATH_CREATE_FILE | R.PATH_LINK_TARGET
                       | R.PATH_RENAME_SOURCE | R.PATH_RENAME_TARGET | R.PATH_FILESTAT_SET_SIZE
                       | R.PATH_FILESTAT_SET_TIMES | R.FD_FILESTAT_SET_TIMES | R.PATH_SYMLINK
                       | R.PATH_REMOVE_DIRECTORY | R.PATH_UNLINK_FILE | R.PATH_LINK_SOURCE)
#: Rights a file opened under FilePerms.READ loses.
FILE_WRITE_RIGHTS = int(R.FD_DATASYNC | R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE
                        | R.FD_FILESTAT_SET_TIMES | R.FD_SYNC)
#: Rights that mean "open for reading" / "open for writing" in path_open.
READ_RIGHTS = int(R.FD_READ | R.FD_READDIR)
WRITE_RIGHTS = int(R.FD_DATASYNC | R.FD_WRITE | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE)
ALL_RIGHTS = (1 << 30) - 1
del R


class Filetype(enum.IntEnum):
    """`filetype` (u8)."""

    UNKNOWN = 0
    BLOCK_DEVICE = 1
    CHARACTER_DEVICE = 2
    DIRECTORY = 3
    REGULAR_FILE = 4
    SOCKET_DGRAM = 5
    SOCKET_STREAM = 6
    SYMBOLIC_LINK = 7


class FdFlags(enum.IntFlag):
    """`fdflags` (u16)."""

    APPEND = 1 << 0
    DSYNC = 1 << 1
    NONBLOCK = 1 << 2
    RSYNC = 1 << 3
    SYNC = 1 << 4


class OFlags(enum.IntFlag):
    """`oflags` (u16): path_open's open flags."""

    CREAT = 1 << 0
    DIRECTORY = 1 << 1
    EXCL = 1 << 2
    TRUNC = 1 << 3


class LookupFlags(enum.IntFlag):
    """`lookupflags` (u32)."""

    SYMLINK_FOLLOW = 1 << 0


class FstFlags(enum.IntFlag):
    """`fstflags` (u16): which timestamps *_filestat_set_times changes."""

    ATIM = 1 << 0
    ATIM_NOW = 1 << 1
    MTIM = 1 << 2
    MTIM_NOW = 1 << 3


class Whence(enum.IntEnum):
    """`whence` (u8)."""

    SET = 0
    CUR = 1
    END = 2


class Advice(enum.IntEnum):
    """`advice` (u8)."""

    NORMAL = 0
    SEQUENTIAL = 1
    RANDOM = 2
    WILLNEED = 3
    DONTNEED = 4
    NOREUSE = 5


class ClockId(enum.IntEnum):
    """`clockid` (u32)."""

    REALTIME = 0
    MONOTONIC = 1
    PROCESS_CPUTIME_ID = 2
    THREAD_CPUTIME_ID = 3


class EventType(enum.IntEnum):
    """`eventtype` (u8)."""

    CLOCK = 0
    FD_READ = 1
    FD_WRITE = 2


class SubClockFlags(enum.IntFlag):
    """`subclockflags` (u16)."""

    ABSTIME = 1 << 0


class EventRwFlags(enum.IntFlag):
    """`eventrwflags` (u16)."""

    HANGUP = 1 << 0


class PreopenType(enum.IntEnum):
    """`preopentype` (u8)."""

    DIR = 0


class SdFlags(enum.IntFlag):
    """`sdflags` (u8): sock_shutdown's how."""

    RD = 1 << 0
    WR = 1 << 1


class Signal(enum.IntEnum):
    """`signal` (u8), the values proc_raise takes (only the ones polyjit names)."""

    NONE = 0
    HUP = 1
    INT = 2
    QUIT = 3
    ILL = 4
    TRAP = 5
    ABRT = 6
    BUS = 7
    FPE = 8
    KILL = 9
    USR1 = 10
    SEGV = 11
    USR2 = 12
    PIPE = 13
    ALRM = 14
    TERM = 15
    CHLD = 16
    CONT = 17
    STOP = 18
    TSTP = 19
    TTIN = 20
    TTOU = 21
    URG = 22
    XCPU = 23
    XFSZ = 24
    VTALRM = 25
    PROF = 26
    WINCH = 27
    POLL = 28
    PWR = 29
    SYS = 30


class WasiError(Exception):
    """Raised inside the implementation to return an errno to the guest."""

    __slots__ = ("errno",)

    def __init__(self, errno: Errno) -> None:
        super().__init__(errno.name)
        self.errno = int(errno)
