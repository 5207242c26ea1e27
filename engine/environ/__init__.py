"""The environment compiler and runtime share (the role of wasmtime-environ): the vmctx layout
(vmctx.py), the runtime-helper table (helpers.py), process-wide signature ids (signatures.py)
and the per-module metadata code generation needs, built once per module (module_info.py).
Imports only the ground layer and the front end."""
