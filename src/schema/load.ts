import { readFileSync } from 'node:fs';
import type { EngineConfig } from '../config/types';
import { EngineError, ErrorCodes, messageOf } from '../errors';
import { schemaView } from '../decode/schema-view';

/**
 * Reads each pipeline's schema file into `schemaText` and checks that it parses (and, for Protobuf,
 * that messageType exists), so a broken schema stops the engine before it connects; workers parse the
 * same text again on their own threads and never touch the filesystem. Every problem is listed, by the
 * config path that names the file. Throws ENG_SCHEMA_LOAD.
 */
export function loadSchemas(config: EngineConfig): void {
  const problems: string[] = [];
  config.pipelines.forEach((p, i) => {
    if (p.schemaPath === null) return;
    try {
      p.schemaText = readFileSync(p.schemaPath, 'utf8');
    } catch (err) {
      problems.push(`pipelines[${i}].schema: cannot read schema file ${p.schemaPath}: ${messageOf(err)}`);
      return;
    }
    try {
      schemaView(p);
    } catch (err) {
      problems.push(`pipelines[${i}].schema: ${messageOf(err)}`);
    }
  });
  if (problems.length > 0) throw new EngineError(ErrorCodes.SCHEMA_LOAD, `schema files that cannot be used:\n  ${problems.join('\n  ')}`);
}
