"""The interpreters, each owning its rule table."""
