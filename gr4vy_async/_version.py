__version__ = "0.1.0"

#: ``gr4vy-async/<version>``: the client's User-Agent and the ``iss`` of the tokens auth signs.
PRODUCT = f"gr4vy-async/{__version__}"
