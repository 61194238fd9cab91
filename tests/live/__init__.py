"""live tests."""
