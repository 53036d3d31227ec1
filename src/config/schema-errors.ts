import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType, type TypeCheck } from '@sinclair/typebox/compiler';

/**
 * TypeBox's errors as the engine's config messages: one per place, named the way the YAML reads
 * (`pipelines[0].batch.maxRows`), saying what the place takes (the schema's `expected` phrase) and what
 * it got. Only the first error at a place is kept: a missing key also fails its type check, and a value
 * outside a union fails each member.
 */
export function shapeProblems<T extends TSchema>(check: TypeCheck<T>, doc: unknown): string[] {
  const problems: string[] = [];
  const reported = new Set<string>();
  for (const e of check.Errors(doc)) {
    const at = placeOf(e.path);
    if (reported.has(at) || [...reported].some((p) => at.startsWith(`${p}.`) || at.startsWith(`${p}[`))) continue;
    reported.add(at);
    if (e.type === ValueErrorType.ObjectRequiredProperty) {
      problems.push(`${at}: required`);
    } else if (e.type === ValueErrorType.ObjectAdditionalProperties) {
      const known = Object.keys((e.schema as { properties?: object }).properties ?? {});
      problems.push(`${at}: unknown key (expected one of ${known.join(', ')})`);
    } else {
      problems.push(`${at}: must be ${expected(e.schema)} (got ${JSON.stringify(e.value)})`);
    }
  }
  return problems;
}

/** `/pipelines/0/table` → `pipelines[0].table` (JSON Pointer's ~1 and ~0 are / and ~). */
export function placeOf(pointer: string): string {
  let at = '';
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    at += /^\d+$/.test(key) ? `[${key}]` : at === '' ? key : `.${key}`;
  }
  return at === '' ? '(root)' : at;
}

function expected(schema: TSchema): string {
  const phrase = (schema as { expected?: unknown }).expected;
  if (typeof phrase === 'string') return phrase;
  switch (schema.type) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    default:
      return 'something else';
  }
}
