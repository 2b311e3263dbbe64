"""Write the recipe-assistant dataset: ingredient lines in, generic ingredients out.

The task: given a short ingredient list or a one-sentence recipe step, answer
with the generic ingredients as a JSON list of lowercase singular names, in the
order they appear::

    2 cups finely chopped fresh basil leaves       ->  ["basil"]
    1 (14 oz) can diced tomatoes, drained          ->  ["tomato"]

A base model asked zero-shot rambles, keeps quantities and preparations, or
breaks the JSON; a few minutes of LoRA teach a 135M model the format and the
normalization. The output is a pure function of the input, so every reference
answer is right by construction.

Seeded and deterministic: running it again rewrites identical files. The three
splits never share a combination of ingredients, so the evaluation measures
generalization rather than recall.

    python examples/recipes/make_data.py            # write data/*.jsonl
    python examples/recipes/make_data.py --check    # exit 1 if the files on disk are stale
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vocabulary import VOCABULARY, Ingredient

SYSTEM_PROMPT = "List the generic ingredients as a JSON array of lowercase singular names."

SPLITS = {"eval": 40, "valid": 40, "train": 400}
"""Generated in this order; each split avoids every combination an earlier one used."""

SEED = 20250107
MAX_USER_CHARS = 125
"""Keeps every example under ~100 tokens with the chat template, for quick CPU training."""

DATA_DIR = Path(__file__).resolve().parent / "data"

BRANDS = (
    "organic",
    "store-bought",
    "good-quality",
    "farm-fresh",
    "local",
    "Sunny Valley",
    "Old Mill",
    "Bella Nonna",
    "Golden Acres",
    "Grandma's",
)
COUNTS = ("1", "2", "3", "4", "6", "1/2")
SIZES = ("large", "medium", "small", "ripe")
VOLUMES = ("1 cup", "2 cups", "1/2 cup", "1/4 cup", "3/4 cup", "1 1/2 cups", "2 tbsp", "1 tablespoon", "3 tablespoons")
SPOONS = ("1 tsp", "1/2 tsp", "1/4 teaspoon", "2 teaspoons", "1 tbsp", "a pinch of", "1/8 tsp", "1 teaspoon")
POURS = ("2 tbsp", "1/4 cup", "1 cup", "250 ml", "2 cups", "a splash of", "3 tablespoons", "1/3 cup", "1 tsp", "100 ml")
WEIGHTS = ("1 lb", "2 lbs", "500 g", "8 oz", "200 g", "12 ounces", "1 1/2 pounds", "1 kg", "400 g")
CANS = ("1 (14 oz) can", "1 (15-ounce) can", "2 (15 oz) cans", "1 can", "1 (28 oz) can", "1 (13.5 oz) can", "2 cans")
PIECE_PLURALS = {"inch piece": "inch pieces", "loaf": "loaves"}
TRAILING_PIECES = ("clove", "stalk", "rib", "bulb")
"""Piece words recipes also write after the name: "3 garlic cloves"."""
GRINDABLE = ("cumin", "cinnamon", "nutmeg", "coriander", "cardamom", "allspice", "black pepper", "oregano")

_ANY_NOTE = ("(optional)", "(see note)")
_TO_TASTE = ("(or to taste)", "(plus more to taste)", *_ANY_NOTE)


class Kind:
    """How recipes write one kind of ingredient: words before it, after it, and notes."""

    def __init__(self, pres: tuple[str, ...] = ("",), posts: tuple[str, ...] = (), notes: tuple[str, ...] = ()):
        self.pres = pres
        self.posts = posts
        self.notes = (*notes, *_ANY_NOTE)


KINDS = {
    "count": Kind(
        posts=("diced", "chopped", "finely chopped", "thinly sliced", "peeled and diced", "minced", "roughly chopped"),
        notes=("(about 2 cups)", "(about 1 lb)"),
    ),
    "fruit": Kind(
        posts=("peeled and sliced", "halved", "juiced", "zested and juiced", "cut into wedges", "cored and diced"),
        notes=("(about 1 cup)",),
    ),
    "greens": Kind(("", "fresh", "baby", "chopped"), ("washed and dried", "stems removed", "roughly chopped")),
    "volume": Kind(("", "fresh", "frozen", "sliced", "chopped"), ("trimmed", "halved", "thawed", "rinsed")),
    "berry": Kind(("", "fresh", "frozen", "dried"), ("halved", "pitted", "rinsed", "chopped")),
    "jarred": Kind(("", "chopped", "sliced"), ("drained", "rinsed and drained", "roughly chopped", "halved")),
    "herb": Kind(
        ("chopped fresh", "minced fresh", "fresh", "finely chopped", "torn fresh", "chopped"),
        ("chopped", "finely chopped", "stems removed", "torn", "plus more for garnish"),
    ),
    "spice": Kind(("", "ground", "freshly ground", "toasted", "crushed"), ("or to taste", "divided"), _TO_TASTE),
    "powder": Kind(posts=("or to taste", "divided"), notes=_TO_TASTE),
    "paste": Kind(posts=("divided",), notes=_TO_TASTE),
    "liquid": Kind(
        posts=("divided", "plus more for drizzling", "warmed", "at room temperature", "chilled"),
        notes=("(divided)", "(plus more as needed)"),
    ),
    "can": Kind(posts=("drained", "rinsed and drained", "undrained", "with juices")),
    "baking": Kind(posts=("sifted", "divided", "plus more for dusting"), notes=("(spooned and leveled)",)),
    "grain": Kind(("", "dried", "uncooked", "cooked"), ("rinsed", "cooked according to package", "drained")),
    "meat": Kind(
        posts=("cut into 1-inch pieces", "patted dry", "trimmed", "thinly sliced", "cubed", "at room temperature"),
        notes=("(about 1 lb)", "(room temperature)"),
    ),
    "egg": Kind(posts=("beaten", "lightly beaten", "at room temperature", "whisked"), notes=("(room temperature)",)),
    "butter": Kind(
        ("", "cold", "melted"),
        ("melted", "softened", "cubed and chilled", "at room temperature", "divided"),
        ("(room temperature)", "(1 stick)", "(divided)"),
    ),
    "cheese": Kind(
        ("", "shredded", "grated", "freshly grated", "crumbled", "cubed"),
        ("shredded", "grated", "crumbled", "cubed", "softened", "divided"),
        ("(about 1 cup)", "(divided)"),
    ),
    "nut": Kind(
        ("", "chopped", "toasted", "roughly chopped", "slivered", "crushed"),
        ("toasted", "chopped", "roughly chopped", "toasted and chopped"),
    ),
    "bread": Kind(posts=("toasted", "warmed", "cut into cubes", "torn into pieces")),
}

VERBS_TWO = (
    "Whisk {0} with {1}.",
    "Toss {0} with {1}.",
    "Cook {0} in {1} until soft.",
    "Top {0} with {1}.",
    "Blend {0} and {1} until smooth.",
    "Simmer {0} with {1} for 10 minutes.",
)
VERBS_MANY = (
    "Combine {items}.",
    "Mix {items} in a bowl.",
    "Stir together {items}.",
    "Toss {items} in a large bowl.",
    "Layer {items} in a baking dish.",
    "Simmer {items} until tender.",
)
FILLERS = ("", "", "", " Serve warm.", " Chill for 1 hour.", " Bake for 20 minutes.", " Cook until golden.")


def plural_piece(piece: str) -> str:
    return PIECE_PLURALS.get(piece, piece + "s")


def capitalized(words: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in words.split(" "))


def noun(ing: Ingredient, many: bool, rng: random.Random, *, suffix_chance: float = 0.3) -> str:
    """The ingredient as a recipe writes it: maybe a variety, a plural, a trailing word, capitals."""
    words = ing.plural if many and ing.plural else ing.name
    if ing.varieties and rng.random() < 0.45:
        words = f"{rng.choice(ing.varieties)} {words}"
    if ing.suffix and rng.random() < suffix_chance:
        words = f"{words} {ing.suffix}"
    if rng.random() < 0.12:
        words = f"{rng.choice(BRANDS)} {words}"
    if rng.random() < 0.12:
        words = capitalized(words)
    return words


def join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def pre(kind: str, rng: random.Random) -> str:
    return rng.choice(KINDS[kind].pres)


def counted(ing: Ingredient, rng: random.Random) -> str:
    if ing.pieces and (ing.plural is None or rng.random() < 0.3):
        piece = rng.choice(ing.pieces)
        n = rng.choice(("1", "2", "3", "4"))
        if piece == "inch piece":
            return join(f"{n}-inch piece", rng.choice(("", "fresh")), noun(ing, False, rng))
        pieces = piece if n == "1" else plural_piece(piece)
        if piece in TRAILING_PIECES and rng.random() < 0.5:
            return join(n, noun(ing, False, rng), pieces)
        return join(n, pieces, noun(ing, False, rng))
    n = rng.choice(COUNTS)
    many = n not in ("1", "1/2")
    return join(n, rng.choice(("", "", *SIZES)), noun(ing, many, rng))


def by_volume(ing: Ingredient, rng: random.Random, kind: str) -> str:
    return join(rng.choice(VOLUMES), pre(kind, rng), noun(ing, True, rng))


def herb(ing: Ingredient, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.15:
        return join(rng.choice(("2", "3", "4")), "sprigs fresh", noun(ing, True, rng, suffix_chance=0))
    if roll < 0.25:
        return join("1 bunch", noun(ing, True, rng, suffix_chance=0))
    if roll < 0.35 and ing.suffix:
        return join("a handful of", noun(ing, True, rng, suffix_chance=0), ing.suffix)
    amount = rng.choice(("1/4 cup", "2 tbsp", "1 tablespoon", "1/2 cup", "2 teaspoons", "1 tsp"))
    return join(amount, pre("herb", rng), noun(ing, True, rng, suffix_chance=0.5))


def spice(ing: Ingredient, rng: random.Random, kind: str) -> str:
    grindable = ing.name in GRINDABLE or ing.name.endswith(" seed")
    return join(rng.choice(SPOONS), pre(kind, rng) if grindable else "", noun(ing, True, rng))


def liquid(ing: Ingredient, rng: random.Random) -> str:
    return join(rng.choice(POURS), noun(ing, False, rng))


def canned(ing: Ingredient, rng: random.Random) -> str:
    form = rng.choice(("diced", "whole peeled", "fire-roasted diced")) if ing.name == "tomato" else ""
    return join(rng.choice(CANS), form, noun(ing, True, rng))


def weighed(ing: Ingredient, rng: random.Random, kind: str) -> str:
    return join(rng.choice((*VOLUMES, *WEIGHTS)), pre(kind, rng), noun(ing, True, rng))


def meat(ing: Ingredient, rng: random.Random) -> str:
    if ing.pieces and rng.random() < 0.5:
        piece = rng.choice(ing.pieces)
        n = rng.choice(("1", "2") if piece == "block" else ("2", "4", "6", "8"))
        return join(n, piece if n == "1" else plural_piece(piece), noun(ing, False, rng))
    if ing.plural and rng.random() < 0.4:
        return join(rng.choice(("2", "4", "6")), noun(ing, True, rng))
    return join(rng.choice(WEIGHTS), noun(ing, True, rng))


def egg(ing: Ingredient, rng: random.Random) -> str:
    n = rng.choice(("1", "2", "3", "4", "6"))
    return join(n, rng.choice(("", "large", "extra-large", "medium")), noun(ing, n != "1", rng))


def butter(ing: Ingredient, rng: random.Random) -> str:
    amount = rng.choice(("2 tbsp", "1/2 cup", "1 stick", "4 tablespoons", "115 g", "1 tbsp", "3/4 cup"))
    return join(amount, pre("butter", rng), noun(ing, False, rng))


def cheese(ing: Ingredient, rng: random.Random) -> str:
    if ing.name == "mozzarella" and rng.random() < 0.3:
        return join("1 (8 oz) ball", noun(ing, False, rng))
    amount = rng.choice(("1 cup", "1/2 cup", "4 oz", "2 oz", "100 g", "1/4 cup", "8 ounces"))
    return join(amount, pre("cheese", rng), noun(ing, False, rng, suffix_chance=0.5))


def bread(ing: Ingredient, rng: random.Random) -> str:
    if ing.pieces or ing.plural is None:
        n = rng.choice(("2", "4", "6"))
        return join(n, "slices", noun(ing, False, rng)) if rng.random() < 0.7 else join("1 loaf", noun(ing, False, rng))
    n = rng.choice(("1", "2", "4", "8"))
    return join(n, rng.choice(("", "small", "large", "8-inch")), noun(ing, n != "1", rng))


def phrase_for(ing: Ingredient, kind: str, rng: random.Random) -> str:
    """The quantity, unit and name of one ingredient, as a recipe of this kind writes it."""
    if kind in ("count", "fruit"):
        return counted(ing, rng)
    if kind in ("greens", "volume", "berry", "jarred", "nut"):
        return by_volume(ing, rng, kind)
    if kind in ("spice", "powder", "paste"):
        return spice(ing, rng, kind)
    if kind in ("baking", "grain"):
        return weighed(ing, rng, kind)
    builders: dict[str, Callable[[Ingredient, random.Random], str]] = {
        "herb": herb,
        "liquid": liquid,
        "can": canned,
        "meat": meat,
        "egg": egg,
        "butter": butter,
        "cheese": cheese,
        "bread": bread,
    }
    return builders[kind](ing, rng)


def ingredient_line(ing: Ingredient, rng: random.Random) -> tuple[str, str]:
    """One ingredient as a list line (with notes) and as a phrase for a sentence."""
    kind = rng.choice(ing.kinds)
    phrase = phrase_for(ing, kind, rng)
    line = phrase
    if rng.random() < 0.15:
        line = f"{line} {rng.choice(KINDS[kind].notes)}"
    if KINDS[kind].posts and rng.random() < 0.5:
        line = f"{line}, {rng.choice(KINDS[kind].posts)}"
    return line, phrase


def recipe_text(lines: list[tuple[str, str]], rng: random.Random) -> str:
    if rng.random() < 0.65:
        items = [line for line, _ in lines]
        bullet = rng.choice(("", "", "- ", "* "))
        header = "Ingredients:\n" if rng.random() < 0.2 else ""
        return header + "\n".join(bullet + item for item in items)
    phrases = [phrase for _, phrase in lines]
    if len(phrases) == 2 and rng.random() < 0.6:
        sentence = rng.choice(VERBS_TWO).format(*phrases)
    else:
        items = ", ".join(phrases[:-1]) + rng.choice((" and ", ", and ")) + phrases[-1]
        sentence = rng.choice(VERBS_MANY).format(items=items)
    return sentence + rng.choice(FILLERS)


def example(names: list[str], text: str) -> dict[str, object]:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": text},
            {"role": "assistant", "content": json.dumps(names)},
        ]
    }


def generate(seed: int = SEED) -> dict[str, list[dict[str, object]]]:
    """Every split's examples; the same seed always gives the same data."""
    rng = random.Random(seed)
    used_combinations: set[frozenset[str]] = set()
    used_texts: set[str] = set()
    splits: dict[str, list[dict[str, object]]] = {}
    for split, size in SPLITS.items():
        rows: list[dict[str, object]] = []
        while len(rows) < size:
            chosen = rng.sample(VOCABULARY, rng.choice((2, 3, 3, 4)))
            combination = frozenset(ing.name for ing in chosen)
            if combination in used_combinations:
                continue
            text = recipe_text([ingredient_line(ing, rng) for ing in chosen], rng)
            if len(text) > MAX_USER_CHARS or text in used_texts:
                continue
            used_combinations.add(combination)
            used_texts.add(text)
            rows.append(example([ing.name for ing in chosen], text))
        splits[split] = rows
    return splits


def render(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output folder (default: data/ beside this script)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", action="store_true", help="compare with the files on disk instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for split, rows in generate(args.seed).items():
        path = args.out / f"{split}.jsonl"
        text = render(rows)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {len(rows):4d} examples to {path}")
    if stale:
        print("stale, run make_data.py again: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
