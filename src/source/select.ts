import type { SourceKind } from '../config/types';
import { EngineError, ErrorCodes } from '../errors';
import { log } from '../log';
import { loadNative, nativeUnavailableReason } from './native-binding';

/**
 * The Kafka client that feeds the ring. `auto` (the default) is the native addon when it is built, else
 * node-rdkafka with a warning naming why. ENGINE_SOURCE (native | node-rdkafka | auto) overrides the
 * config, e.g. to compare the two on the same config.
 */
export function selectSource(configured: SourceKind, env: NodeJS.ProcessEnv = process.env): 'native' | 'node-rdkafka' {
  const override = env.ENGINE_SOURCE;
  if (override !== undefined && override !== '' && !['auto', 'native', 'node-rdkafka'].includes(override)) {
    throw new EngineError(ErrorCodes.CONFIG_INVALID, `ENGINE_SOURCE=${override}: must be auto, native or node-rdkafka`);
  }
  const wanted = (override || configured) as SourceKind;
  if (wanted === 'node-rdkafka') return 'node-rdkafka';
  if (loadNative()) return 'native';
  const why = nativeUnavailableReason() ?? 'unknown';
  if (wanted === 'native') {
    throw new EngineError(ErrorCodes.NATIVE_UNAVAILABLE, `engine.source is native but the native consumer is not available: ${why}`);
  }
  log.warn(`native consumer not available (${why}); using node-rdkafka, which is slower`);
  return 'node-rdkafka';
}
