"""HTTP clients with the durable client faked at its HTTP edge."""
