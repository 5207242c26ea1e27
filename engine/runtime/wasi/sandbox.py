"""The sandboxed path resolver.

A guest path is resolved one component at a time, starting from a directory descriptor, with
`os.open(..., dir_fd=...)` and O_NOFOLLOW|O_DIRECTORY on every intermediate directory: the host's
resolution of the whole string is never used. Symbolic links are read (`readlink`) and their
text resolved by the same walk, inside the sandbox, at most MAX_SYMLINKS times per lookup (then
LOOP). An absolute path, an absolute link target, or a `..` that would climb above the starting
directory is refused with PERM (what wasmtime answers).

The result names the object as (parent directory fd, one component): the caller applies the
host operation to that pair with no-follow semantics, so the host never resolves more than one
name, and never follows a link (a link swapped in after the walk is refused, not followed)."""

from __future__ import annotations

import errno as _os
import os
from collections import deque

from .constants import Errno, WasiError

#: how many symbolic links one lookup may follow (Linux allows 40)
MAX_SYMLINKS = 32

_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Resolved:
    """The outcome of a lookup: ``dirfd`` (a host directory fd inside the sandbox), ``name``
    (one component, or "." for the directory itself), ``must_be_dir`` (the path ended in "/",
    "." or ".."), ``is_link`` (the last component is a symbolic link that was not followed),
    ``via_link`` (the last component was reached by following a link: a trailing "/" follows
    one, as in POSIX). A context manager: leaving it closes the directories the walk opened."""

    __slots__ = ("dirfd", "name", "must_be_dir", "is_link", "via_link", "_opened")

    def __init__(self, dirfd: int, name: str, must_be_dir: bool, is_link: bool,
                 opened: list[int], via_link: bool = False) -> None:
        self.dirfd = dirfd
        self.name = name
        self.must_be_dir = must_be_dir
        self.is_link = is_link
        self.via_link = via_link
        self._opened = opened

    def close(self) -> None:
        opened, self._opened = self._opened, []
        for fd in opened:
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> Resolved:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _split(path: str) -> tuple[list[str], bool]:
    """Components without "" and ".", and whether the path names a directory by its form."""
    parts = path.split("/")
    must_be_dir = parts[-1] in ("", ".", "..")
    return [p for p in parts if p and p != "."], must_be_dir


def resolve(base: int, path: str, follow: bool) -> Resolved:
    """Resolve `path` relative to the host directory fd `base` (see the module docstring).
    `follow`: follow a symbolic link in the last component too."""
    if "\0" in path:
        raise WasiError(Errno.INVAL)
    if path == "":
        raise WasiError(Errno.NOENT)
    if path.startswith("/"):
        raise WasiError(Errno.PERM)
    comps, must_be_dir = _split(path)
    queue = deque(comps)
    stack = [base]
    opened: list[int] = []
    links = 0
    followed_last = False
    try:
        while queue:
            comp = queue.popleft()
            last = not queue
            if comp == "..":
                if len(stack) == 1:
                    raise WasiError(Errno.PERM)
                fd = stack.pop()
                opened.remove(fd)
                os.close(fd)
                continue
            if len(comp.encode("utf-8", "surrogateescape")) > 255:
                raise WasiError(Errno.NAMETOOLONG)
            try:
                target = os.readlink(comp, dir_fd=stack[-1])
            except OSError as e:
                if e.errno == _os.EINVAL:
                    target = None                       # exists, not a link
                elif e.errno == _os.ENOENT and last:
                    return Resolved(stack[-1], comp, must_be_dir, False, opened, followed_last)
                else:
                    raise
            if target is not None:
                if last and not follow and not must_be_dir:
                    return Resolved(stack[-1], comp, must_be_dir, True, opened)
                links += 1
                if links > MAX_SYMLINKS:
                    raise WasiError(Errno.LOOP)
                if target.startswith("/"):
                    raise WasiError(Errno.PERM)
                if target == "":
                    raise WasiError(Errno.NOENT)
                more, dir_form = _split(target)
                if last and dir_form:
                    must_be_dir = True
                queue.extendleft(reversed(more))
                followed_last = followed_last or last
                continue
            if last:
                return Resolved(stack[-1], comp, must_be_dir, False, opened, followed_last)
            fd = os.open(comp, _DIR_FLAGS, dir_fd=stack[-1])
            opened.append(fd)
            stack.append(fd)
        # the path named a directory on the walk's stack itself ("", ".", "a/..", a link to ".")
        return Resolved(stack[-1], ".", True, False, opened, followed_last)
    except BaseException:
        for fd in opened:
            try:
                os.close(fd)
            except OSError:
                pass
        raise
