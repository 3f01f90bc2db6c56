"""State values as JSON on the control socket: bytes travel as {"$bytes": "<base64>"}."""
import base64
import json
import math
from typing import Any

from .errors import BadValueError

BYTES_TAG = "$bytes"


def to_json(value: Any, where: str = "value") -> Any:
    """A Python value as the daemon's JSON; raises BadValueError naming the part that cannot go."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValueError("%s is %r: JSON has no NaN or infinity" % (where, value))
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {BYTES_TAG: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return [to_json(item, "%s[%d]" % (where, i)) for i, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise BadValueError("%s has a key %r that is not a string" % (where, key))
            out[key] = to_json(item, "%s[%r]" % (where, key))
        return out
    raise BadValueError("%s is a %s: use None, bool, int, float, str, bytes, list or dict" % (where, type(value).__name__))


def from_json(value: Any) -> Any:
    """The daemon's JSON back to Python: {"$bytes": ...} objects become bytes."""
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if isinstance(value, dict):
        if len(value) == 1 and BYTES_TAG in value and isinstance(value[BYTES_TAG], str):
            return base64.b64decode(value[BYTES_TAG])
        return {key: from_json(item) for key, item in value.items()}
    return value


def encode_request(request: dict) -> bytes:
    return (json.dumps(request, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")
