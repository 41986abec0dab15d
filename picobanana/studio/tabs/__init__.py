"""One module per studio tab; each has build(ctx, tabs)."""
