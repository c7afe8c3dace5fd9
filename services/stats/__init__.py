"""Stats: counts every complaint and notification event into MongoDB and publishes the figures."""
