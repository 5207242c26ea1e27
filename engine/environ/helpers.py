"""The runtime helpers (libcalls) generated code calls through the vmctx helper table: their
names, argument lists and table order, shared by every backend and the runtime."""

from __future__ import annotations

import enum


class Helper(enum.Enum):
    """Runtime helpers generated code calls through the vmctx helper table (C calling convention,
    first argument the caller's vmctx). The value is the symbol name; the index in the table is
    the member's position in this enum (see HELPER_INDEX)."""

    MEMORY_GROW = "memory_grow"      # (vmctx, mem, delta) -> old pages or -1
    MEMORY_INIT = "memory_init"      # (vmctx, mem, seg, dst, src, n) -> 0 / code + 1
    DATA_DROP = "data_drop"          # (vmctx, seg) -> 0
    TABLE_GROW = "table_grow"        # (vmctx, table, init, delta) -> old size or -1
    TABLE_FILL = "table_fill"        # (vmctx, table, dst, val, n) -> 0 / code + 1
    TABLE_COPY = "table_copy"        # (vmctx, dst_table, src_table, dst, src, n) -> 0 / code + 1
    TABLE_INIT = "table_init"        # (vmctx, table, seg, dst, src, n) -> 0 / code + 1
    ELEM_DROP = "elem_drop"          # (vmctx, seg) -> 0
    HOST_CALL = "host_call"          # (host_ctx, buffer) -> 0 or nonzero when the host raised
    EPOCH = "epoch"                  # (vmctx) -> 0: go on, nonzero: trap INTERRUPT (the epoch
    #                                  check's slow path: pending signals, the real deadline)
    BACKTRACE = "backtrace"          # (vmctx, frame pointer, trap pc) -> 0: the trap stub's
    #                                  record of the frames' chain while the stack still holds it
    LAZY_COMPILE = "lazy_compile"    # (vmctx, function index) -> its code address, or a trap
    #                                  code + 1 (< 256) when it cannot be compiled
    TRAP = "trap"                    # the trap entry: not called, jumped to (see exec)
    TIER_UP = "tier_up"              # (vmctx, backends.base.osr_request) -> the function is
    #                                  hot: compile it with the optimising tier (its later calls
    #                                  run that); from a loop header, the address of that
    #                                  loop's on-stack replacement entry once there is one, or 0


HELPER_INDEX: dict[Helper, int] = {h: i for i, h in enumerate(Helper)}
