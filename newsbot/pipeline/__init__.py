"""One cron run's wiring: its budget and signals, the stage thread, the watchdog, source health, --quiet."""
