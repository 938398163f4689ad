"""Pillow, as an independent party, for the media tests.

make-exif-jpeg OUT WIDTH HEIGHT
    A JPEG stored WIDTH x HEIGHT, left half red and right half blue, tagged
    EXIF orientation 6 (shown rotated 90 degrees clockwise: red on top) with
    GPS coordinates, a camera make and a comment.
inspect FILE
    Decodes FILE and prints JSON: format, size, whether any EXIF (and GPS)
    survived, any other metadata blocks, and the colours at the top and bottom
    centre.
"""
import json
import sys

from PIL import Image


def make_exif_jpeg(out, width, height):
    image = Image.new("RGB", (width, height), (0, 0, 250))
    image.paste((250, 0, 0), (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    exif[0x010F] = "TestCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (55.0, 45.0, 21.0)
    gps[3] = "E"
    gps[4] = (37.0, 37.0, 4.0)
    image.save(out, "JPEG", quality=90, exif=exif.tobytes(), comment=b"secret comment")


DECODING_FACTS = (
    "dpi", "jfif", "jfif_version", "jfif_unit", "jfif_density", "progressive",
    "progression", "loop", "duration", "timestamp", "background",
    "transparency", "lossless",
)


def inspect(path):
    with Image.open(path) as image:
        image.load()
        exif = image.getexif()
        rgb = image.convert("RGB")
        width, height = rgb.size
        print(json.dumps({
            "format": image.format,
            "width": width,
            "height": height,
            "exif_tags": len(exif),
            "gps": len(exif.get_ifd(0x8825)),
            # What Pillow reports besides the pixels, less its own decoding
            # facts (density, progressive, animation timing: WebP frames
            # get a "timestamp"): only metadata carried by the file remains.
            "info_keys": sorted(k for k in image.info.keys() if k not in DECODING_FACTS),
            "top": rgb.getpixel((width // 2, height // 4)),
            "bottom": rgb.getpixel((width // 2, 3 * height // 4)),
        }))


if __name__ == "__main__":
    if sys.argv[1] == "make-exif-jpeg":
        make_exif_jpeg(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif sys.argv[1] == "inspect":
        inspect(sys.argv[2])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
