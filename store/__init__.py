"""Persistence: the only code that speaks SQL. It maps rows to the domain and never commits on
its own; the caller owns the transaction (one request, one transaction)."""
