"""A durable job queue in the database: enqueue, claim with a lease, heartbeat, finish, fail."""
