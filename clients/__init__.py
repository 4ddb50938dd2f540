"""HTTP-triggered durable clients, one blueprint per module."""
