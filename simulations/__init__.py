"""amity.simulations: a discrete-event world that drives the real amity.protocol core."""
