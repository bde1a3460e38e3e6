"""The plugin host, the hook specifications and the built-in plugins."""
