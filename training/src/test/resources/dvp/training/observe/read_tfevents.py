"""Independent reader of TensorBoard event files (standard library only), used by TensorBoardWriterTest.

Checks the TFRecord framing (both masked CRC32C values, computed here bit by bit, not with any
library) and decodes Event/Summary protobuf fields by hand. Prints one JSON object per event.
Usage: python3 read_tfevents.py FILE
"""
import json
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf):
    """Yields (field_number, wire_type, value) of a protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 1:
            value = buf[i:i + 8]
            i += 8
        elif wire == 2:
            n, i = varint(buf, i)
            value = buf[i:i + n]
            i += n
        elif wire == 5:
            value = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield field, wire, value


def decode_event(payload):
    ev = {}
    for field, wire, value in fields(payload):
        if field == 1 and wire == 1:
            ev["wall_time"] = struct.unpack("<d", value)[0]
        elif field == 2 and wire == 0:
            ev["step"] = value
        elif field == 3 and wire == 2:
            ev["file_version"] = value.decode("utf-8")
        elif field == 5 and wire == 2:
            values = []
            for f, w, v in fields(value):
                if f == 1 and w == 2:
                    item = {}
                    for f2, w2, v2 in fields(v):
                        if f2 == 1 and w2 == 2:
                            item["tag"] = v2.decode("utf-8")
                        elif f2 == 2 and w2 == 5:
                            item["simple_value"] = struct.unpack("<f", v2)[0]
                    values.append(item)
            ev["summary"] = values
        elif field == 6 and wire == 2:
            ev["session_log"] = {f: v for f, w, v in fields(value) if w == 0}
        else:
            raise ValueError("unexpected field %d (wire %d)" % (field, wire))
    return ev


def main(path):
    data = open(path, "rb").read()
    i = 0
    while i < len(data):
        header = data[i:i + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack("<I", data[i + 8:i + 12])
        if masked(crc32c(header)) != len_crc:
            raise SystemExit("bad length CRC at offset %d" % i)
        payload = data[i + 12:i + 12 + length]
        (data_crc,) = struct.unpack("<I", data[i + 12 + length:i + 16 + length])
        if masked(crc32c(payload)) != data_crc:
            raise SystemExit("bad data CRC at offset %d" % i)
        print(json.dumps(decode_event(payload), sort_keys=True))
        i += 16 + length


if __name__ == "__main__":
    main(sys.argv[1])
