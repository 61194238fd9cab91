"""The test kit: ASGI message helpers, server and browser fixtures, log capture, docs samples."""
