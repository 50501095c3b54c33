import time

from django.core.management.base import BaseCommand, CommandError

from ibms.demo.generator import SCALES, GenError, digest, generate


class Command(BaseCommand):
    help = ("Generate deterministic synthetic master data (regions, units, personnel, payees, accounts) into a "
            "fictional province: small (7 regions, 60 units), city (11, 800), province (36, 3,600), "
            "chongqing (42, 18,000). Same --seed, same data. Refuses a province prefix that already holds data "
            "(exit code 3). Run `ibms setup` first.")

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=list(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--province", default=None,
                            help="two-digit region code prefix 90-98 (default: small 98, city 97, province 96, "
                                 "chongqing 95; 99 is the demo province)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args, scale, seed, province, no_progress, **opts):
        started = time.perf_counter()
        try:
            ctx = generate(scale, seed, prefix=province, progress=not no_progress)
        except GenError as e:
            raise CommandError(str(e), returncode=e.exit_code)
        elapsed = time.perf_counter() - started
        rows = sum(ctx.counts.values())
        self.stdout.write(self.style.SUCCESS(
            f"已生成 {scale} 规模数据（种子 {seed}，区划前缀 {ctx.prefix}，根区划 {ctx.regions[0]}）: "
            f"{rows:,} 行，用时 {elapsed:.1f} 秒（{rows / max(elapsed, 1e-9):,.0f} 行/秒）"))
        for name, n in ctx.counts.items():
            self.stdout.write(f"  {name:<14} {n:>9,}")
        for name, secs in ctx.timings.items():
            n = ctx.stage_rows[name]
            self.stdout.write(f"  stage {name:<14} {n:>9,} 行 {secs:8.1f} s {n / max(secs, 1e-9):>9,.0f} 行/秒")
        self.stdout.write(f"digest {digest(ctx.prefix)}")
