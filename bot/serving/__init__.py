"""Serving: HTTP (gunicorn + Bolt's WSGI adapter), Socket Mode, and the console."""
