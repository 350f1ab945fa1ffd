"""The release flows (promote, sync, prepare): registry I/O around the pure decisions."""
