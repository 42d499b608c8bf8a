"""A failed file operation in words an operator can act on."""

from __future__ import annotations

import errno


def os_error_cause(error: OSError) -> str:
    """What went wrong with a file, in words an operator can act on."""
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno == errno.EROFS:
        return "the file system is read-only"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a part of the path is a file, not a directory"
    return error.strerror or type(error).__name__
