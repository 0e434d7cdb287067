"""ishc-bot: the chat service of Vietnam's Intergenerational Self-Help Clubs."""
