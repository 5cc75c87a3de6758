"""Teacher review: the queue of what waits for a human, and the decisions taken on it."""
