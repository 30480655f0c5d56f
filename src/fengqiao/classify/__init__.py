"""Message classification (category suggestions, self-routing) and duplicate detection."""
