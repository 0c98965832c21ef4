"""Root pytest configuration: skip the optional torch backend's modules when its extra is absent.

``--doctest-modules`` imports every module under ``sharpsim/``; ``sharpsim.torch``
needs ``pip install "sharpsim[torch]"``, so without torch and transformers its
files are not collected (its tests, ``tests/test_torch_*.py``, skip themselves).
"""

import importlib.util

collect_ignore_glob = []
if not all(importlib.util.find_spec(m) for m in ("torch", "transformers")):
    collect_ignore_glob.append("sharpsim/torch/*")
