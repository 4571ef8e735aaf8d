"""Attacks on the running service: crash safety (`crash`), load and contention (`load`), the
timing of access control (`timing`), and the invariants every attack must leave intact
(`invariants`). See docs/reliability.md."""
