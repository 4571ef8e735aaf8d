"""The accounting domain of codi-ledger: pure Python over integer satang and Decimal rates.

Nothing here touches the web, SQL, the clock or randomness; callers pass in everything a
computation needs and get data back. The store persists what this package decides.
"""
