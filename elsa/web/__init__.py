"""The labelling web app (thin layer over elsa.session)."""
