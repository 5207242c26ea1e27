(module (import "loader_py" "nope" (func)))
