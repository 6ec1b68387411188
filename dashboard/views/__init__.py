"""The dashboard's pages, one module each, each with a ``render()`` for ``st.Page``."""
