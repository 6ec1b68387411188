"""stayactive."""
