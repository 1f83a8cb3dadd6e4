"""Pure functions the modules call (no state, no nn.Module)."""
