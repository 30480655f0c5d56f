"""Fengqiao (枫桥): grassroots social governance."""
