import { readFileSync } from 'node:fs';

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
