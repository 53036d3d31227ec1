import { parseQualifiedName, qualifiedSql } from './identifiers';
import type { PipelineDocument } from './schema';
import type { PipelineConfig, RoutesConfig } from './types';

/**
 * [Tables] `routes:`: one topic to several tables, chosen per record by a header, the key or a field.
 *
 *   - name: events                      pipelines[i]: reads the topics, writes nothing itself;
 *     topics: [events]                  its workers pick each record's table (decode/record-routes.ts)
 *     routes:
 *       by: $header.type                → events/raw.clicks  (a route pipeline: routeOf i, no topics,
 *       tables: { click: raw.clicks,      events/raw.views     its own table and column plan, its own
 *                 view: raw.views }       events/raw.other     batches; same format, columns, mode…)
 *       default: raw.other
 *
 * Route pipelines go after the configured ones, so `pipelines[N]` in messages stays the config's N.
 * Values that share a table share its route pipeline. Commits stay per partition: a chunk is settled
 * when every pipeline's rows from it are durable, whichever tables they went to.
 */
export function routesConfig(p: PipelineDocument, at: string, problems: string[]): RoutesConfig | null {
  const r = p.routes;
  if (r === undefined) return null;
  const by = String(r.by);
  if (by.startsWith('$') && by !== '$key' && !(by.startsWith('$header.') && by.length > '$header.'.length)) {
    problems.push(`${at}.routes.by: "${by}" is not $header.NAME, $key or a field path`);
  }
  const tables: Record<string, string> = {};
  for (const [value, table] of Object.entries(r.tables)) {
    tables[value] = String(table);
    checkTable(String(table), `${at}.routes.tables.${value}`, problems);
  }
  if (Object.keys(tables).length === 0) problems.push(`${at}.routes.tables: at least one value → table`);
  const fallback = r.default === undefined ? null : String(r.default);
  if (fallback !== null) checkTable(fallback, `${at}.routes.default`, problems);
  if (p.evolve === true) problems.push(`${at}.routes: not with evolve: yet (each routed table would evolve on its own)`);
  return { by, tables, default: fallback, targets: {}, fallback: null };
}

function checkTable(table: string, at: string, problems: string[]): void {
  if (table.includes('${')) problems.push(`${at}: "${table}": a routed table is a name, not a template`);
  else if (typeof parseQualifiedName(table) === 'string') problems.push(`${at}: "${table}" is not a table name (table or schema.table): ${parseQualifiedName(table) as string}`);
}

/** Appends each routed pipeline's route pipelines (one per distinct table) and points its routes at them. */
export function expandRoutes(pipelines: PipelineConfig[], problems: string[]): PipelineConfig[] {
  const out = [...pipelines];
  pipelines.forEach((p, i) => {
    const routes = p.routes;
    if (routes === null) return;
    const byTable = new Map<string, number>();
    const outputFor = (table: string): number => {
      let index = byTable.get(table);
      if (index !== undefined) return index;
      const name = parseQualifiedName(table);
      index = out.length;
      byTable.set(table, index);
      out.push({
        ...p, name: `${p.name}/${table}`, topics: null, topicPattern: null, table, tableSql: typeof name === 'string' ? '' : qualifiedSql(name),
        routes: null, routeOf: i, tableTemplate: null, watchOnly: false,
      });
      return index;
    };
    for (const [value, table] of Object.entries(routes.tables)) routes.targets[value] = outputFor(table);
    if (routes.default !== null) routes.fallback = outputFor(routes.default);
    if (p.tableTemplate !== null) problems.push(`pipelines[${i}].routes: not with a table template`);
  });
  return out;
}

/** Routes name pipelines by index: the same pipelines at their new places (`at`: old index → new). */
export function withRouteIndexes(p: PipelineConfig, at: (old: number) => number): PipelineConfig {
  if (p.routes === null && p.routeOf === null) return p;
  const routes = p.routes === null ? null : {
    ...p.routes,
    targets: Object.fromEntries(Object.entries(p.routes.targets).map(([value, target]) => [value, at(target)])),
    fallback: p.routes.fallback === null ? null : at(p.routes.fallback),
  };
  return { ...p, routes, routeOf: p.routeOf === null ? null : at(p.routeOf) };
}
