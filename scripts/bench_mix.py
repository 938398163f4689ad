#!/usr/bin/env python3
"""Request mixes for the renderer benchmark, written as wrk Lua scripts.

--zipf: page popularity follows Zipf's law (s = 1) over every page of the
`seed --scale` landings, ranked in a shuffled order so popular pages are spread
over landings; most visits carry UTM parameters (source, medium, campaign from
small sets, as ad platforms send them) and many carry click ids and other
parameters that are unique per visit. Landings of the scale seed declare
`utm_campaign` content-relevant, so each campaign value is its own cache entry;
everything else must be normalised away by the renderer's cache key.

Returning visitors: 70% of visits carry a `cms_vid` cookie from a pool of
20,000 visitor ids (the others are first visits); each landing's home page
runs two experiments, so visitors there are assigned and their variant set
keys the cached shell.

--round-robin: every page in turn, no query string (for the miss renderer).

Deterministic (fixed seed), so runs are comparable.
"""

import argparse
import random

SOURCES = ["google", "yandex", "facebook", "vk", "email", "telegram"]
MEDIUMS = ["cpc", "social", "email", "display"]
CAMPAIGNS = ["spring-checkup", "dental-promo", "brand", "retarget"]
SAMPLES = 50_000
VISITORS = 20_000


def describe():
    return (f"{SAMPLES} requests, Zipf s=1 over pages; 80% with utm_source/utm_medium, "
            f"60% with one of {len(CAMPAIGNS)} utm_campaign values (content-relevant), "
            "40% with a unique gclid/fbclid/yclid, 10% with other unique parameters; "
            f"70% returning visitors (cookie from a pool of {VISITORS}); two running experiments on every home page")


def pages(scale, per_landing):
    for landing in range(1, scale + 1):
        host = f"scale-{landing}.localhost"
        yield host, "/"
        for n in range(1, per_landing):
            yield host, f"/page-{n}"


def query(rng, visit):
    params = []
    if rng.random() < 0.8:
        params += [f"utm_source={rng.choice(SOURCES)}", f"utm_medium={rng.choice(MEDIUMS)}"]
    if rng.random() < 0.6:
        params.append(f"utm_campaign={rng.choice(CAMPAIGNS)}")
    if rng.random() < 0.4:
        params.append(f"{rng.choice(['gclid', 'fbclid', 'yclid'])}=c{visit}x{rng.getrandbits(32):08x}")
    if rng.random() < 0.1:
        params.append(f"ref=r{visit}")
    rng.shuffle(params)
    return "?" + "&".join(params) if params else ""


def write(script, requests):
    """The requests go to `<script>.tsv` (host, target, visitor cookie), which
    the Lua script reads at start: a Lua table literal this large exceeds
    LuaJIT's limits."""
    with open(script + ".tsv", "w") as out:
        out.writelines(f"{host}\t{target}\t{visitor}\n" for host, target, visitor in requests)
    with open(script, "w") as out:
        out.write(
            "local requests = {}\n"
            f"for line in io.lines('{script}.tsv') do\n"
            "  local host, target, visitor = line:match('^(.-)\\t(.-)\\t(.*)$')\n"
            "  local headers = {Host = host}\n"
            "  if visitor ~= '' then headers['Cookie'] = 'cms_vid=' .. visitor end\n"
            "  requests[#requests + 1] = wrk.format('GET', target, headers)\n"
            "end\n"
            "local i = 0\n"
            "function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)); i = math.random(#requests) end\n"
            "function request() i = i % #requests + 1; return requests[i] end\n"
        )


def visitor(rng, pool):
    return rng.choice(pool) if rng.random() < 0.7 else ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--zipf")
    parser.add_argument("--round-robin")
    parser.add_argument("--describe", action="store_true")
    args = parser.parse_args()
    if args.describe:
        print(describe())
        return
    rng = random.Random(20261121)
    all_pages = list(pages(args.scale, args.pages))
    pool = [f"{rng.getrandbits(128):032x}" for _ in range(VISITORS)]
    pool = [f"{v[:8]}-{v[8:12]}-4{v[13:16]}-8{v[17:20]}-{v[20:]}" for v in pool]
    if args.round_robin:
        write(args.round_robin, [(host, path, "") for host, path in all_pages])
    if args.zipf:
        ranked = all_pages[:]
        rng.shuffle(ranked)
        weights = [1 / rank for rank in range(1, len(ranked) + 1)]
        chosen = rng.choices(ranked, weights=weights, k=SAMPLES)
        requests = [(host, path + query(rng, visit), visitor(rng, pool))
                    for visit, (host, path) in enumerate(chosen)]
        write(args.zipf, requests)


if __name__ == "__main__":
    main()
