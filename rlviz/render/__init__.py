"""Drawing explanations: colour maps and overlays, frame layout, video writers. Never runs a network."""
