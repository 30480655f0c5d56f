"""Working-day calendar: statutory holidays and adjusted working days (调休)."""
