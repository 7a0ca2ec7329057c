"""Files: reading input documents, corpus records, atomic writers and output file names."""
