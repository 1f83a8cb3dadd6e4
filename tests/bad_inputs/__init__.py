"""The bad-input suite: tables of layers x input families and loaders x hostile files."""
