import { duration } from "./format.js";

/** Idle stretches longer than this are drawn as a narrow break, so runs hours apart stay readable. */
const BREAK_AFTER_MS = 30_000;
/** Share of the axis one break takes, and the most all breaks together may take. */
const BREAK_SHARE = 0.04;
const BREAKS_MAX_SHARE = 0.3;
const TICK_STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
  900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
];

interface Segment {
  start: number;
  end: number;
  /** Position of `start` on the axis, in axis units. */
  offset: number;
}

export interface Break {
  x: number;
  width: number;
  idleMs: number;
}

export interface Tick {
  x: number;
  label: string;
}

/**
 * A time axis over the busy stretches of a session or loop: time maps to a percentage of the width, linearly
 * inside a busy stretch; the idle time between two stretches, when long, is squeezed into a break of fixed width.
 */
export class Axis {
  readonly t0: number;
  private readonly segments: Segment[] = [];
  private readonly breakUnits: number;
  private readonly total: number;

  constructor(intervals: Array<[number, number]>) {
    const sorted = intervals.filter(([s, e]) => Number.isFinite(s) && Number.isFinite(e)).sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const [s, e] of sorted) {
      const last = merged.at(-1);
      if (last && s - last[1] <= BREAK_AFTER_MS) last[1] = Math.max(last[1], e);
      else merged.push([s, Math.max(s, e)]);
    }
    if (merged.length === 0) merged.push([0, 0]);
    this.t0 = merged[0]![0];
    const busy = Math.max(1, merged.reduce((sum, [s, e]) => sum + (e - s), 0));
    const breaks = merged.length - 1;
    const share = Math.min(BREAKS_MAX_SHARE, BREAK_SHARE * breaks);
    this.breakUnits = breaks === 0 ? 0 : (share * busy) / (breaks * (1 - share));
    let offset = 0;
    for (const [start, end] of merged) {
      this.segments.push({ start, end, offset });
      offset += end - start + this.breakUnits;
    }
    this.total = Math.max(1, offset - this.breakUnits);
  }

  /** Percentage of the width at time `t`; a time inside an idle stretch lands proportionally inside its break. */
  x(t: number): number {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.start <= t) lo = mid;
      else hi = mid - 1;
    }
    const seg = segs[lo]!;
    let units: number;
    if (t <= seg.start) units = seg.offset;
    else if (t <= seg.end || lo === segs.length - 1) units = seg.offset + Math.min(t, seg.end) - seg.start;
    else {
      const next = segs[lo + 1]!;
      units = seg.offset + (seg.end - seg.start) + ((t - seg.end) / (next.start - seg.end)) * this.breakUnits;
    }
    return (units / this.total) * 100;
  }

  /** Width in percent of the interval [start, end]. */
  width(start: number, end: number): number {
    return Math.max(0, this.x(end) - this.x(start));
  }

  breaks(): Break[] {
    return this.segments.slice(1).map((seg, i) => {
      const prev = this.segments[i]!;
      const x = this.x(prev.end);
      return { x, width: this.x(seg.start) - x, idleMs: seg.start - prev.end };
    });
  }

  /** About `target` ticks at round offsets from the start, inside the busy stretches only. */
  ticks(target = 8): Tick[] {
    const busy = this.segments.reduce((sum, s) => sum + (s.end - s.start), 0);
    const step = TICK_STEPS.find((s) => busy / s <= target) ?? TICK_STEPS.at(-1)!;
    const ticks: Tick[] = [];
    for (const seg of this.segments) {
      const first = Math.ceil((seg.start - this.t0) / step) * step;
      for (let offset = first; this.t0 + offset <= seg.end; offset += step) {
        ticks.push({ x: this.x(this.t0 + offset), label: offset === 0 ? "0" : `+${duration(offset)}` });
      }
    }
    return ticks;
  }
}
