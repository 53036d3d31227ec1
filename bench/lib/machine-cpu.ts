import { readdirSync, readFileSync } from 'node:fs';

/**
 * The whole machine's CPU time (every core, every process) from /proc/stat, to say how busy the machine
 * was while a benchmark ran: on two cores shared by the producer, the broker, PostgreSQL and the engine,
 * a latency tail is often the machine being full, not the engine waiting. Steal is the time the VM's
 * host gave to someone else.
 */
export interface MachineCpu {
  busy: number;
  idle: number;
  steal: number;
}

export function machineCpu(): MachineCpu {
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (USER_HZ ticks)
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields;
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal: steal ?? 0 };
}

/** Percent busy and stolen between two readings (of all the time the cores had). */
export function machineShare(from: MachineCpu, to: MachineCpu): { busyPercent: number; stealPercent: number } {
  const busy = to.busy - from.busy;
  const steal = to.steal - from.steal;
  const all = Math.max(1, busy + steal + to.idle - from.idle);
  return { busyPercent: Math.round((100 * busy) / all), stealPercent: Math.round((100 * steal) / all) };
}

/**
 * CPU ticks (user + system, threads included) of every process, by who it is: the engine (its pid and
 * its children), this benchmark process, the broker (java), PostgreSQL (every postgres process), the
 * rest. A process that ended between two readings is missing from the second: compare readings taken
 * while the processes of interest run.
 */
export type ProcessTicks = Map<number, { group: string; ticks: number }>;

export function processTicks(enginePid: number): ProcessTicks {
  const out: ProcessTicks = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid … utime(14) stime(15): comm may hold spaces, so fields count from its ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const pid = Number(name);
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    const group = pid === enginePid || ppid === enginePid ? 'engine' : pid === process.pid ? 'producer' : comm === 'java' ? 'broker' : comm === 'postgres' ? 'postgres' : 'other';
    out.set(pid, { group, ticks });
  }
  return out;
}

/** Each group's CPU between two readings, in percent of one core (200 = both of two cores). */
export function groupShares(from: ProcessTicks, to: ProcessTicks, seconds: number, ticksPerSecond = 100): Record<string, number> {
  const shares: Record<string, number> = { engine: 0, producer: 0, broker: 0, postgres: 0, other: 0 };
  for (const [pid, now] of to) {
    const before = from.get(pid)?.ticks ?? 0;
    shares[now.group] += now.ticks - before;
  }
  for (const k of Object.keys(shares)) shares[k] = Math.round((100 * shares[k]) / ticksPerSecond / seconds);
  return shares;
}
