"""inquiry."""
