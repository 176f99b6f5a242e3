"""SFT Coach engine: everything the app does, callable from plain Python (no gradio here)."""
