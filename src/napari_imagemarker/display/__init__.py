"""Display model (no Qt): how pixel values become what the screen shows."""
