import type { CallerSchedule } from '@imdsv2-cutover/core';

/**
 * Cron-style schedules evaluated in UTC. A parsed schedule lists its fire times inside a window without walking every
 * minute: it walks days, and within a matching day only the listed hours and minutes, so a 455-day window costs a few
 * hundred steps per caller.
 */
export interface CronSchedule {
  minutes: number[];
  hours: number[];
  /** Days of month 1..31, or `null` for `*`. */
  daysOfMonth: Set<number> | null;
  lastDayOfMonth: boolean;
  months: Set<number> | null;
  daysOfWeek: Set<number> | null;
}

const dowNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function parseField(field: string, min: number, max: number, names?: string[]): number[] | null {
  if (field === '*') return null;
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new RangeError(`bad cron step in "${field}"`);
    let lo: number;
    let hi: number;
    const value = (t: string): number => {
      const i = names ? names.indexOf(t.toLowerCase()) : -1;
      const v = i >= 0 ? i : Number(t);
      if (!Number.isInteger(v)) throw new RangeError(`bad cron value "${t}" in "${field}"`);
      return v;
    };
    if (range === '*' || range === undefined) {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      lo = value(a ?? '');
      hi = value(b ?? '');
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : max;
    }
    if (lo < min || hi > max || lo > hi) throw new RangeError(`cron value out of range in "${field}" (${min}..${max})`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/** Parses a 5-field cron expression (minute hour day-of-month month day-of-week); day-of-month may be `L`. */
export function parseCron(expr: string): CronSchedule {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) throw new RangeError(`expected 5 cron fields, got ${f.length} in "${expr}"`);
  const [mi, ho, dom, mo, dow] = f as [string, string, string, string, string];
  const minutes = parseField(mi, 0, 59) ?? range(0, 59);
  const hours = parseField(ho, 0, 23) ?? range(0, 23);
  const lastDayOfMonth = dom.toUpperCase() === 'L';
  const doms = lastDayOfMonth ? null : parseField(dom, 1, 31);
  const months = parseField(mo, 1, 12);
  const dows = parseField(dow.replace(/\b7\b/g, '0'), 0, 6, dowNames);
  return {
    minutes,
    hours,
    daysOfMonth: doms ? new Set(doms) : null,
    lastDayOfMonth,
    months: months ? new Set(months) : null,
    daysOfWeek: dows ? new Set(dows) : null,
  };
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

/** The cron expression equivalent to a scenario schedule (`continuous` has none). */
export function scheduleToCron(s: CallerSchedule): string | null {
  if (s === 'continuous') return null;
  const hm = (t: string): [string, string] => {
    const [h, m] = t.split(':');
    return [String(Number(h)), String(Number(m))];
  };
  if ('daily' in s) {
    const [h, m] = hm(s.daily);
    return `${m} ${h} * * *`;
  }
  if ('weekly' in s) {
    const [day, t] = s.weekly.split(' ') as [string, string];
    const [h, m] = hm(t);
    return `${m} ${h} * * ${dowNames.indexOf(day.toLowerCase())}`;
  }
  if ('monthly' in s) {
    const [day, t] = s.monthly.split(' ') as [string, string];
    const [h, m] = hm(t);
    return `${m} ${h} ${day === 'last' ? 'L' : day} * *`;
  }
  return s.cron;
}

const DAY = 86_400_000;

function dayMatches(c: CronSchedule, d: Date): boolean {
  if (c.months && !c.months.has(d.getUTCMonth() + 1)) return false;
  let domOk: boolean | null = null;
  if (c.lastDayOfMonth) {
    const next = new Date(d.getTime() + DAY);
    domOk = next.getUTCMonth() !== d.getUTCMonth();
  } else if (c.daysOfMonth) domOk = c.daysOfMonth.has(d.getUTCDate());
  const dowOk = c.daysOfWeek ? c.daysOfWeek.has(d.getUTCDay()) : null;
  // Standard cron: when both day fields are restricted, either may match.
  if (domOk !== null && dowOk !== null) return domOk || dowOk;
  return (domOk ?? true) && (dowOk ?? true);
}

/** Fire times (epoch ms, ascending) in [fromMs, toMs). */
export function cronFires(c: CronSchedule, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  if (toMs <= fromMs) return out;
  for (let day = Math.floor(fromMs / DAY) * DAY; day < toMs; day += DAY) {
    if (!dayMatches(c, new Date(day))) continue;
    for (const h of c.hours) {
      for (const m of c.minutes) {
        const t = day + h * 3_600_000 + m * 60_000;
        if (t >= fromMs && t < toMs) out.push(t);
      }
    }
  }
  return out;
}
