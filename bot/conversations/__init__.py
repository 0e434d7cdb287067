"""Conversations: one file per flow, each declared as data (see ``bot.engine``).

To add a flow, write ``bot/conversations/<name>.py`` with a :class:`bot.engine.Flow` and add
it to ``FLOWS`` in ``bot/conversations/registry.py`` (the order is the menu order). Channels
and storage need no change unless the flow keeps new kinds of records. Shared input parsers
live in ``bot/parsers.py``.
"""
