"""Runs MeetBot: `python app.py` (configuration from the environment and `.env`)."""

from bot.cli.main import run

if __name__ == "__main__":
    run()
