"""The `meetbot` command line: run the bot, build the Teams app package."""
