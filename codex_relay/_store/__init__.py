"""
Where stored responses live: one small interface (L{interface}) and its
backends, in memory, on SQLite and on Redis.  Nothing here blocks the
reactor.
"""
