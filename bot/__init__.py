"""MeetBot: a Teams bot that turns a conversation into a Teams meeting."""
