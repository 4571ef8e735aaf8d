"""Attacks on the running service: crash safety (`crash`), load and contention (`load`), and the
invariants every attack must leave intact (`invariants`). See docs/reliability.md."""
