"""A second image dev set of everyday objects: photographs cut out for Tux Paint's stamps.

The project's dev set (``../shared/devset/images``) leans to scenes and textures (fog, nebula, tree
bark) that no ImageNet or COCO class names, while the issue's hidden set is everyday labels:
animals, birds, food, vehicles, tools, household objects, instruments. This builds a set of that
kind from one Debian package, ``tuxpaint-stamps-default`` (photographs of single objects on a
transparent background, mostly from Wikimedia Commons and the Tux Paint authors; GPL-2+ and
compatible licences, see the package's copyright file): 172 labels, 235 photos, each flattened
on white and saved as a JPEG, as a product photo would be. Drawings and cartoons in the package
are left out, and so are labels that would overlap (no "fish" beside "clownfish").

    python -m bench.devset_objects OUT [--deb FILE.deb | --stamps DIR]
    sensorium eval OUT

Without ``--deb`` or ``--stamps`` it runs ``apt-get download tuxpaint-stamps-default`` (Debian
and its derivatives) in a scratch folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "tuxpaint-stamps-default"
STAMPS = "usr/share/tuxpaint/stamps"

# label -> stamp files (paths under STAMPS, without ".png")
LABELS: dict[str, tuple[str, ...]] = {
    # birds
    "chicken": ("animals/birds/chicken_profile", "animals/birds/hen", "animals/birds/rooster"),
    "crow": ("animals/birds/crow",),
    "crane": ("animals/birds/crowned_crane",),
    "duck": ("animals/birds/drake", "animals/birds/duck"),
    "goose": ("animals/birds/gander",),
    "guineafowl": ("animals/birds/guineafowl", "animals/birds/helmeted_guineafowl"),
    "heron": ("animals/birds/heron_greatblue", "animals/birds/heron_greatblue_flying"),
    "penguin": ("animals/birds/little-penguin", "animals/birds/magellanic_penguin", "animals/birds/penguin"),
    "magpie": ("animals/birds/magpie",),
    "ostrich": ("animals/birds/ostrich",),
    "owl": ("animals/birds/owl",),
    "parrot": ("animals/birds/adelaide-rosella", "animals/birds/rainbow-lorikeet"),
    "peacock": ("animals/birds/peacock",),
    "pelican": ("animals/birds/pelican",),
    "pigeon": ("animals/birds/pigeon",),
    "flamingo": ("animals/birds/pink_flamingo",),
    "seagull": ("animals/birds/seagull", "animals/birds/silver-gull"),
    "toucan": ("animals/birds/tucan",),
    "turkey": ("animals/birds/turkey",),
    "vulture": ("animals/birds/vulture",),
    # other animals
    "frog": ("animals/amphibians/frog", "animals/amphibians/frog-1"),
    "fish": (
        "animals/fish/bluegroper",
        "animals/fish/butterflyfish",
        "animals/fish/clownfish",
        "animals/fish/coraltrout",
        "animals/fish/dolphinfish",
        "animals/fish/stripedfish",
    ),
    "lobster": ("animals/fish/lobster",),
    "seahorse": ("animals/fish/seahorse",),
    "slug": ("animals/insects/Brown_slug",),
    "grasshopper": ("animals/insects/grasshopper",),
    "hornet": ("animals/insects/hornet",),
    "praying mantis": ("animals/insects/mantis",),
    "moth": ("animals/insects/xanthia",),
    "lizard": ("animals/lizards/iguana",),
    "chimpanzee": ("animals/mammals/apes/chimp",),
    "gorilla": ("animals/mammals/apes/gorilla",),
    "dolphin": ("animals/mammals/aquatic/dolphin",),
    "killer whale": ("animals/mammals/aquatic/orca",),
    "whale": ("animals/mammals/aquatic/whale",),
    "otter": ("animals/mammals/aquatic/otter",),
    "sea lion": ("animals/mammals/aquatic/sea_lion",),
    "badger": ("animals/mammals/badger",),
    "bear": ("animals/mammals/bears/bear", "animals/mammals/bears/european-bear"),
    "teddy bear": ("animals/mammals/bears/toys/edward_bear",),
    "bison": ("animals/mammals/bovines/bison",),
    "cow": ("animals/mammals/bovines/bull", "animals/mammals/bovines/cow", "animals/mammals/bovines/cow_white"),
    "wildebeest": ("animals/mammals/bovines/gnu-stand", "animals/mammals/bovines/gnu-sitting"),
    "goat": ("animals/mammals/bovines/goat",),
    "antelope": ("animals/mammals/bovines/indian_blackbuck",),
    "sheep": ("animals/mammals/bovines/ram", "animals/mammals/bovines/sheep", "animals/mammals/bovines/sheep_lamb"),
    "yak": ("animals/mammals/bovines/yak",),
    "camel": ("animals/mammals/camel/camel", "animals/mammals/camel/dromedary"),
    "lion": ("animals/mammals/cats/lion", "animals/mammals/cats/lion-2"),
    "tiger": ("animals/mammals/cats/tiger", "animals/mammals/cats/tiger_sumatran"),
    "reindeer": ("animals/mammals/deer/caribou",),
    "deer": ("animals/mammals/deer/deer", "animals/mammals/deer/doe", "animals/mammals/deer/wapiti"),
    "dog": ("animals/mammals/dogs/dog",),
    "fox": ("animals/mammals/dogs/fox",),
    "elephant": ("animals/mammals/elephant",),
    "donkey": ("animals/mammals/equines/donkey", "animals/mammals/equines/donkey_eating"),
    "horse": ("animals/mammals/equines/horse",),
    "zebra": ("animals/mammals/equines/zebra",),
    "ferret": ("animals/mammals/ferret",),
    "giraffe": ("animals/mammals/giraffe",),
    "hippopotamus": ("animals/mammals/hippopotamus",),
    "pig": ("animals/mammals/pig", "animals/mammals/pig_golden", "animals/mammals/pig_golden2"),
    "rabbit": ("animals/mammals/rabbit_little", "animals/mammals/rodents/rabbit", "animals/mammals/rodents/rabbit-2"),
    "rhinoceros": ("animals/mammals/rhino_black",),
    "beaver": ("animals/mammals/rodents/beaver",),
    "mouse": ("animals/mammals/rodents/mouse",),
    "rat": ("animals/mammals/rodents/rat",),
    "squirrel": ("animals/mammals/rodents/squirrel",),
    "wild boar": ("animals/mammals/wildboar",),
    "kangaroo": ("animals/marsupials/kangaroo",),
    "koala": ("animals/marsupials/koala",),
    "wombat": ("animals/marsupials/wombat",),
    # food
    "apricot": ("food/fruit/Apricot_whole", "food/fruit/apricot"),
    "cherries": ("food/fruit/Cherry_Stella",),
    "strawberry": ("food/fruit/Strawberry2", "food/fruit/strawberry"),
    "apple": ("food/fruit/apple_fuji", "food/fruit/apple_granny_smith", "food/fruit/apple_red"),
    "avocado": ("food/fruit/avocado",),
    "banana": ("food/fruit/banana",),
    "grapes": ("food/fruit/grapes",),
    "kiwi fruit": ("food/fruit/kiwi",),
    "lemon": ("food/fruit/lemon",),
    "orange": ("food/fruit/orange", "food/fruit/mandarine", "food/fruit/sliced_orange"),
    "pear": ("food/fruit/pear",),
    "pineapple": ("food/fruit/pineapple",),
    "pomegranate": ("food/fruit/pomegranate",),
    "lime": ("food/fruit/sliced_lime",),
    "walnut": ("food/nuts/walnut", "food/nuts/walnut_shelled"),
    "almond": ("food/nuts/almond",),
    "ginger": ("food/spices/ginger",),
    "broccoli": ("food/vegetables/broccoli",),
    "carrot": ("food/vegetables/carrot",),
    "chili pepper": ("food/vegetables/chilepepper",),
    "corn": ("food/vegetables/corn",),
    "eggplant": ("food/vegetables/eggplant",),
    "garlic": ("food/vegetables/garlic", "food/vegetables/garlics"),
    "lettuce": ("food/vegetables/lettuce", "food/vegetables/redlettuce"),
    "mushroom": ("food/vegetables/mushroom", "plants/mushrooms/cep", "plants/mushrooms/cep-2"),
    "onion": ("food/vegetables/onion",),
    "bell pepper": ("food/vegetables/pepper", "food/vegetables/yellowpepper"),
    "potato": ("food/vegetables/potato",),
    "pumpkin": ("food/vegetables/pumpkin_small",),
    "tomato": ("food/vegetables/tomato",),
    # instruments
    "trumpet": ("hobbies/music/brass/trumpet",),
    "cymbal": ("hobbies/music/percussion/cymbal_crash",),
    "drum": ("hobbies/music/percussion/drum_tomtom_floor", "hobbies/music/percussion/drumkit"),
    "cello": ("hobbies/music/string/cello",),
    "guitar": (
        "hobbies/music/string/guitar2",
        "hobbies/music/string/guitar_classical",
        "hobbies/music/string/guitar_electric",
    ),
    "violin": ("hobbies/music/string/violin",),
    "bassoon": ("hobbies/music/wind/bassoon",),
    # household objects and tools
    "binoculars": ("hobbies/binoculars",),
    "camera": ("hobbies/camera_35mm",),
    "light bulb": ("household/Lightbulb",),
    "marker pen": ("household/arttools/highlighter", "household/arttools/pen_dryerase"),
    "scissors": ("household/arttools/scissors_small_open", "household/arttools/scissors_small_closed"),
    "gas cylinder": ("household/cylinder",),
    "drinking glass": ("household/dishes/glass",),
    "mug": ("household/dishes/mug",),
    "jug": ("household/dishes/pitcher_small",),
    "teapot": ("household/dishes/teapot",),
    "pepper mill": ("household/dishes/utensils/pepper_grinder",),
    "trash can": ("household/garbagecan", "household/wheelie_bin"),
    "kettle": ("household/kettle",),
    "key": ("household/key",),
    "rubber duck": ("household/rubberduck",),
    "toilet": ("household/toilet",),
    "clothespin": ("clothes/clothespin_new", "clothes/clothespin_old"),
    "cement mixer": ("household/tools/cementmixer",),
    "hammer": ("household/tools/hammer", "household/tools/mallet_metal"),
    "tape measure": ("household/tools/measuring_tape",),
    "paintbrush": ("household/tools/paintbrush_large",),
    "pliers": ("household/tools/plyers",),
    "saw": ("household/tools/saw",),
    "shovel": ("household/tools/spade",),
    "toolbox": ("household/tools/toolbox",),
    "wrench": ("household/tools/wrench", "household/tools/wrench_adjustable", "household/tools/wrench_plumbers"),
    "adhesive bandage": ("medical/bandage_adhesive",),
    "thermometer": ("medical/mercurythermometer",),
    "stethoscope": ("medical/stethoscope",),
    "syringe": ("medical/syringe",),
    "mailbox": ("town/uk_post_box", "town/usps_mailbox"),
    "tire": ("vehicles/7spoke256", "vehicles/wheel_tractor"),
    # plants
    "rose": ("plants/flowers/rose",),
    "daffodil": ("plants/flowers/daffodil",),
    "iris": ("plants/flowers/iris",),
    "marigold": ("plants/flowers/marigold",),
    "hibiscus": ("plants/flowers/chemparathi", "plants/flowers/flower10"),
    "lavender": ("plants/lavender",),
    "tree": ("plants/trees/birch", "plants/trees/holm_oak", "plants/trees/tree336"),
    "palm tree": ("plants/trees/liberia-palm",),
    "pine cone": ("plants/trees/pinecone",),
    # sport, vehicles, people
    "basketball": ("sports/basketball",),
    "american football": ("sports/football", "sports/australian_rules_football"),
    "cricket ball": ("sports/cricketball",),
    "soccer ball": ("sports/soccer",),
    "tennis ball": ("sports/tennis_ball",),
    "tennis racket": ("sports/tennis_racket",),
    "trophy": ("sports/trophy_cup",),
    "car": ("vehicles/auto/beetle", "vehicles/auto/sedan", "vehicles/auto/sportscar2"),
    "pickup truck": ("vehicles/auto/truck",),
    "tricycle": ("vehicles/cycle/pink_tricycle",),
    "fire engine": ("vehicles/emergency/firetruck",),
    "hot air balloon": ("vehicles/flight/balloon360",),
    "airplane": ("vehicles/flight/planes/747",),
    "fighter jet": ("military/vehicles/f22_raptor",),
    "tank": ("military/vehicles/ww2_german_gun", "military/vehicles/bradley"),
    "garbage truck": ("vehicles/garbagetruck",),
    "bus": ("vehicles/masstransit/green_korean_bus",),
    "race car": ("vehicles/race/indycar",),
    "sailing ship": ("vehicles/ship/chineseJunk", "vehicles/ship/walnutBoat"),
    "parachute": ("military/paratrooper",),
    "astronaut": ("space/spacewalk",),
    "fire": ("naturalforces/fire",),
}


def _stamps_from_deb(deb: Path, into: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    return into / STAMPS


def _download(into: Path) -> Path:
    subprocess.run(["apt-get", "download", PACKAGE], cwd=into, check=True)
    debs = sorted(into.glob(f"{PACKAGE}_*.deb"))
    if not debs:
        raise SystemExit(f"apt-get download {PACKAGE} gave no .deb")
    return debs[-1]


def build(out: Path, stamps: Path) -> int:
    """Writes ``out/<label>/<stamp>.jpg`` for every stamp in :data:`LABELS`; returns the count."""
    from PIL import Image

    written = 0
    for label, names in LABELS.items():
        folder = out / label.replace(" ", "_")
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            src = stamps / f"{name}.png"
            with Image.open(src) as im:
                rgba = im.convert("RGBA")
            flat = Image.new("RGBA", rgba.size, "white")
            flat.alpha_composite(rgba)
            flat.convert("RGB").save(folder / f"{Path(name).name}.jpg", quality=92)
            written += 1
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--deb", type=Path, help=f"a downloaded {PACKAGE} .deb")
    src.add_argument("--stamps", type=Path, help=f"its {STAMPS} folder, unpacked")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.stamps:
            stamps = args.stamps
        else:
            deb = args.deb or _download(Path(tmp))
            stamps = _stamps_from_deb(deb, Path(tmp) / "pkg")
        n = build(args.out, stamps)
    print(f"{n} photos in {len(LABELS)} labels under {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
