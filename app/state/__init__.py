"""Durable state: deliveries, installations, plans, locks, published comments, credentials."""
