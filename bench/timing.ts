/**
 * @file Timing helpers shared by the model benchmarks: interleaved medians (ours and the peers
 * take turns, so a burst of load from other processes hits both sides alike) and small
 * formatting helpers.
 */

/**
 * Median wall time (ms) of each function in `fns`, after `warmup` untimed rounds. Each timed
 * round calls every function once, in the given order; `runs` rounds in all.
 */
export async function interleavedMedians(
  fns: ReadonlyArray<() => unknown>, runs = 5, warmup = 1,
): Promise<number[]> {
  for (let w = 0; w < warmup; w++) for (const fn of fns) await fn();
  const times: number[][] = fns.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < fns.length; i++) {
      const t0 = performance.now();
      await fns[i]();
      times[i].push(performance.now() - t0);
    }
  }
  return times.map(median);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "1.2e-6"-style relative difference. */
export const fmtRel = (x: number): string => x.toExponential(1);

/** Peak resident set size of this process so far, in MB. */
export const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;
