import type { PipelineConfig } from '../config/types';
import { schemaView } from './schema-view';

/**
 * [Tables] routes (config/table-routes.ts): which route pipeline — which table — a record of a routed
 * pipeline is written by. By a header or the key, the record's bytes are compared with the route values'
 * (no decoding, nothing allocated); by a field, the value is decoded first (object path) and the record
 * is then decoded again by its route pipeline, whose transcoder writes its table's columns.
 */
export interface WorkerRoutes {
  /** As configured, for messages. */
  by: string;
  source: 'header' | 'key' | 'field';
  /** The header's name, or the field's path (as the schema names it). */
  path: string[];
  values: string[];
  /** The route pipeline of each value. */
  targets: number[];
  /** The default table's route pipeline; -1: none (the record fails). */
  fallback: number;
}

/** The pipeline's routes for its workers; a field the pipeline's schema lacks is a problem. */
export function planRoutes(p: PipelineConfig, at: string, problems: string[]): WorkerRoutes | null {
  const r = p.routes;
  if (r === null) return null;
  const values = Object.keys(r.targets);
  const base = { by: r.by, values, targets: values.map((v) => r.targets[v]), fallback: r.fallback ?? -1 };
  if (r.by === '$key') return { ...base, source: 'key', path: [] };
  if (r.by.startsWith('$header.')) return { ...base, source: 'header', path: [r.by.slice('$header.'.length)] };
  let path = r.by.split('.');
  const schema = schemaView(p);
  if (schema !== null) {
    const info = schema.fieldInfo(path);
    if (info === null) problems.push(`${at}.routes.by: field "${r.by}" is not in the schema ${p.schemaPath ?? ''}`.trimEnd());
    else if (info.kind !== 'scalar') problems.push(`${at}.routes.by: field "${r.by}" is a ${info.kind}; a route value is a string, number or boolean`);
    else path = info.path;
  }
  return { ...base, source: 'field', path };
}

/** Matches route values against a record's bytes or decoded value. */
export class RecordRouter {
  private readonly bytes: Buffer[];

  constructor(readonly spec: WorkerRoutes) {
    this.bytes = spec.values.map((v) => Buffer.from(v));
  }

  /** The route pipeline for the value at buf[start, start + length) (length < 0: none); -1: no table for it. */
  matchBytes(buf: Buffer, start: number, length: number): number {
    if (length >= 0) {
      const values = this.bytes;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v.length === length && buf.compare(v, 0, length, start, start + length) === 0) return this.spec.targets[i];
      }
    }
    return this.spec.fallback;
  }

  /** The route pipeline for a decoded field value (strings, numbers and booleans, compared as text). */
  matchValue(value: unknown): number {
    const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : null;
    if (text !== null) {
      const i = this.spec.values.indexOf(text);
      if (i >= 0) return this.spec.targets[i];
    }
    return this.spec.fallback;
  }

  /** Why a record has no table: its value (as text, cut) and what the routes know. */
  noTable(value: unknown): string {
    const text = value === null || value === undefined ? null : typeof value === 'object' ? JSON.stringify(value) : `${value as string}`;
    const shown = text === null ? 'no value' : `value ${JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text)}`;
    return `routes.by ${this.spec.by}: the record has ${shown}, which routes.tables does not name (${this.spec.values.map((v) => JSON.stringify(v)).join(', ')}), and routes has no default`;
  }
}
