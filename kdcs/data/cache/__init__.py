"""The on-disk cache of a scenario: decoded, preprocessed arrays (memory-mapped) plus a manifest.

build (prepare / open a cache folder), decode (worker processes writing into the memmaps),
manifest (what a folder holds and whether it still matches its sources), location (where a
scenario's cache goes when the user does not say).
"""
