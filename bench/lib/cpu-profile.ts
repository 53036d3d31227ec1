import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Where an engine's CPU went, from the V8 CPU profiles `node --cpu-prof` writes (one file per thread:
 * the main thread, then each decode worker). Self time per sample is attributed to the stage folder of
 * src/ the function lives in, to the library, or to what Node does for it (socket writes, GC, module
 * loading), so that a line reads "main thread: 40 % sink (COPY writes) …".
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

export interface ThreadCpu {
  file: string;
  /** Sampled time not idle, in ms (what the thread spent; includes startup). */
  busyMs: number;
  /** Busy ms by where: a src/ folder ("decode"), a library, or Node's own work. */
  byArea: Array<{ area: string; ms: number }>;
  /** The functions with the most self time. */
  top: Array<{ fn: string; ms: number }>;
}

function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8 (program)';
  if (fn === 'writeBuffer' || fn === 'writev' || fn === 'writeUtf8String') return 'socket writes';
  if (fn === 'atomicsWaitLoop' || url.includes('piscina')) return 'piscina';
  const src = /\/dist\/src\/([^/]+)\//.exec(url);
  if (src) return src[1];
  const lib = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (lib) return lib[1];
  if (url.startsWith('node:internal/modules') || fn === 'wrapSafe' || fn === 'compileForInternalLoader' || fn === 'dlopen') return 'module loading';
  if (url.startsWith('node:')) return `node (${url.replace(/^node:(internal\/)?/, '').split('/')[0]})`;
  return url === '' ? `native (${fn || '?'})` : path.basename(url);
}

export function summarizeProfiles(dir: string, topN = 8): ThreadCpu[] {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().map((file) => {
    const p = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const areas = new Map<string, number>();
    const fns = new Map<string, number>();
    let busy = 0;
    p.samples.forEach((id, i) => {
      const n = byId.get(id)!;
      const { functionName, url } = n.callFrame;
      if (functionName === '(idle)' || functionName === 'atomicsWaitLoop') return;
      const ms = p.timeDeltas[i] / 1000;
      busy += ms;
      const area = areaOf(url, functionName);
      areas.set(area, (areas.get(area) ?? 0) + ms);
      const key = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}`;
      fns.set(key, (fns.get(key) ?? 0) + ms);
    });
    const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
    return {
      file,
      busyMs: Math.round(busy),
      byArea: sorted(areas).map(([area, ms]) => ({ area, ms: Math.round(ms) })),
      top: sorted(fns).slice(0, topN).map(([fn, ms]) => ({ fn, ms: Math.round(ms) })),
    };
  });
}
