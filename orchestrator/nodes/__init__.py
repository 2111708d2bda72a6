"""Graph nodes, one module each. Nodes read plain-JSON state and the run context (Deps)."""
