"""JSON for the runner, straight from the C accelerator of the json package.

`import json` imports re, enum, functools and collections on the way: over 10 ms of CPU that
every sandbox process would pay at start, about a third of a warm Python sandbox, though
the runner needs only the two C functions underneath. Output as json.dumps with
allow_nan=False; where the accelerator is missing (an interpreter other than CPython), the
json package itself.
"""

try:
    from _json import encode_basestring_ascii, make_encoder, make_scanner
except ImportError:
    make_scanner = None


def _not_serialisable(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _Decoding:
    """The settings json.JSONDecoder hands the scanner: plain dicts, floats and ints."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name):
        raise ValueError(f"{name} is not JSON")


if make_scanner is not None:
    _scan = make_scanner(_Decoding)

    def dumps(value):
        # A new encoder each time: its cycle markers are left dirty by a failed call.
        encode = make_encoder({}, _not_serialisable, encode_basestring_ascii, None, ": ", ", ", False, False, False)
        return "".join(encode(value, 0))

    def loads(text):
        text = text.strip()
        try:
            value, end = _scan(text, 0)
        except StopIteration as stop:
            raise ValueError(f"not JSON (at character {stop.value})") from None
        if end != len(text):
            raise ValueError(f"not JSON (extra data at character {end})")
        return value

else:
    import json

    def dumps(value):
        return json.dumps(value, allow_nan=False)

    loads = json.loads
