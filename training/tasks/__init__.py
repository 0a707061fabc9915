"""One module per trainer; ``training.trainers`` lists them (with their default presets)."""
