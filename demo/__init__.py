"""The Gradio app: per-session state, preview views and lighting controls (``python app.py``)."""
