"""Local stand-ins for every source, used by replay, the demo, the tests and the benchmarks.

Never used when real credentials are configured: replay builds its own settings that
point the real connectors at these servers on 127.0.0.1.
"""
