"""Physics only: geometry, arrays, channels, scenes and sensor models. No file I/O here."""
