"""The 30-day simulation (issue 34 item 4): the default (confidence-driven) policy against the
seed's (every 24 hours) in the worlds of three seeds, as `mlcc-ci simulate --days 30 --seed N`
prints them, and how long each replay takes (CPU seconds of this process, and wall time).

Target, for the default against the seed's, in each world: every injected regression caught,
median detection no later, at most 50 % of the cost. A replay should take well under a few
seconds.

Run: .venv/bin/python benchmarks/bench_simulate.py [SEED...]   (default: 1 2 3)
"""

import sys
import time

from mlcc_ci.simulation import metrics
from mlcc_ci.simulation.bound import bound_line, silent_bound
from mlcc_ci.simulation.compare import compare

DAYS = 30
SEEDS = (1, 2, 3)


def main(seeds: tuple[int, ...]) -> int:
    met = 0
    for seed in seeds:
        cpu, wall = time.process_time(), time.perf_counter()
        found = compare(DAYS, seed)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        default, seed_policy = found.by_name("default"), found.by_name("seed")
        target = metrics.target(default, seed_policy)
        met += target.met
        print(f"-- seed {seed}: {DAYS} days, {len(found.world.configs)} configurations")
        print(metrics.world_line(found.world))
        for line in metrics.table(found.summaries):
            print(line)
        for line in metrics.missed_lines(found.summaries):
            print(line)
        print(metrics.target_line(target, default, seed_policy))
        bound = silent_bound(found.world, found.setting)
        if bound is not None and bound.silent:
            print(bound_line(bound))
        replays = ", ".join(f"{s.policy} {s.seconds:.2f} s" for s in found.summaries)
        print(f"replays (wall): {replays}; the comparison {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"== target met in {met} of {len(seeds)} worlds")
    return 0


if __name__ == "__main__":
    sys.exit(main(tuple(int(a) for a in sys.argv[1:]) or SEEDS))
