"""The per-opcode case table, now shared by every backend in tests/backend_ops.py (kept so
existing imports keep working)."""

from backend_ops import BINARY, FCMP, FLOAT_EDGES, ICMP, INT_EDGES, UNARY, WIDTH, samples

__all__ = ["BINARY", "FCMP", "FLOAT_EDGES", "ICMP", "INT_EDGES", "UNARY", "WIDTH", "samples"]
