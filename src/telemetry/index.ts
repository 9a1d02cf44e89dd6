/** The telemetry core: catalog, bus, control rules, correlation and the test helper. */
export { catalog, type Catalog, type CatalogEvent } from './catalog.ts';
export { Telemetry, createTelemetry, type AttachOptions, type EventHandle, type TelemetryControl } from './bus.ts';
export { normalizeRule, patternMatches, type ControlRule, type ControlRuleInput, type RuleSnapshot } from './rules.ts';
export {
  childTraceparent, currentCorrelation, formatTraceparent, newCorrelationId, newSpanId, newTraceId, parseTraceparent,
  restoreCorrelation, traceIdOf, withCorrelation, type Correlation, type TraceParent,
} from './correlation.ts';
export { EventCapture, captureEvents, type CapturedEvent } from './testing.ts';
export type {
  ContextMetadata, DropReason, EventName, EventPattern, EventSpec, EventTable, Handler, HandlerInfo, Matching, Measurements,
  Metadata, MetadataValue, PrefixesOf, SpanPrefix,
} from './types.ts';
