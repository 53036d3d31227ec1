import type { ValueHint } from '../copy/column-encoders';

/** The shape of a schema field as far as column mapping cares. */
export type FieldKind = 'scalar' | 'record' | 'map' | 'array' | 'bytes' | 'unknown';

/** What the schema says about the field a column maps to. */
export interface FieldInfo {
  kind: FieldKind;
  hint: ValueHint | null;
  /** The path to read in the decoded value (Protobuf wrapper types add `.value`). */
  path: string[];
  /**
   * The field is absent unless set on the record itself (Protobuf oneof members and proto3 `optional`
   * fields, whose defaults protobufjs keeps on the prototype): unset means NULL, not the default.
   */
  presence?: boolean;
}
