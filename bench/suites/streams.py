"""placeholder"""
from common import Skip
NAME = "streams"
TARGETS = ["eddydb", "eddydb-mem"]
def run(target, cfg):
    raise Skip("not written yet")
