"""The HTTP layer: FastAPI routes that parse, call the domain, persist through the store and
answer; auth and roles in one dependency; problem+json errors; the command line."""
