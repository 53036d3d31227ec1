export { Engine, type EngineOptions, type RunSummary } from './engine/engine';
export { loadConfig, parseConfig } from './config/load';
export { loadSchemas } from './schema/load';
export type { EngineConfig, PipelineConfig } from './config/types';
export { EngineError, ErrorCodes } from './errors';
