"""The statisticians' KPI dashboard (Streamlit), reading only the published KPI snapshot."""
