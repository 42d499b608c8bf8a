"""The Teams / Bot Framework edge: the only package that imports botbuilder."""
