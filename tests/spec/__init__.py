"""The WebAssembly spec-suite harness: .wast -> JSON commands -> checks against an executor."""
