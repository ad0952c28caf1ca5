"""The decoder fuzz run: mutations of valid inputs, the registry of targets, a runner."""
