import { sql } from './env';

/** Per partition (0 … partitions-1), where the offsets table says consumption resumes: the end of the first finished range (-1: no row). */
export async function storedPositions(table: string, group: string, topic: string, partitions: number): Promise<number[]> {
  const rows = await sql<{ partition: number; resume: string }>(
    `SELECT partition, upper((SELECT r FROM unnest(done) r ORDER BY r LIMIT 1)) AS resume FROM ${table} WHERE group_id = $1 AND topic = $2`,
    [group, topic],
  );
  const out = new Array<number>(partitions).fill(-1);
  for (const r of rows) out[r.partition] = Number(r.resume);
  return out;
}
