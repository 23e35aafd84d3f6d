"""Operations on the catalog's tables beyond apply: health checks, purge with its safeguards,
export to files and restore from them."""
