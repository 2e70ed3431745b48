from .compiler import ours

ours()
