import type { MergeConfig } from '../config/types';
import { quoteIdent } from '../config/identifiers';

/**
 * upsert and cdc: a batch is COPYed (binary) into a temporary staging table and merged into the target
 * with one statement, in the batch's transaction (so, exactly-once, with its offsets).
 *
 * The staging table is per connection and pipeline (`pg_temp.kpe_stage_<pipeline>`, ON COMMIT DELETE
 * ROWS): the written columns with the target's types but none of its constraints (a delete row carries
 * only its key), then two columns the decode workers append to every row (decode/chunk-decoder.ts):
 *
 *   col_1 … col_n         the written columns, as in insert mode (NULL except the key in a delete row)
 *   _kpe_delete  boolean  true: delete the row of this key (a tombstone, a cdc op "d")
 *   _kpe_offset  int8     the record's Kafka offset
 *
 * The merge keeps the last record of each key (DISTINCT ON key ORDER BY offset DESC: a key's records
 * share a partition, so this is Kafka order), deletes the keys whose last record is a delete and
 * upserts the others (INSERT … ON CONFLICT (key) DO UPDATE), optionally only where the row's
 * `onlyIfNewer` column is not newer than the record's. Both act on disjoint keys in one statement.
 * Ordering across batches is the batch writer's: one pipeline's merges commit in batch order.
 */
export class MergePlan {
  /** `COPY <copyTarget> FROM STDIN (FORMAT binary)`. */
  readonly copyTarget: string;
  /** Creates the staging table on a connection where it does not exist yet. */
  readonly createStage: string;
  readonly mergeSql: string;
  /** Empties the staging table inside a transaction (the rescue of a refused batch merges slice by slice). */
  readonly clearStage: string;

  constructor(table: string, columns: readonly string[], merge: MergeConfig, pipeline: number) {
    const stage = `pg_temp.kpe_stage_${pipeline}`;
    const cols = columns.map(quoteIdent);
    const key = merge.key.map(quoteIdent);
    this.copyTarget = `${stage} (${[...cols, '_kpe_delete', '_kpe_offset'].join(', ')})`;
    // The merge sorts the whole batch (DISTINCT ON): with the default 4MB work_mem a batch of wide rows
    // sorts on disk. SET LOCAL lasts for the batch's transaction only.
    this.createStage = `SET LOCAL work_mem = '64MB'; CREATE TEMP TABLE IF NOT EXISTS kpe_stage_${pipeline} ON COMMIT DELETE ROWS AS
      SELECT ${cols.join(', ')}, false AS _kpe_delete, 0::int8 AS _kpe_offset FROM ${table} WITH NO DATA`;
    const update = (merge.updateColumns ?? columns.filter((c) => !merge.key.includes(c))).map(quoteIdent);
    const onConflict = update.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${update.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}${
        merge.onlyIfNewer === null ? '' : ` WHERE t.${quoteIdent(merge.onlyIfNewer)} IS NULL OR t.${quoteIdent(merge.onlyIfNewer)} <= EXCLUDED.${quoteIdent(merge.onlyIfNewer)}`}`;
    this.mergeSql = `WITH last AS (
        SELECT DISTINCT ON (${key.join(', ')}) * FROM ${stage} ORDER BY ${key.join(', ')}, _kpe_offset DESC
      ), deleted AS (
        DELETE FROM ${table} AS t USING last WHERE last._kpe_delete AND ${key.map((k) => `t.${k} = last.${k}`).join(' AND ')}
      )
      INSERT INTO ${table} AS t (${cols.join(', ')})
      SELECT ${cols.join(', ')} FROM last WHERE NOT last._kpe_delete
      ON CONFLICT (${key.join(', ')}) ${onConflict}`;
    this.clearStage = `DELETE FROM ${stage}`;
  }
}
