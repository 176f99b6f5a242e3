"""The Gradio pages: thin layers that turn user input into calls to core/ and results into what the page shows."""
