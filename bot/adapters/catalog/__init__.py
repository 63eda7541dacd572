"""The service catalog: model (its shape), load (reading the file), store (the one in force)."""
