"""Channel adapters: all Telegram (and later Zalo) knowledge lives here."""
