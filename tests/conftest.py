import os

# The unit tests never need a GPU or the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
