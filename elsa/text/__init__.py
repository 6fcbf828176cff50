"""Text items: records read from files (:mod:`.records`) and their sparse TF-IDF features (:mod:`.features`)."""
