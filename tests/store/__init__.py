"""
The response stores (codex_relay._store): one contract for every backend
(L{tests.harness.store.StoreContract}), and what each backend adds.
"""
