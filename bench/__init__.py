"""Benchmark harness comparing MeetBot with the stock Bot Framework echo bot."""
